"""Sampling from a trained run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError, RunDirError
from sneakergan.train.cgan_model import sample_labels
from sneakergan.train.gan_model import build_generator, sample_noise
from sneakergan.train.loop import resolve_device
from sneakergan.viz.grid import make_grid, save_png, to_uint8

BATCH = 256


def load_stage1(run_dir: str | Path | None, device: torch.device, ema: bool = True
                ) -> tuple[torch.nn.Module, TrainConfig]:
    """Stage 1's generator and config from a run's checkpoint, or the bundled ones when `run_dir` is None;
    `ema` False: a run's raw G weights even where it keeps an EMA (the ablation of the EMA)."""
    from sneakergan.pipeline import load_stage_generator

    generator, cfg = load_stage_generator(run_dir, "stage1", "gan", "--lr-run", build_generator, ema=ema)
    return generator.to(device), cfg


def stage1_config(run_dir: str | Path | None) -> TrainConfig:
    """Stage 1's config without building its generator (the bundled one when `run_dir` is None)."""
    if run_dir is None:
        from sneakergan.bundle import load_bundled

        return load_bundled("stage1")[1]
    from sneakergan.pipeline import open_run

    return open_run(run_dir, "gan", "--lr-run")[1]


def load_generator(run_dir: str | Path | None, device: torch.device) -> tuple[torch.nn.Module, int]:
    """Stage 1's generator and its z_dim (see `load_stage1`)."""
    generator, cfg = load_stage1(run_dir, device)
    return generator, cfg.z_dim


def generate_images(run_dir: str | Path | None, count: int, seed: int, device: str = "auto",
                    label: str | None = None, class_probs: np.ndarray | None = None, ema: bool = True) -> np.ndarray:
    """`count` images as uint8 NHWC; the same seed gives the same images on any device.

    `label`: a class name of a class-conditional run (its config's class_names): images of that
    class only. Without it a conditional run draws each image's class from the seed, uniformly or
    with `class_probs` (one per class: evaluation draws them in the reference data's proportions).
    """
    target = resolve_device(device)
    generator, cfg = load_stage1(run_dir, target, ema=ema)
    return sample_stage1(generator, cfg, run_dir, count, seed, target, label=label, class_probs=class_probs)


def sample_stage1(generator: torch.nn.Module, cfg: TrainConfig, run_dir: str | Path | None, count: int, seed: int,
                  device: torch.device, label: str | None = None, class_probs: np.ndarray | None = None) -> np.ndarray:
    """`generate_images` from a stage-1 generator already loaded (with its config, from `run_dir`)."""
    return sample_images(generator, cfg.z_dim, count, seed, device, n_classes=cfg.n_classes,
                         label=class_index(cfg, label, run_dir), class_probs=class_probs)


def class_index(cfg: TrainConfig, label: str | None, run_dir: str | Path | None, name: str = "--label",
                needed: bool = False) -> int | None:
    """The index of class `label` in a stage-1 config; a ConfigError saying why `label` cannot be used
    (`name`: what the user calls it, "--label" or the API's "label"). `needed`: a class-conditional
    model must be given one (an interpolation keeps one class along its path)."""
    model = "the bundled stage-1 model" if run_dir is None else f"the stage-1 run {run_dir}"
    if label is None:
        if needed and cfg.condition:
            raise ConfigError(f"{model} is class-conditional: {name} must be one of {', '.join(cfg.class_names)}")
        return None
    if not cfg.condition:
        raise ConfigError(f"{name} {label!r} needs a class-conditional stage-1 model; {model} is unconditional")
    if label not in cfg.class_names:
        raise ConfigError(f"unknown {name} {label!r}; {model} knows {', '.join(cfg.class_names)}")
    return cfg.class_names.index(label)


@torch.no_grad()
def sample_images(generator: torch.nn.Module, z_dim: int, count: int, seed: int, device: torch.device,
                  n_classes: int = 0, label: int | None = None, class_probs: np.ndarray | None = None) -> np.ndarray:
    """`n_classes` > 0 (a class-conditional G): class `label` for all, or classes drawn from the seed
    after the noise (so a seed's noise is the same with and without a label), uniformly or with
    probabilities `class_probs`."""
    noise = torch.Generator().manual_seed(seed)
    z = sample_noise(count, z_dim, noise, device)
    if not n_classes:
        return np.concatenate([to_uint8(generator(chunk)) for chunk in z.split(BATCH)])
    if label is not None:
        labels = torch.full((count,), label, device=device)
    elif class_probs is not None:
        labels = torch.multinomial(torch.as_tensor(class_probs, dtype=torch.float64), count, replacement=True,
                                   generator=noise).to(device)
    else:
        labels = sample_labels(count, n_classes, noise, device)
    return np.concatenate([to_uint8(generator(chunk, classes))
                           for chunk, classes in zip(z.split(BATCH), labels.split(BATCH))])


def check_output(out: Path, fmt: str, replace: bool) -> None:
    """Refuse an --out that would overwrite something (unless `replace`) or cannot take `fmt`."""
    if fmt == "grid":
        if out.suffix.lower() != ".png":
            raise RunDirError(f"--out {out} must end in .png for a grid (or use --format files)")
        occupied = out.exists()
    else:
        if out.exists() and not out.is_dir():
            raise RunDirError(f"{out} exists and is not a folder")
        occupied = out.is_dir() and any(out.iterdir())
    if occupied and not replace:
        raise RunDirError(f"{out} already exists; pass --replace to overwrite it")


def write_grid(images: np.ndarray, out: Path, nrow: int | None = None, scale: int = 1, replace: bool = False) -> None:
    check_output(out, "grid", replace)
    save_png(make_grid(images, nrow=nrow), out, scale=scale)


def write_files(images: np.ndarray, out: Path, replace: bool = False) -> None:
    check_output(out, "files", replace)
    if replace and out.is_dir():
        # Replaced means: only these samples. A previous, larger -n must not leave extra sample_*.png
        # behind to be scored together with these.
        for stale in out.glob("sample_*.png"):
            stale.unlink()
    for index, image in enumerate(images):
        save_png(image, out / f"sample_{index:05d}.png")
