"""The unconditional GAN as a training "model": it owns G, D, their optimizers and one step.

The trainer (train/loop.py) owns the loop; this class owns what a step is, so a new training
recipe is a new class here, not an `if` in the loop.
"""

from __future__ import annotations

from typing import Any

import torch

from sneakergan.config import TrainConfig
from sneakergan.losses import get_loss
from sneakergan.models import get_architecture


def build_generator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.generator(z_dim=cfg.z_dim, image_size=cfg.image_size, width=cfg.g_width)


def build_discriminator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.discriminator(image_size=cfg.image_size, width=cfg.d_width)


def sample_noise(count: int, z_dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    # Drawn on the CPU from an explicit generator: the same seed gives the same z on every device.
    return torch.randn(count, z_dim, generator=generator).to(device)


class UnconditionalGAN:
    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.cfg = cfg
        self.device = device
        self.loss = get_loss(cfg.loss)
        self.generator = build_generator(cfg).to(device)
        self.discriminator = build_discriminator(cfg).to(device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=betas)

    def d_step(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One discriminator update on a real batch and a (detached) generated batch."""
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return {
            "d_loss": d_loss.detach(),
            "d_real": self.loss.d_output(real_logits.detach()).mean(),
            "d_fake": self.loss.d_output(fake_logits.detach()).mean(),
        }

    def g_step(self, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One generator update through the just-updated discriminator."""
        g_loss = self.loss.g_loss(self.discriminator(fake))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"g_loss": g_loss.detach()}

    def train_step(self, real: torch.Tensor, noise: torch.Generator) -> dict[str, torch.Tensor]:
        # One generated batch serves both updates (as in PyTorch's DCGAN example): D sees it
        # detached, then G is updated through the new D. Saves a generator forward per step.
        fake = self.generator(sample_noise(real.shape[0], self.cfg.z_dim, noise, self.device))
        metrics = self.d_step(real, fake)
        metrics.update(self.g_step(fake))
        return metrics

    @torch.no_grad()
    def d_outputs(self, images: torch.Tensor) -> torch.Tensor:
        """D's human-readable outputs (probabilities for BCE) on a batch, in eval mode."""
        was_training = self.discriminator.training
        self.discriminator.eval()
        values = self.loss.d_output(self.discriminator(images)).float()
        self.discriminator.train(was_training)
        return values

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        was_training = self.generator.training
        self.generator.eval()
        images = self.generator(z.to(self.device))
        self.generator.train(was_training)
        return images

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
