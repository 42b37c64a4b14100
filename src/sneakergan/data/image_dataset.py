"""A decoded dataset: its images as uint8 arrays at both sizes, with their class labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sneakergan.errors import ConfigError


@dataclass
class ImageDataset:
    hr: np.ndarray  # uint8 [N, hr_size, hr_size, 3]
    lr: np.ndarray  # uint8 [N, lr_size, lr_size, 3]
    labels: np.ndarray  # int64 [N], index into class_names
    class_names: tuple[str, ...]  # sorted; "" is the class of images directly in the root
    relpaths: tuple[str, ...]
    source: str
    skipped: int  # files that could not be read or decoded
    duplicates: int  # byte-identical copies dropped

    def __len__(self) -> int:
        return len(self.hr)

    def images_at(self, size: int) -> np.ndarray:
        """The arrays at `size` pixels: the LR (28) or the HR (112) images."""
        for images in (self.lr, self.hr):
            if images.shape[1] == size:
                return images
        raise ConfigError(f"image_size {size} is not produced by the data pipeline "
                          f"({self.lr.shape[1]} or {self.hr.shape[1]})")
