import numpy as np

from sneakergan.metrics.reference import reference_stats


class CountingExtractor:
    sha256 = "0" * 64
    mode = "fp32"

    def __init__(self):
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        return images.reshape(len(images), -1)[:, :8].astype(np.float32)


def test_reference_statistics_are_cached_by_content(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    extractor = CountingExtractor()
    first = reference_stats(images, extractor, tmp_path)
    second = reference_stats(images, extractor, tmp_path)
    assert extractor.calls == 1  # the second evaluation reads the cache
    np.testing.assert_array_equal(first.features, second.features)
    np.testing.assert_array_equal(first.sigma, second.sigma)
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    reference_stats(changed, extractor, tmp_path)
    assert extractor.calls == 2  # one changed pixel is a different reference
    extractor.mode = "bf16"
    reference_stats(images, extractor, tmp_path)
    assert extractor.calls == 3  # so is a different feature pipeline


def test_a_damaged_entry_is_recomputed(tmp_path):
    images = np.zeros((10, 4, 4, 3), dtype=np.uint8)
    images[5:] = 200
    extractor = CountingExtractor()
    reference_stats(images, extractor, tmp_path)
    (entry,) = (tmp_path / "reference").iterdir()
    (entry / "sigma.npy").write_bytes(b"garbage")
    again = reference_stats(images, extractor, tmp_path)
    assert extractor.calls == 2 and again.sigma.shape == (8, 8)
