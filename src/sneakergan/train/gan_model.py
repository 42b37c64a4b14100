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
from sneakergan.models.layers import apply_spectral_norm
from sneakergan.train.adversarial import AdversarialModel, Labels, eval_mode
from sneakergan.train.augment import diff_augment, parse_policy
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.ema import EMA


def build_generator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.generator(z_dim=cfg.z_dim, image_size=cfg.image_size, width=cfg.g_width, **_classes(cfg))


def build_discriminator(cfg: TrainConfig) -> torch.nn.Module:
    family = get_architecture(cfg.architecture)
    return family.discriminator(image_size=cfg.image_size, width=cfg.d_width, **_classes(cfg))


def _classes(cfg: TrainConfig) -> dict[str, int]:
    """n_classes for a class-conditional config; nothing for the rest (families without it keep working)."""
    return {"n_classes": cfg.require_classes()} if cfg.condition else {}


def sample_noise(count: int, z_dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    # Drawn on the CPU from an explicit generator: the same seed gives the same z on every device.
    return torch.randn(count, z_dim, generator=generator).to(device)


def memory_format_for(module: torch.nn.Module) -> torch.memory_format:
    """channels_last for convolutional models (oneDNN's CPU convolutions: DCGAN's fp32 training step
    measured 15% faster in it, bf16 equal); the default layout for the rest (MLPs flatten images)."""
    has_conv = any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in module.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


class UnconditionalGAN(AdversarialModel):
    """Stage 1: G maps noise to images. The design's recipe (BCE or LSGAN, nothing else) and the
    improvements the config switches on: DiffAugment of D's inputs, lazy R1 and WGAN-GP gradient
    penalties, spectral normalisation of D (at build time), and an EMA of G for sampling."""

    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Distributed = SINGLE_PROCESS):
        generator, discriminator = build_generator(cfg), build_discriminator(cfg)
        if cfg.spectral_norm:
            apply_spectral_norm(discriminator)
        self.memory_format = memory_format_for(discriminator)
        super().__init__(cfg, device, generator.to(memory_format=memory_format_for(generator)),
                         discriminator.to(memory_format=self.memory_format), dist)
        self.augmentations = parse_policy(cfg.augment)
        self.ema = EMA(self.generator, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.d_updates = 0  # counts D updates for the lazy R1 schedule; part of the state

    # --- D's side: augmentations and penalties (hooks of AdversarialModel.d_step) -------------
    def d_inputs(self, images: torch.Tensor) -> torch.Tensor:
        # Under torchrun each image gets the augmentation it would get in one process.
        return diff_augment(images, self.augmentations, self.dist)

    def needs_real_gradient(self) -> bool:
        return self.cfg.r1_gamma > 0 and self.d_updates % self.cfg.r1_every == 0

    def d_penalties(self, real: torch.Tensor, real_logits: torch.Tensor, fake: torch.Tensor,
                    labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        penalties = {}
        # Under torchrun D is in DDP: these torch.autograd.grad calls differentiate with respect to the
        # images, so no parameter hook fires; the final backward fires each once, both orders summed.
        if self.needs_real_gradient():
            # Lazy R1 (StyleGAN2): gamma/2 E[|grad D(x)|^2] every r1_every steps, scaled up to match.
            (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
            r1 = grad.float().pow(2).flatten(1).sum(1).mean()
            penalties["r1_penalty"] = self.cfg.r1_gamma / 2 * self.cfg.r1_every * r1
        if self.cfg.gp_weight > 0:
            # A class-conditional D scores the points between real and fake with the real labels.
            penalties["gp_penalty"] = self.cfg.gp_weight * gradient_penalty(self.d_train, real, fake, labels, self.dist)
        return penalties

    # --- G's side ---------------------------------------------------------------------------
    def g_step(self, fake: torch.Tensor, real: torch.Tensor | None = None, labels: Labels = None
               ) -> dict[str, torch.Tensor]:
        """One generator update through the just-updated discriminator (and its augmentations);
        `labels` as for `d_step`."""
        real_labels, fake_labels = labels if labels is not None else (None, None)
        real_logits = None
        if self.loss.needs_real_in_g:
            with torch.no_grad():
                real_logits = self.d_logits(self.d_inputs(real), real_labels)
        g_loss = self.loss.g_loss(self.d_logits(self.d_inputs(fake), fake_labels), real_logits)
        skipped = self.update(self.opt_g, self.generator, g_loss)
        if self.ema is not None and not skipped:
            self.ema.update(self.generator)
        return {"g_loss": g_loss.detach(), "g_skipped": skipped}

    def sampler(self) -> torch.nn.Module:
        """The generator samples and evaluations use: the EMA one when the recipe keeps it."""
        return self.ema.model if self.ema is not None else self.generator

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["d_updates"] = self.d_updates
        if self.ema is not None:
            state["generator_ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.d_updates = int(state.get("d_updates", 0))

    def load_weights(self, state: dict[str, Any]) -> None:
        super().load_weights(state)
        if self.ema is not None:
            if "generator_ema" in state:
                self.ema.load_state_dict(state["generator_ema"])
            else:  # a run that kept no average until now: start it from the current weights
                self.ema = EMA(self.generator, self.cfg.ema_decay)

    def train_step(self, batch: Mapping[str, torch.Tensor] | torch.Tensor, noise: torch.Generator,
                   epoch: int = 0) -> dict[str, Any]:
        """`batch`: the trainer's {"image": real images}, or the real images themselves. Returns the
        metrics (tensors) and "skipped" (True when a non-finite D or G update was skipped)."""
        real = (batch["image"] if isinstance(batch, Mapping) else batch).contiguous(memory_format=self.memory_format)
        snapshot = self.snapshot_buffers()
        # One generated batch serves both updates (as in PyTorch's DCGAN example): D sees it
        # detached, then G is updated through the new D. Saves a generator forward per step.
        fake, labels = self.fake_batch(batch, real.shape[0], noise)
        metrics = self.d_step(real, fake, labels)
        self.d_updates += 1
        metrics.update(self.g_step(fake, real, labels))
        return self.finish_step(metrics, snapshot)

    def fake_batch(self, batch: Mapping[str, torch.Tensor] | torch.Tensor, count: int, noise: torch.Generator
                   ) -> tuple[torch.Tensor, Labels]:
        """The step's generated images and the (real, fake) labels D sees with them (None here;
        the class-conditional model's hook)."""
        return self.g_train(self.noise_share(count, noise)), None

    def noise_share(self, count: int, noise: torch.Generator) -> torch.Tensor:
        """This rank's `count` rows of the global batch's noise (all of it in one process)."""
        return self.dist.local_share(sample_noise(self.dist.global_count(count), self.cfg.z_dim, noise, self.device))

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        with eval_mode(self.sampler()) as generator:
            return generator(z.to(self.device))


def gradient_penalty(discriminator: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     labels: torch.Tensor | None = None, dist: Distributed = SINGLE_PROCESS) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(|grad D(x_hat)| - 1)^2] at random points x_hat on the
    lines between real and generated images (scored with `labels` by a class-conditional D); under
    torchrun the mix weights are drawn for the global batch and each rank takes its rows."""
    count = dist.global_count(real.shape[0])
    mix = dist.local_share(torch.rand(count, 1, 1, 1, device=real.device, dtype=real.dtype))
    between = (mix * real.detach() + (1 - mix) * fake.detach()).requires_grad_(True)
    logits = discriminator(between) if labels is None else discriminator(between, labels)
    (grad,) = torch.autograd.grad(logits.float().sum(), between, create_graph=True)
    return (grad.float().flatten(1).norm(dim=1) - 1).pow(2).mean()
