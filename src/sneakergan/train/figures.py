"""Per-epoch figures of each task, written by the trainer through one interface.

A figures object is built once per run from the model, the data (uint8 NCHW tensors by key) and a
seeded generator from which it draws its fixed inputs; `write(run, epoch, step)` then draws the
sample figure and the D-output histogram (figure + one d_histograms.jsonl line).
"""

from __future__ import annotations

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.images import comparison_grid, nearest_upscale, save_grid, save_png, to_uint8, to_unit_range
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import append_jsonl
from sneakergan.models.build import sample_labels, sample_noise
from sneakergan.train.cgan_model import LABEL_KEY
from sneakergan.viz.plots import histogram_counts, plot_d_histogram

HISTOGRAM_IMAGES = 512  # images of each kind behind a D-output histogram
CHUNK = 64  # images per forward pass: 512 at 112x112 through G would need GBs of activations


def _d_outputs(model, images: torch.Tensor, labels: torch.Tensor | None) -> np.ndarray:
    if labels is None:
        return torch.cat([model.d_outputs(chunk) for chunk in images.split(CHUNK)]).cpu().numpy()
    return torch.cat([model.d_outputs(chunk, chunk_labels)
                      for chunk, chunk_labels in zip(images.split(CHUNK), labels.split(CHUNK))]).cpu().numpy()


def _write_histogram(model, run: RunDir, cfg: TrainConfig, epoch: int, step: int, real: torch.Tensor,
                     fake: torch.Tensor, real_labels: torch.Tensor | None = None,
                     fake_labels: torch.Tensor | None = None) -> None:
    """`*_labels`: the images' classes, for a class-conditional D (stage 2: their LR inputs)."""
    outputs = [_d_outputs(model, real, real_labels), _d_outputs(model, fake, fake_labels)]
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


class ConditionalGanFigures(GanFigures):
    """Stage 1, class-conditional: one grid row per class in class_names order, the same fixed noise
    in every row (a column is one z through every class); D on real images with their labels vs
    generated ones with uniformly drawn labels."""

    def __init__(self, cfg: TrainConfig, model, data: dict[str, torch.Tensor], fixed: torch.Generator):
        super().__init__(cfg, model, data, fixed)
        self.labels = data[LABEL_KEY]
        classes = cfg.n_classes
        self.columns = max(1, cfg.n_samples // classes)
        self.grid_z = self.fixed_z[:self.columns].repeat(classes, 1)
        self.grid_labels = torch.arange(classes).repeat_interleave(self.columns).to(model.device)
        self.hist_labels = sample_labels(len(self.hist_z), classes, fixed, model.device)

    def write(self, run: RunDir, epoch: int, step: int) -> None:
        scale = max(1, 112 // self.cfg.image_size // 2)
        save_grid(self.model.generate(self.grid_z, self.grid_labels), run.sample_grid(epoch), nrow=self.columns,
                  scale=scale)
        index = self.hist_real_index.to(self.images.device)
        real = to_unit_range(self.images[index], self.model.device)
        fake = self.model.generate(self.hist_z, self.hist_labels)
        _write_histogram(self.model, run, self.cfg, epoch, step, real, fake,
                         self.labels[index].to(self.model.device), self.hist_labels)


class SRFigures:
    """Stage 2: rows [LR (nearest) | bicubic | SR | HR] for fixed LR inputs; D on HR vs SR."""

    def __init__(self, cfg: TrainConfig, model, data: dict[str, torch.Tensor], fixed: torch.Generator):
        self.cfg, self.model, self.lr, self.hr = cfg, model, data["lr"], data["hr"]
        self.rows = torch.randperm(len(self.lr), generator=fixed)[:cfg.n_samples]
        count = min(HISTOGRAM_IMAGES, len(self.lr))
        self.hist_index = torch.randperm(len(self.lr), generator=fixed)[:count]

    def _lr(self, index: torch.Tensor) -> torch.Tensor:
        return to_unit_range(self.lr[index.to(self.lr.device)], self.model.device)

    def _super_resolve(self, index: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.model.super_resolve(chunk) for chunk in self._lr(index).split(CHUNK)])

    def write(self, run: RunDir, epoch: int, step: int) -> None:
        from sneakergan.metrics.sr_quality import bicubic_upscale

        lr = _nhwc(self.lr[self.rows.to(self.lr.device)])
        hr = _nhwc(self.hr[self.rows.to(self.hr.device)])
        sr = to_uint8(self._super_resolve(self.rows))
        factor = hr.shape[1] // lr.shape[1]
        save_png(comparison_grid([nearest_upscale(lr, factor), bicubic_upscale(lr, factor), sr, hr]),
                 run.sample_grid(epoch))
        real = to_unit_range(self.hr[self.hist_index.to(self.hr.device)], self.model.device)
        lr = self._lr(self.hist_index)  # a D that sees the LR judges each image beside its input
        _write_histogram(self.model, run, self.cfg, epoch, step, real, self._super_resolve(self.hist_index), lr, lr)


def _nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).cpu().numpy()
