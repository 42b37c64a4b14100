"""The training set held in memory for a run, and each step's batch from it."""

from __future__ import annotations

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError
from sneakergan.images import to_unit_range
from sneakergan.train.distributed import Distributed


class TrainingSet:
    """`data`: uint8 NHWC arrays by batch key, as the task wants them ({"image": 28x28} for "gan",
    {"lr": 28x28, "hr": 112x112} for "sr"); a class-conditional run (cfg.condition) also has its int64
    [N] labels, indices into cfg.class_names, under `label_key`. Kept as uint8 NCHW tensors (on the GPU
    when training there: uint8 fits) and converted per batch."""

    def __init__(self, data: dict[str, np.ndarray], sizes: dict[str, int], label_key: str | None, cfg: TrainConfig,
                 device: torch.device):
        _check_data(data, sizes, label_key, cfg)
        self.label_key = label_key
        self.device = device
        self.tensors = {key: torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
                        for key, images in data.items() if key != label_key}
        if label_key is not None:  # int64 class indices: indexed like the images, never rescaled
            self.tensors[label_key] = torch.from_numpy(np.ascontiguousarray(data[label_key], dtype=np.int64))
        if device.type == "cuda":
            self.tensors = {key: values.to(device) for key, values in self.tensors.items()}
        self.count = len(next(iter(data.values())))

    def batch(self, order: torch.Tensor, index: int, batch_size: int, dist: Distributed) -> dict[str, torch.Tensor]:
        """Rows `index` of the epoch order (this rank's share of them) from every key: images as floats
        in [-1, 1], class labels as they are."""
        rows = dist.local_share(order[index * batch_size:(index + 1) * batch_size])
        return {key: values[rows.to(values.device)].to(self.device) if key == self.label_key
                else to_unit_range(values[rows.to(values.device)], self.device) for key, values in self.tensors.items()}


def _check_data(data: dict[str, np.ndarray], sizes: dict[str, int], label_key: str | None, cfg: TrainConfig) -> None:
    expected = {*sizes, label_key} if label_key is not None else set(sizes)
    if set(data) != expected:
        raise ConfigError(f"this task trains on {', '.join(sorted(expected))}, got {', '.join(sorted(data))}")
    if label_key is not None:
        _check_labels(data[label_key], cfg)
    for key, size in sizes.items():
        if data[key].shape[1:3] != (size, size):
            raise ConfigError(f"{key} images are {data[key].shape[1]}x{data[key].shape[2]}, the model needs "
                              f"{size}x{size}")
    if len({len(images) for images in data.values()}) != 1:
        raise ConfigError("every data key needs the same number of images")


def _check_labels(labels: np.ndarray, cfg: TrainConfig) -> None:
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(f"class labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    classes = cfg.require_classes()
    if len(labels) and not 0 <= labels.min() <= labels.max() < classes:
        raise ConfigError(f"class labels must be in 0..{classes - 1} (class_names "
                          f"{', '.join(cfg.class_names)}), got {labels.min()}..{labels.max()}")
