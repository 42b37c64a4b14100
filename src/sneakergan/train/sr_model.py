"""Stage 2 as a training "model": SRGAN-style 4x super-resolution, one step at a time.

Generator loss = pixel loss (L1/L2 to HR)
               + feature_weight * content loss
               + adv_weight * adversarial loss (the registered `cfg.loss`, BCE in SRGAN).

Content loss: SRGAN compares VGG19 features of SR and HR, which needs ImageNet VGG weights that
cannot be downloaded here. The offline stand-in is discriminator feature matching (Salimans et
al. 2016): L1 between D's conv-block outputs on SR and on HR (targets detached), which likewise
rewards matching perceptual structure rather than the blurry per-pixel mean.

During the first `pretrain_epochs` epochs only G trains, on the pixel loss (SRResNet
initialisation, as SRGAN does before the adversarial phase). The phase follows from the epoch the
trainer passes, so a resumed run continues in exactly the right phase.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Iterator

import torch
import torch.nn.functional as F

from sneakergan.config import TrainConfig
from sneakergan.models import get_architecture
from sneakergan.train.adversarial import AdversarialModel, eval_mode
from sneakergan.train.degrade import degrade
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed

SCALE = 4
CHANNELS_LAST = torch.channels_last
_PIXEL_LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}


def build_sr_generator(cfg: TrainConfig) -> torch.nn.Module:
    return get_architecture(cfg.architecture).generator(blocks=cfg.sr_blocks, width=cfg.g_width)


def build_sr_discriminator(cfg: TrainConfig) -> torch.nn.Module:
    return get_architecture(cfg.architecture).discriminator(width=cfg.d_width)


@contextlib.contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """No weight gradients for `module` (gradients still flow through it): cheaper G steps."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


class SuperResolutionGAN(AdversarialModel):
    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Distributed = SINGLE_PROCESS):
        # channels_last: oneDNN's convolutions run about 2x faster in it on CPU (measured).
        super().__init__(cfg, device, build_sr_generator(cfg).to(memory_format=CHANNELS_LAST),
                         build_sr_discriminator(cfg).to(memory_format=CHANNELS_LAST), dist)
        self.pixel_loss = _PIXEL_LOSSES[cfg.pixel_loss]

    def is_pretraining(self, epoch: int) -> bool:
        return epoch < self.cfg.pretrain_epochs

    def g_step(self, hr: torch.Tensor, sr: torch.Tensor, adversarial: bool = True) -> dict[str, torch.Tensor]:
        """One generator update; with `adversarial` False the pixel loss alone (pre-training)."""
        pixel = self.pixel_loss(sr, hr)
        metrics = {"pixel_loss": pixel.detach()}
        total = pixel
        if adversarial:
            with torch.no_grad():
                _, real_taps = self.discriminator(hr, features=True)
            with frozen(self.discriminator):
                logits, fake_taps = self.discriminator(sr, features=True)
            feature = torch.stack([F.l1_loss(f, r) for f, r in zip(fake_taps, real_taps)]).mean()
            adv = self.loss.g_loss(logits)
            total = pixel + self.cfg.feature_weight * feature + self.cfg.adv_weight * adv
            metrics.update(feature_loss=feature.detach(), adv_loss=adv.detach())
        metrics["g_loss"] = total.detach()
        metrics["g_skipped"] = self.update(self.opt_g, self.generator, total)
        return metrics

    def train_step(self, batch: Mapping[str, torch.Tensor], noise: torch.Generator,
                   epoch: int) -> dict[str, Any]:
        """`batch`: {"lr": [N,3,h,w], "hr": [N,3,4h,4w]} in [-1, 1]; `epoch` counts from 0. Returns
        the metrics (tensors) and "skipped" (True when a non-finite update was skipped)."""
        lr, hr = batch["lr"], batch["hr"].contiguous(memory_format=CHANNELS_LAST)
        if self.cfg.degrade:
            lr = degrade(lr, noise, self.dist)
        lr = lr.contiguous(memory_format=CHANNELS_LAST)
        snapshot = self.snapshot_buffers()
        sr = self.g_train(lr)
        if self.is_pretraining(epoch):
            return self.finish_step(self.g_step(hr, sr, adversarial=False), snapshot)
        # As in stage 1, one SR batch serves both updates: D sees it detached, G goes through new D.
        metrics = self.d_step(hr, sr)
        metrics.update(self.g_step(hr, sr))
        return self.finish_step(metrics, snapshot)

    @torch.no_grad()
    def super_resolve(self, lr: torch.Tensor) -> torch.Tensor:
        """[N,3,h,w] in [-1, 1] -> [N,3,4h,4w] in [-1, 1], G in eval mode (no degradation)."""
        with eval_mode(self.generator):
            return self.generator(lr.to(self.device).contiguous(memory_format=CHANNELS_LAST))
