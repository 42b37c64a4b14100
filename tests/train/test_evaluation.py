import numpy as np
import torch

from sneakergan.config import load_preset
from sneakergan.metrics.reference import reference_stats
from sneakergan.train.evaluation import QuickFID
from sneakergan.train.gan_model import UnconditionalGAN


class MeanColourExtractor:
    """A stand-in feature network: per-channel means and spreads (fast, deterministic)."""

    sha256 = "f" * 64
    mode = "fp32"

    def __call__(self, images):
        pixels = images.reshape(len(images), -1, 3).astype(np.float32)
        return np.concatenate([pixels.mean(1), pixels.std(1)], axis=1)


def test_quick_fid_uses_fixed_noise_and_leaves_the_model_in_training_mode(tmp_path):
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset("seed-mlp").replace(g_width=16, d_width=16), torch.device("cpu"))
    real = np.random.default_rng(0).integers(0, 256, (64, 28, 28, 3), dtype=np.uint8)
    extractor = MeanColourExtractor()
    quick = QuickFID(reference_stats(real, extractor, False), extractor, samples=32, batch_size=10)
    first, second = quick(model), quick(model)
    assert set(first) == {"fid32", "eval_seconds"} and first["fid32"] > 0
    assert first["fid32"] == second["fid32"]  # same fixed noise, same number
    assert model.generator.training
