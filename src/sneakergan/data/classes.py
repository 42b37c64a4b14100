"""The classes a class-conditional run trains on, derived from a dataset: the first subfolder level
("price": cheap / expensive here) or each image's dominant colour ("colour", data/colour.py).
Training and evaluation both call this, so a run is scored on the classes it learned."""

from __future__ import annotations

import logging

import numpy as np

from sneakergan.data.colour import COLOUR_NAMES, colour_labels
from sneakergan.data.image_dataset import ImageDataset
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")


def class_labels(dataset: ImageDataset, condition: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(int64 labels [N], class names) under `condition` ("colour": from the 112x112 images)."""
    if condition == "colour":
        labels = colour_labels(dataset.hr)
        counts = np.bincount(labels, minlength=len(COLOUR_NAMES))
        log.info("colour classes: %s", ", ".join(f"{name} {n}" for name, n in zip(COLOUR_NAMES, counts)))
        return labels, COLOUR_NAMES
    names = dataset.class_names
    if "" in names:
        loose = int((dataset.labels == names.index("")).sum())
        raise ConfigError(f"condition price needs every image in a class folder; {loose} lie directly in "
                          f"{dataset.source}")
    if len(names) < 2:
        raise ConfigError(f"condition price needs images in two or more class folders; {dataset.source} has "
                          f"{len(names)} ({', '.join(names)})")
    return dataset.labels, names
