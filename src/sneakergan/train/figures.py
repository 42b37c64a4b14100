"""Per-epoch figures of each task, written by the trainer through one interface.

A figures object is built once per run from the model, the data (uint8 NCHW tensors by key) and a
seeded generator from which it draws its fixed inputs; `write(run, epoch, step)` then draws the
sample figure and the D-output histogram (figure + one d_histograms.jsonl line).
"""

from __future__ import annotations

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.io import append_jsonl
from sneakergan.train.gan_model import sample_noise
from sneakergan.train.run_dir import RunDir
from sneakergan.viz.grid import comparison_grid, nearest_upscale, save_grid, save_png, to_uint8
from sneakergan.viz.plots import histogram_counts, plot_d_histogram

HISTOGRAM_IMAGES = 512  # images of each kind behind a D-output histogram
CHUNK = 64  # images per forward pass: 512 at 112x112 through G would need GBs of activations


def to_unit_range(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 NCHW -> float in [-1, 1] on `device` (the models' input convention)."""
    return images.to(device).float().div_(127.5).sub_(1.0)


def _write_histogram(model, run: RunDir, cfg: TrainConfig, epoch: int, step: int,
                     real: torch.Tensor, fake: torch.Tensor) -> None:
    outputs = [torch.cat([model.d_outputs(chunk) for chunk in x.split(CHUNK)]).cpu().numpy() for x in (real, fake)]
    hist = histogram_counts(*outputs, model.loss.d_output_range)
    append_jsonl(run.d_histograms, {"epoch": epoch, "step": step, **hist})
    plot_d_histogram(hist, f"{cfg.preset}: D outputs, epoch {epoch}", model.loss.d_output_label,
                     run.histogram_png(epoch))


class GanFigures:
    """Stage 1: a grid from a fixed noise batch; D on real vs generated images."""

    def __init__(self, cfg: TrainConfig, model, data: dict[str, torch.Tensor], fixed: torch.Generator):
        self.cfg, self.model, self.images = cfg, model, data["image"]
        self.fixed_z = sample_noise(cfg.n_samples, cfg.z_dim, fixed, model.device)
        count = min(HISTOGRAM_IMAGES, len(self.images))
        self.hist_z = sample_noise(count, cfg.z_dim, fixed, model.device)
        self.hist_real_index = torch.randperm(len(self.images), generator=fixed)[:count]

    def write(self, run: RunDir, epoch: int, step: int) -> None:
        scale = max(1, 112 // self.cfg.image_size // 2)
        save_grid(self.model.generate(self.fixed_z), run.sample_grid(epoch), scale=scale)
        real = to_unit_range(self.images[self.hist_real_index.to(self.images.device)], self.model.device)
        _write_histogram(self.model, run, self.cfg, epoch, step, real, self.model.generate(self.hist_z))


class SRFigures:
    """Stage 2: rows [LR (nearest) | bicubic | SR | HR] for fixed LR inputs; D on HR vs SR."""

    def __init__(self, cfg: TrainConfig, model, data: dict[str, torch.Tensor], fixed: torch.Generator):
        self.cfg, self.model, self.lr, self.hr = cfg, model, data["lr"], data["hr"]
        self.rows = torch.randperm(len(self.lr), generator=fixed)[:cfg.n_samples]
        count = min(HISTOGRAM_IMAGES, len(self.lr))
        self.hist_index = torch.randperm(len(self.lr), generator=fixed)[:count]

    def _super_resolve(self, index: torch.Tensor) -> torch.Tensor:
        lr = to_unit_range(self.lr[index.to(self.lr.device)], self.model.device)
        return torch.cat([self.model.super_resolve(chunk) for chunk in lr.split(CHUNK)])

    def write(self, run: RunDir, epoch: int, step: int) -> None:
        from sneakergan.metrics.sr_quality import bicubic_upscale

        lr = _nhwc(self.lr[self.rows.to(self.lr.device)])
        hr = _nhwc(self.hr[self.rows.to(self.hr.device)])
        sr = to_uint8(self._super_resolve(self.rows))
        factor = hr.shape[1] // lr.shape[1]
        save_png(comparison_grid([nearest_upscale(lr, factor), bicubic_upscale(lr, factor), sr, hr]),
                 run.sample_grid(epoch))
        real = to_unit_range(self.hr[self.hist_index.to(self.hr.device)], self.model.device)
        _write_histogram(self.model, run, self.cfg, epoch, step, real, self._super_resolve(self.hist_index))


def _nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).cpu().numpy()
