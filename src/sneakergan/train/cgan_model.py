"""The class-conditional GAN (cGAN) of stage 1: G(z, y) and a projection discriminator D(x, y).

Everything but the labels is the unconditional model's: the loss, DiffAugment, R1 / WGAN-GP, spectral
norm, the EMA of G and the skip-on-NaN updates. This class only says where the labels come from:
real ones with the batch (the trainer's "label" key), and G is asked for the same classes.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from sneakergan.config import TrainConfig
from sneakergan.train.adversarial import Labels, eval_mode
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.gan_model import UnconditionalGAN

LABEL_KEY = "label"  # the trainer's batch key of the int64 class labels


def classes_in_turn(count: int, n_classes: int, device: torch.device) -> torch.Tensor:
    """0, 1, ..., n-1, 0, 1, ...: a balanced, fixed set of labels."""
    return (torch.arange(count) % n_classes).to(device)


class ConditionalGAN(UnconditionalGAN):
    """Stage 1 conditioned on `cfg.condition`'s classes (cfg.class_names)."""

    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Distributed = SINGLE_PROCESS):
        super().__init__(cfg, device, dist)  # builds G and D with n_classes (or says that class_names are missing)
        self.n_classes = cfg.n_classes

    def fake_batch(self, batch: Mapping[str, torch.Tensor], count: int, noise: torch.Generator
                   ) -> tuple[torch.Tensor, Labels]:
        """G's images for fresh noise and the real batch's labels: fake classes then follow the
        data's class frequencies (0.9% of the sneakers are pink/purple, 35% grey), so D never sees a
        class far more often among fakes than among reals, and unconditional metrics compare like
        with like. Returns the labels D sees with them: (real, fake)."""
        z = self.noise_share(count, noise)
        labels = batch[LABEL_KEY].to(self.device)
        return self.g_train(z, labels), (labels, labels)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples of classes `labels`; without them the classes in turn (a balanced, fixed set,
        as the quick FID's fixed noise batch needs)."""
        if labels is None:
            labels = classes_in_turn(len(z), self.n_classes, self.device)
        with eval_mode(self.sampler()) as generator:
            return generator(z.to(self.device), labels.to(self.device))
