"""Networks from a config, and the random inputs a stage-1 generator takes: what sampling and
training both need, so that sampling never imports the trainer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from sneakergan.models.layers import apply_spectral_norm
from sneakergan.models.registry import get_architecture

if TYPE_CHECKING:  # a type only: the config layer sits above models (it checks configs against their registry)
    from sneakergan.config import TrainConfig


def build_generator(cfg: TrainConfig) -> torch.nn.Module:
    """Stage 1's G (z, and for a class-conditional config a label -> image in [-1, 1])."""
    family = get_architecture(cfg.architecture)
    return family.generator(z_dim=cfg.z_dim, image_size=cfg.image_size, width=cfg.g_width, **_classes(cfg))


def build_discriminator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.discriminator(image_size=cfg.image_size, width=cfg.d_width, **_classes(cfg))


def _classes(cfg: TrainConfig) -> dict[str, int]:
    """n_classes for a class-conditional config; nothing for the rest (families without it keep working)."""
    return {"n_classes": cfg.require_classes()} if cfg.condition else {}


def build_sr_generator(cfg: TrainConfig) -> torch.nn.Module:
    """Stage 2's G: [N, 3, h, w] -> [N, 3, 4h, 4w], with noise inputs where the config asks for them."""
    return get_architecture(cfg.architecture).generator(blocks=cfg.sr_blocks, width=cfg.g_width, noise=cfg.sr_noise)


def build_sr_discriminator(cfg: TrainConfig) -> torch.nn.Module:
    """Stage 2's D, with spectral norm instead of batch norm where the config asks for it."""
    discriminator = get_architecture(cfg.architecture).discriminator(
        width=cfg.d_width, channels=6 if cfg.d_sees_lr else 3, batch_norm=not cfg.spectral_norm)
    return apply_spectral_norm(discriminator) if cfg.spectral_norm else discriminator


def sample_noise(count: int, z_dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    # Drawn on the CPU from an explicit generator: the same seed gives the same z on every device.
    return torch.randn(count, z_dim, generator=generator).to(device)


def sample_labels(count: int, n_classes: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform class labels, drawn on the CPU from an explicit generator (like `sample_noise`)."""
    return torch.randint(n_classes, (count,), generator=generator).to(device)
