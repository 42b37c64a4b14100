"""Evaluation during training (`--eval-every`): a quick FID from a fixed noise batch.

The fixed batch makes successive numbers comparable; 2,000 samples keeps it fast (FID at this size
is biased upwards compared with the 10,000-sample protocol, so compare these only with each other).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from sneakergan.images import to_uint8
from sneakergan.metrics.evaluate import fid_only
from sneakergan.metrics.reference import ReferenceStats
from sneakergan.models.build import sample_noise


class QuickFID:
    def __init__(self, reference: ReferenceStats, extractor, samples: int = 2000, seed: int = 12345,
                 batch_size: int = 500):
        self.reference = reference
        self.extractor = extractor
        self.samples = samples
        self.seed = seed
        self.batch_size = batch_size

    def __call__(self, model) -> dict[str, float]:
        started = time.perf_counter()
        noise = torch.Generator().manual_seed(self.seed)
        z = sample_noise(self.samples, model.cfg.z_dim, noise, model.device)
        images = np.concatenate([to_uint8(model.generate(chunk)) for chunk in z.split(self.batch_size)])
        fid = fid_only(self.extractor(images), self.reference)
        return {f"fid{self.samples}": float(fid), "eval_seconds": round(time.perf_counter() - started, 1)}
