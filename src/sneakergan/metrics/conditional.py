"""Scores only a class-conditional model has: does G draw the class it is asked for, and how good is
each class on its own?

- Label accuracy: a small CNN trained on the reference's real 28x28 images and labels (a seeded 80%;
  its accuracy on the other 20% is what a perfect generator would score) classifies `per_class`
  samples of each class; a class's accuracy is the share classified as the class asked for, and the
  model's is the mean over classes (balanced, as every class gets the same number of samples).
- Intra-class FID (Miyato & Koyama 2018): each class's samples against the reference images of that
  class, and the mean over classes. A class with few real images has an FID biased upwards (its real
  count is in the report beside it).

The classifier is written here because no library ships one for these labels: the colour classes are
our own rule and the price classes are this dataset's folders.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sneakergan.images import to_unit_range
from sneakergan.metrics.fid import feature_statistics, frechet_distance
from sneakergan.metrics.reference import ReferenceStats
from sneakergan.metrics.sr_quality import bicubic_downscale

log = logging.getLogger("sneakergan.metrics")

CLASSIFIER_SIZE = 28
HELD_OUT = 0.2


class LabelClassifier(nn.Module):
    """28x28 RGB in [-1, 1] -> class logits: three conv stages (28, 14, 7), global average, linear."""

    def __init__(self, n_classes: int, width: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for stage in range(3):
            wide = width * 2**stage
            layers += [nn.Conv2d(channels, wide, 3, 1, 1), nn.BatchNorm2d(wide), nn.ReLU()]
            layers += [nn.MaxPool2d(2)] if stage < 2 else [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            channels = wide
        self.net = nn.Sequential(*layers, nn.Linear(channels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _to_input(images: np.ndarray) -> torch.Tensor:
    if images.shape[1] != CLASSIFIER_SIZE:
        images = bicubic_downscale(images, images.shape[1] // CLASSIFIER_SIZE)
    return to_unit_range(images)


def _accuracies(predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[float, float]:
    """(accuracy, balanced accuracy: the mean over the classes present of each class's accuracy)."""
    per_class = [float((predicted[labels == c] == c).mean()) for c in range(n_classes) if (labels == c).any()]
    return float((predicted == labels).mean()), float(np.mean(per_class))


@torch.no_grad()
def predict(classifier: LabelClassifier, images: np.ndarray, batch: int = 512) -> np.ndarray:
    classifier.eval()
    x = _to_input(images)
    return torch.cat([classifier(chunk).argmax(1) for chunk in x.split(batch)]).numpy()


def train_label_classifier(images: np.ndarray, labels: np.ndarray, n_classes: int, seed: int = 0, epochs: int = 12,
                           batch_size: int = 128) -> tuple[LabelClassifier, dict[str, Any]]:
    """Train on a seeded 80% of (uint8 NHWC images, int labels); the report holds the held-out accuracy."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    held = max(1, int(len(images) * HELD_OUT))
    train_rows, held_rows = order[held:], order[:held]
    x, y = _to_input(images[train_rows]), torch.from_numpy(labels[train_rows].astype(np.int64))
    with torch.random.fork_rng(devices=[]):  # deterministic without touching the caller's RNG
        torch.manual_seed(seed)
        classifier = LabelClassifier(n_classes)
        optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
        for _ in range(epochs):
            classifier.train()
            for rows in torch.randperm(len(x)).split(batch_size):
                batch = x[rows]
                flip = torch.rand(len(rows)) < 0.5  # left- and right-facing shoes: flips keep every label
                batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
                loss = F.cross_entropy(classifier(batch), y[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    accuracy, balanced = _accuracies(predict(classifier, images[held_rows]), labels[held_rows], n_classes)
    report = {"held_out_accuracy": accuracy, "held_out_balanced_accuracy": balanced, "train_images": len(train_rows),
              "held_out_images": int(held), "epochs": epochs, "seed": seed}
    return classifier, report


def conditional_scores(sample_class: Callable[[int], np.ndarray], class_names: tuple[str, ...],
                       reference: ReferenceStats, reference_labels: np.ndarray, classifier_images: np.ndarray,
                       extractor, seed: int = 0) -> dict[str, Any]:
    """Label accuracy and intra-class FID. `sample_class(c)`: uint8 NHWC samples of class c at the
    reference's resolution; `classifier_images`: the reference images at 28x28 (the classifier's input)."""
    n_classes = len(class_names)
    classifier, classifier_report = train_label_classifier(classifier_images, reference_labels, n_classes, seed)
    log.info("label classifier: %.3f held-out accuracy (balanced %.3f)", classifier_report["held_out_accuracy"],
             classifier_report["held_out_balanced_accuracy"])
    classes = []
    for index, name in enumerate(class_names):
        images = sample_class(index)
        accuracy = float((predict(classifier, images) == index).mean())
        real = reference.features[reference_labels == index]
        fid = None
        if len(real) >= 2:
            fake_mu, fake_sigma = feature_statistics(extractor(images))
            real_mu, real_sigma = feature_statistics(real)
            fid = float(frechet_distance(fake_mu, fake_sigma, real_mu, real_sigma))
        classes.append({"name": name, "n_reference": int(len(real)), "n_generated": int(len(images)),
                        "label_accuracy": accuracy, "fid": fid})
        log.info("class %s: label accuracy %.3f, intra-class FID %s (%d real images)", name, accuracy,
                 "n/a" if fid is None else f"{fid:.1f}", len(real))
    fids = [c["fid"] for c in classes if c["fid"] is not None]
    return {
        "label_accuracy": float(np.mean([c["label_accuracy"] for c in classes])),
        "intra_fid_mean": float(np.mean(fids)) if fids else None,
        "classifier": classifier_report,
        "classes": classes,
    }
