"""The unconditional GAN as a training "model": it owns G, D, their optimizers and one step.

The trainer (train/loop.py) owns the loop; this class owns what a step is, so a new training
recipe is a new class here, not an `if` in the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from sneakergan.config import TrainConfig
from sneakergan.models import get_architecture
from sneakergan.train.adversarial import AdversarialModel, eval_mode


def build_generator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.generator(z_dim=cfg.z_dim, image_size=cfg.image_size, width=cfg.g_width)


def build_discriminator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.discriminator(image_size=cfg.image_size, width=cfg.d_width)


def sample_noise(count: int, z_dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    # Drawn on the CPU from an explicit generator: the same seed gives the same z on every device.
    return torch.randn(count, z_dim, generator=generator).to(device)


def memory_format_for(module: torch.nn.Module) -> torch.memory_format:
    """channels_last for convolutional models (oneDNN's CPU convolutions: DCGAN's fp32 training step
    measured 15% faster in it, bf16 equal); the default layout for the rest (MLPs flatten images)."""
    has_conv = any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in module.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


class UnconditionalGAN(AdversarialModel):
    def __init__(self, cfg: TrainConfig, device: torch.device):
        generator, discriminator = build_generator(cfg), build_discriminator(cfg)
        self.memory_format = memory_format_for(discriminator)
        super().__init__(cfg, device, generator.to(memory_format=memory_format_for(generator)),
                         discriminator.to(memory_format=self.memory_format))

    def g_step(self, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One generator update through the just-updated discriminator."""
        g_loss = self.loss.g_loss(self.discriminator(fake))
        skipped = self.update(self.opt_g, self.generator, g_loss)
        return {"g_loss": g_loss.detach(), "g_skipped": skipped}

    def train_step(self, batch: Mapping[str, torch.Tensor] | torch.Tensor, noise: torch.Generator,
                   epoch: int = 0) -> dict[str, Any]:
        """`batch`: the trainer's {"image": real images}, or the real images themselves. Returns the
        metrics (tensors) and "skipped" (True when a non-finite D or G update was skipped)."""
        real = (batch["image"] if isinstance(batch, Mapping) else batch).contiguous(memory_format=self.memory_format)
        snapshot = self.snapshot_buffers()
        # One generated batch serves both updates (as in PyTorch's DCGAN example): D sees it
        # detached, then G is updated through the new D. Saves a generator forward per step.
        fake = self.generator(sample_noise(real.shape[0], self.cfg.z_dim, noise, self.device))
        metrics = self.d_step(real, fake)
        metrics.update(self.g_step(fake))
        return self.finish_step(metrics, snapshot)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        with eval_mode(self.generator):
            return self.generator(z.to(self.device))
