"""A class-conditional stage-1 model's grid: one labelled row per class, the same noise in every column,
so a column shows one z through every class and a row shows what the label alone changes.

The finding is measured on more samples per class than the grid shows: each row's mean colour and
brightness beside the same class's mean brightness in the training data (when the run's data folder
is there), the dominant derived colour of its samples (data/colour.py's rule, the labels of
`condition = "colour"`) and, for a colour-conditional model, the share of the row's samples whose
derived colour is the row's label: how well the model obeys its condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.data.colour import COLOUR_NAMES, colour_labels
from sneakergan.demos.threads import one_thread
from sneakergan.errors import ConfigError

# The tiny price-conditional run trained when no --run is given: sngan-cgan-colour's recipe at half its
# widths, 4 epochs on 2,048 images (256 steps of 32), so it trains in about 30 s on one CPU thread.
TINY_RUN = {"condition": "price", "g_width": 16, "d_width": 16, "epochs": 4, "batch_size": 32, "eval_every": 0,
            "max_images": 2048, "keep_checkpoints": 1, "description": "demo cgan: a tiny price-conditional stage 1"}


@dataclass(frozen=True)
class ClassRow:
    label: str
    mean_rgb: tuple[float, float, float]  # over all pixels of the row's samples, 0-255
    brightness: float  # mean of the RGB means
    top_colour: str  # the most frequent derived colour class among the samples
    top_share: float
    match: float | None  # share whose derived colour is `label` (colour-conditional models only)
    data_brightness: float | None = None  # the class's mean brightness in the training data


def class_samples(generator: torch.nn.Module, cfg: TrainConfig, count: int, seed: int,
                  device: torch.device) -> list[np.ndarray]:
    """`count` uint8 NHWC samples per class, in class_names order; the same noise for every class."""
    from sneakergan.inference.generate import sample_images

    return [sample_images(generator, cfg.z_dim, count, seed, device, n_classes=cfg.n_classes, label=index)
            for index in range(cfg.n_classes)]


def measure_row(label: str, images: np.ndarray, colour_condition: bool, data_brightness: float | None = None
                ) -> ClassRow:
    mean_rgb = tuple(float(v) for v in images.reshape(-1, 3).mean(axis=0))
    derived = colour_labels(images)
    counts = np.bincount(derived, minlength=len(COLOUR_NAMES))
    top = int(counts.argmax())
    match = float((derived == COLOUR_NAMES.index(label)).mean()) if colour_condition else None
    return ClassRow(label, mean_rgb, float(np.mean(mean_rgb)), COLOUR_NAMES[top], float(counts[top] / len(images)),
                    match, data_brightness)


def data_brightness(cfg: TrainConfig) -> list[float] | None:
    """Each class's mean brightness (0-255) in the run's training data at the generated size, or None
    when that data is gone or no longer has the run's classes."""
    from sneakergan.data import load_dataset
    from sneakergan.data.classes import class_labels
    from sneakergan.errors import SneakerganError

    if not cfg.data or not Path(cfg.data).exists():
        return None
    try:
        dataset = load_dataset(cfg.data, max_images=cfg.max_images or None)
        labels, names = class_labels(dataset, cfg.condition)
    except SneakerganError:
        return None
    if tuple(names) != tuple(cfg.class_names):
        return None
    images = dataset.images_at(cfg.image_size)
    return [float(images[labels == index].mean()) for index in range(len(names))]


def open_conditional_run(run_dir: str | Path, device: torch.device) -> tuple[torch.nn.Module, TrainConfig]:
    """A class-conditional stage-1 run's generator; an unconditional one is a one-line ConfigError."""
    from sneakergan.inference.pipeline import load_stage1

    generator, cfg = load_stage1(run_dir, device)
    if not cfg.condition:
        raise ConfigError(f"{run_dir} is an unconditional run; demo cgan needs a class-conditional stage-1 run "
                          "(trained with condition = colour or price)")
    return generator, cfg


def label_and_noise_effect(samples: list[np.ndarray]) -> tuple[float, float]:
    """How far the label and the noise move the pixels (mean absolute deviation, 0-255): each sample
    from the mean over the classes for the same z (label), and from its row's mean (noise). A model
    that ignores its noise (collapsed) has a noise effect near 0; one that ignores its label, a label
    effect near 0."""
    stack = np.stack(samples).astype(np.float64)  # [classes, n, H, W, 3]; column i is one z
    label = np.abs(stack - stack.mean(axis=0, keepdims=True)).mean()
    noise = np.abs(stack - stack.mean(axis=1, keepdims=True)).mean()
    return float(label), float(noise)


def describe(rows: list[ClassRow]) -> list[str]:
    lines = []
    for row in rows:
        rgb = ", ".join(f"{v:.0f}" for v in row.mean_rgb)
        data = "" if row.data_brightness is None else f" (data {row.data_brightness:5.1f})"
        line = (f"{row.label:14s} mean RGB ({rgb})  brightness {row.brightness:5.1f}{data}  "
                f"derived colour mostly {row.top_colour} ({row.top_share:.0%})")
        if row.match is not None:
            line += f"  matches its label {row.match:.0%}"
        lines.append(line)
    matched = [row.match for row in rows if row.match is not None]
    if matched:
        mean_match = sum(matched) / len(matched)
        lines.append(f"mean share of samples whose derived colour matches their row's label: {mean_match:.0%} "
                     f"(chance: {1 / len(rows):.0%})")
    lines.append("rows by brightness: " + " > ".join(r.label for r in sorted(rows, key=lambda r: -r.brightness)))
    if all(row.data_brightness is not None for row in rows):
        lines.append("data by brightness: " + " > ".join(
            r.label for r in sorted(rows, key=lambda r: -r.data_brightness)))
    return lines


def plot_class_grid(rows_of_images: list[np.ndarray], labels: list[str], title: str, path) -> list[str]:
    """One row per class, the class name on the left (images at 28x28 shown enlarged, no smoothing).
    Returns the row labels as drawn, top to bottom."""
    from sneakergan.images import make_grid
    from sneakergan.viz.plots import _save, plt

    columns = len(rows_of_images[0])
    grid = make_grid(np.concatenate(rows_of_images), nrow=columns)
    tile = rows_of_images[0].shape[1] + 2  # make_grid's padding
    figure, axis = plt.subplots(figsize=(0.55 * columns + 1.6, 0.55 * len(labels) + 0.6))
    axis.imshow(grid, interpolation="nearest")
    axis.set_yticks([2 + tile * i + (tile - 2) / 2 for i in range(len(labels))], labels)
    axis.set_xticks([])
    axis.tick_params(length=0)
    for side in axis.spines.values():
        side.set_visible(False)
    axis.set_title(title, fontsize=10)
    drawn = [tick.get_text() for tick in axis.get_yticklabels()]
    _save(figure, path)
    return drawn


def train_tiny_price_run(data: str | Path, workdir: str | Path, replace: bool = False,
                         **changes) -> Path:
    """Train the TINY_RUN recipe on a folder of class subfolders into `workdir`; returns it.
    `changes`: config fields over TINY_RUN (the tests make it smaller still)."""
    from sneakergan.config import load_preset
    from sneakergan.inference.run_dir import RunDir
    from sneakergan.train.loop import Trainer
    from sneakergan.train.setup import DataSource, training_data

    RunDir.check_new(workdir, replace=replace)  # fail before decoding anything
    cfg = load_preset("sngan-cgan-colour").replace(**{**TINY_RUN, **changes,
                                                      "data": str(Path(data).expanduser().resolve())})
    data, cfg = training_data(cfg, DataSource().load(cfg))
    run = RunDir.create(workdir, cfg, replace=replace)
    with one_thread():
        Trainer(cfg, run, data, progress=False).fit()
    return Path(workdir)
