"""The improved-recipe parts any adversarial training model can switch on from its config: DiffAugment
of everything D sees, lazy R1 and WGAN-GP penalties on D, and an EMA of G for samples. Stage 1
(gan_model.UnconditionalGAN) and stage 2 (sr_model.SuperResolutionGAN) both build on this class, so
a part is written once and behaves the same in both."""

from __future__ import annotations

from typing import Any

import torch

from sneakergan.config import TrainConfig, parse_policy
from sneakergan.train.adversarial import AdversarialModel
from sneakergan.train.augment import diff_augment
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.ema import EMA


class RecipeModel(AdversarialModel):
    def __init__(self, cfg: TrainConfig, device: torch.device, generator: torch.nn.Module,
                 discriminator: torch.nn.Module, dist: Distributed = SINGLE_PROCESS):
        super().__init__(cfg, device, generator, discriminator, dist)
        self.augmentations = parse_policy(cfg.augment)
        self.ema = EMA(self.generator, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.d_updates = 0  # counts D updates for the lazy R1 schedule; part of the state

    # --- D's side: augmentations and penalties (hooks of AdversarialModel.d_step) -------------
    def d_inputs(self, images: torch.Tensor) -> torch.Tensor:
        # Under torchrun each image gets the augmentation it would get in one process.
        return diff_augment(images, self.augmentations, self.dist)

    def needs_real_gradient(self) -> bool:
        return self.cfg.r1_gamma > 0 and self.d_updates % self.cfg.r1_every == 0

    def d_step(self, real: torch.Tensor, fake: torch.Tensor, labels=None) -> dict[str, torch.Tensor]:
        metrics = super().d_step(real, fake, labels)
        self.d_updates += 1
        return metrics

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
    def update_generator(self, loss: torch.Tensor) -> torch.Tensor:
        """`update` of G, then of its EMA (unless the update was skipped as non-finite)."""
        skipped = self.update(self.opt_g, self.generator, loss)
        if self.ema is not None and not skipped:
            self.ema.update(self.generator)
        return skipped

    def sampler(self) -> torch.nn.Module:
        """The generator samples and evaluations use: the EMA one when the recipe keeps it."""
        return self.ema.model if self.ema is not None else self.generator

    # --- state ------------------------------------------------------------------------------
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
