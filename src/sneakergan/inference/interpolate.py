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

from sneakergan.images import make_grid, save_png, to_uint8
from sneakergan.inference.generate import BATCH
from sneakergan.io import atomic_path
from sneakergan.models.build import sample_noise


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


STRIPS = (".png", ".jpg", ".jpeg")  # interpolate's outputs by extension: one row of frames ...
ANIMATIONS = {".gif": ("GIF", {}), ".webp": ("WEBP", {"lossless": True})}  # ... or an animation


def write_strip(frames: np.ndarray, out: Path, scale: int = 1) -> None:
    """All frames in one row."""
    save_png(make_grid(frames, nrow=len(frames)), out, scale=scale)


def write_animation(frames: np.ndarray, out: Path, frame_ms: int, scale: int = 1) -> None:
    """An animation (GIF, or lossless WebP: `out`'s extension) that plays the path forth and back, looping forever."""
    pictures = [Image.fromarray(frame) for frame in [*frames, *frames[-2:0:-1]]]
    if scale > 1:
        pictures = [p.resize((p.width * scale, p.height * scale), Image.Resampling.NEAREST) for p in pictures]
    image_format, options = ANIMATIONS[out.suffix.lower()]
    with atomic_path(out, suffix=out.suffix.lower()) as tmp:
        pictures[0].save(tmp, format=image_format, save_all=True, append_images=pictures[1:], duration=frame_ms,
                         loop=0, **options)
