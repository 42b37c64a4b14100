"""Latent interpolation: frames that morph between the sneakers of given seeds, through one or both
stages. Seed s's endpoint is the first sneaker of `generate --seed s`, so a seed found in a grid
can be morphed from. Paths follow great circles (slerp): Gaussian latents concentrate near a
sphere, and a straight line between two of them passes through unlikely, low-norm latents.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sneakergan.generate import BATCH, class_index, load_stage1
from sneakergan.io import atomic_path
from sneakergan.train.gan_model import sample_noise
from sneakergan.viz.grid import make_grid, save_png, to_uint8


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between vectors a and b at fractions t [k] -> [k, dim]."""
    t = t.view(-1, 1)
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    angle = torch.arccos(cos)
    if angle.abs() < 1e-4:  # (nearly) parallel: the straight line is the arc
        return torch.lerp(a.expand(len(t), -1), b.expand(len(t), -1), t)
    return (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle)


def latent_path(seeds: list[int], z_dim: int, steps: int) -> torch.Tensor:
    """[(len(seeds) - 1) * (steps - 1) + 1, z_dim]: `steps` latents per pair of consecutive seeds,
    the shared endpoints once."""
    ends = [sample_noise(1, z_dim, torch.Generator().manual_seed(seed), torch.device("cpu"))[0] for seed in seeds]
    t = torch.linspace(0.0, 1.0, steps)
    segments = [slerp(a, b, t[:-1]) for a, b in zip(ends, ends[1:])]
    return torch.cat([*segments, ends[-1].unsqueeze(0)])


@torch.no_grad()
def interpolation_frames(lr_run: str | Path | None, sr_run: str | Path | None, stage: str, seeds: list[int],
                         steps: int, device: torch.device, label: str | None = None) -> np.ndarray:
    """uint8 NHWC frames: stage 1's 28x28 images, or (stage "sr") their 112x112 versions. A
    class-conditional run morphs within class `label` (a name from its config's class_names)."""
    from sneakergan.pipeline import apply_stage2

    generator, cfg = load_stage1(lr_run, device)
    index = class_index(cfg, label, lr_run, needed=True)
    frames = path_frames(generator, cfg.z_dim, seeds, steps, device, label=index)
    return apply_stage2(sr_run, frames, str(device)) if stage == "sr" else frames


@torch.no_grad()
def path_frames(generator: torch.nn.Module, z_dim: int, seeds: list[int], steps: int, device: torch.device,
                label: int | None = None) -> np.ndarray:
    """Stage 1's uint8 NHWC frames along `latent_path`; `label`: a class-conditional G's class for every
    frame (so the ends are the first sneakers of `generate --seed s --label ...`)."""
    z = latent_path(seeds, z_dim, steps).to(device)
    if label is None:
        return np.concatenate([to_uint8(generator(chunk)) for chunk in z.split(BATCH)])
    classes = torch.full((len(z),), label, device=device)
    return np.concatenate([to_uint8(generator(chunk, labels)) for chunk, labels in zip(z.split(BATCH),
                                                                                       classes.split(BATCH))])


def write_strip(frames: np.ndarray, out: Path, scale: int = 1) -> None:
    """All frames in one row."""
    save_png(make_grid(frames, nrow=len(frames)), out, scale=scale)


def write_gif(frames: np.ndarray, out: Path, frame_ms: int, scale: int = 1) -> None:
    """An animated GIF that plays the path forth and back, looping forever."""
    pictures = [Image.fromarray(frame) for frame in [*frames, *frames[-2:0:-1]]]
    if scale > 1:
        pictures = [p.resize((p.width * scale, p.height * scale), Image.Resampling.NEAREST) for p in pictures]
    with atomic_path(out, suffix=".gif") as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
