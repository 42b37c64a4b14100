"""The unconditional GAN as a training "model": it owns G, D, their optimizers and one step.

The trainer (train/loop.py) owns the loop; this class owns what a step is, so a new training
recipe is a new class here, not an `if` in the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from sneakergan.config import TrainConfig
from sneakergan.models.build import build_discriminator, build_generator, sample_noise
from sneakergan.models.layers import apply_spectral_norm
from sneakergan.train.adversarial import Labels, eval_mode
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.recipe_model import RecipeModel, gradient_penalty  # noqa: F401  (gradient_penalty: re-export)


def memory_format_for(module: torch.nn.Module) -> torch.memory_format:
    """channels_last for convolutional models (oneDNN's CPU convolutions: DCGAN's fp32 training step
    measured 15% faster in it, bf16 equal); the default layout for the rest (MLPs flatten images)."""
    has_conv = any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in module.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


class UnconditionalGAN(RecipeModel):
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
        return {"g_loss": g_loss.detach(), "g_skipped": self.update_generator(g_loss)}

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

