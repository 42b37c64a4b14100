"""Sampling from a trained run's checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sneakergan.errors import RunDirError
from sneakergan.train.gan_model import build_generator, sample_noise
from sneakergan.train.loop import resolve_device
from sneakergan.viz.grid import make_grid, save_png, to_uint8

BATCH = 256


def load_generator(run_dir: str | Path | None, device: torch.device) -> tuple[torch.nn.Module, int]:
    """Stage 1's generator from a run's checkpoint, or the bundled one when `run_dir` is None."""
    from sneakergan.pipeline import load_stage_generator

    generator, cfg = load_stage_generator(run_dir, "stage1", "gan", "--lr-run", build_generator)
    return generator.to(device), cfg.z_dim


def generate_images(run_dir: str | Path | None, count: int, seed: int, device: str = "auto") -> np.ndarray:
    """`count` images as uint8 NHWC; the same seed gives the same images on any device."""
    target = resolve_device(device)
    generator, z_dim = load_generator(run_dir, target)
    return sample_images(generator, z_dim, count, seed, target)


@torch.no_grad()
def sample_images(generator: torch.nn.Module, z_dim: int, count: int, seed: int, device: torch.device) -> np.ndarray:
    noise = torch.Generator().manual_seed(seed)
    z = sample_noise(count, z_dim, noise, device)
    return np.concatenate([to_uint8(generator(chunk)) for chunk in z.split(BATCH)])


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
