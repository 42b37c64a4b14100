"""Label accuracy and intra-class FID of class-conditional models (metrics/conditional.py)."""

import numpy as np
import pytest
import torch

from sneakergan.metrics.conditional import conditional_scores, predict, train_label_classifier
from sneakergan.metrics.fid import feature_statistics
from sneakergan.metrics.reference import ReferenceStats

COLOURS = np.array([(200, 30, 30), (30, 160, 40), (40, 60, 210)], np.float32)  # red, green, blue


def _shoes(labels, seed, size=28):
    """A coloured rectangle per image on white, its place, size and shade random: the class is the colour."""
    rng = np.random.default_rng(seed)
    images = np.full((len(labels), size, size, 3), 250, np.float32)
    for image, label in zip(images, labels):
        top, left = rng.integers(2, size // 2, 2)
        height, width = rng.integers(size // 4, size // 2, 2)
        image[top:top + height, left:left + width] = COLOURS[label] * rng.uniform(0.7, 1.2)
    images += rng.normal(0, 8, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


def _features(images):
    """A stand-in for Inception: per-channel means and standard deviations (6-d)."""
    x = images.reshape(len(images), -1, 3).astype(np.float64)
    return np.concatenate([x.mean(1), x.std(1)], axis=1).astype(np.float32)


def test_the_classifier_learns_the_real_labels_deterministically_and_leaves_the_rng_alone():
    labels = np.arange(200) % 3
    images = _shoes(labels, seed=0)
    state = torch.random.get_rng_state()
    classifier, report = train_label_classifier(images, labels, 3, seed=0, epochs=6)
    assert torch.equal(torch.random.get_rng_state(), state)  # seeded inside, the caller's RNG untouched
    assert report["held_out_images"] == 40 and report["train_images"] == 160
    assert report["held_out_accuracy"] > 0.9 and report["held_out_balanced_accuracy"] > 0.9
    fresh = np.arange(90) % 3
    assert (predict(classifier, _shoes(fresh, seed=1)) == fresh).mean() > 0.9
    again, _ = train_label_classifier(images, labels, 3, seed=0, epochs=6)
    assert np.array_equal(predict(again, images), predict(classifier, images))
    # 112x112 samples are classified on their 28x28 downscale, as the reference is
    assert (predict(classifier, _shoes(fresh, seed=1, size=112)) == fresh).mean() > 0.9


@pytest.mark.parametrize("faithful", [True, False])
def test_label_accuracy_and_intra_class_fid_tell_a_faithful_generator_from_one_that_ignores_labels(faithful):
    labels = np.concatenate([np.arange(150) % 3, [3]])  # class 3 has a single real image: no FID
    images = np.concatenate([_shoes(labels[:-1], seed=0), _shoes([0], seed=9)])
    features = _features(images)
    mu, sigma = feature_statistics(features)
    reference = ReferenceStats(features=features, mu=mu, sigma=sigma, images=images, key="k")
    calls = []

    def sample_class(index):
        calls.append(index)
        shown = index if faithful else (index + 1) % 3
        return _shoes(np.full(40, min(shown, 2)), seed=10 + index)

    scores = conditional_scores(sample_class, ("red", "green", "blue", "rare"), reference, labels, images,
                                _features, seed=0)
    assert calls == [0, 1, 2, 3]
    classes = {c["name"]: c for c in scores["classes"]}
    assert [c["n_reference"] for c in scores["classes"]] == [50, 50, 50, 1]
    assert classes["rare"]["fid"] is None and classes["rare"]["n_generated"] == 40
    fids = [classes[name]["fid"] for name in ("red", "green", "blue")]
    assert scores["intra_fid_mean"] == pytest.approx(np.mean(fids))
    accuracies = [classes[name]["label_accuracy"] for name in ("red", "green", "blue")]
    if faithful:
        assert min(accuracies) > 0.9 and max(fids) < 300, fids
    else:
        assert max(accuracies) < 0.1 and min(fids) > 3000, fids
    assert scores["label_accuracy"] == pytest.approx(np.mean([c["label_accuracy"] for c in scores["classes"]]))
