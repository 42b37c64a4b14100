"""Stage 2 as a training "model": a 4x translator 28x28 -> 112x112, one step at a time.

Generator loss = pixel_weight * pixel loss (L1/L2 to HR, on the real pairs)
               + consistency_weight * L1(down(SR), LR)  (down: the data pipeline's exact downscale)
               + feature_weight * content loss
               + adv_weight * adversarial loss (the registered `cfg.loss`, BCE in SRGAN)
               - diversity_weight * min(mean |SR - SR'|, DIVERSITY_CAP)  (SR': the same inputs, other noise).

The seed recipe (SRGAN) is pixel-first: weight 1 on the pixel loss and 1e-3 on the adversarial term,
which regresses to the blurry mean of all plausible 112x112 images. The perception-first recipe
(preset sr-perceptual) drops the pixel loss for LR consistency, which pins the content without
forcing the mean, and lets an adversarial term of weight 0.1-1 add the detail, with the stage-1
recipe parts (recipe_model: DiffAugment, R1, EMA; spectral norm at build time), noise inputs in G
(`sr_noise`: many realisations of one input; a pixel loss teaches G to ignore them, since any
variation raises the expected distance to the one target, so `diversity_weight` rewards two
realisations of the same input for differing: DSGAN's diversity-sensitive term, Yang et al. 2019,
capped as there so that it cannot grow without bound), a D that sees the upsampled LR input beside the image
(`d_sees_lr`), and LR batches partly drawn from a frozen stage-1 generator (`stage1_run`,
`stage1_share`; StackGAN's stage II): those have no HR target, only consistency and D.

Content loss: SRGAN compares VGG19 features of SR and HR, which needs ImageNet VGG weights that
cannot be downloaded here. The offline stand-in is discriminator feature matching (Salimans et
al. 2016): L1 between D's conv-block outputs on SR and on HR (targets detached).

During the first `pretrain_epochs` epochs only G trains, on its pixel and consistency losses
(SRResNet initialisation, as SRGAN does before the adversarial phase). The phase follows from the
epoch the trainer passes, so a resumed run continues in exactly the right phase.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Iterator

import torch
import torch.nn.functional as F

from sneakergan.config import BUNDLED, TrainConfig
from sneakergan.errors import ConfigError
from sneakergan.images import quantise
from sneakergan.models.build import build_sr_discriminator, build_sr_generator
from sneakergan.models.downscale import PILDownscale
from sneakergan.models.srgan import SCALE
from sneakergan.train.adversarial import eval_mode
from sneakergan.train.augment import diff_augment
from sneakergan.train.degrade import degrade
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.recipe_model import RecipeModel

CHANNELS_LAST = torch.channels_last
_PIXEL_LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}
# The diversity reward stops growing at a mean absolute difference of 0.05 in [-1, 1] units (~6 uint8
# steps): enough for texture, too little to pay for changing the shoe (the consistency loss pins that).
DIVERSITY_CAP = 0.05


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


class SuperResolutionGAN(RecipeModel):
    def __init__(self, cfg: TrainConfig, device: torch.device, dist: Distributed = SINGLE_PROCESS):
        # channels_last: oneDNN's convolutions run about 2x faster in it on CPU (measured).
        super().__init__(cfg, device, build_sr_generator(cfg).to(memory_format=CHANNELS_LAST),
                         build_sr_discriminator(cfg).to(memory_format=CHANNELS_LAST), dist)
        self.pixel_loss = _PIXEL_LOSSES[cfg.pixel_loss]
        self.downscale = PILDownscale(cfg.image_size, cfg.image_size // SCALE).to(device)
        self.stage1 = _frozen_stage1(cfg, device) if cfg.stage1_share else None

    def is_pretraining(self, epoch: int) -> bool:
        return epoch < self.cfg.pretrain_epochs

    def d_inputs(self, images: torch.Tensor) -> torch.Tensor:
        return images  # augmented together with the LR beside them, in d_view

    def d_logits(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                 discriminator: torch.nn.Module | None = None) -> torch.Tensor:
        """D's logits on 112x112 images; `labels` here are the LR inputs they belong to (see d_view)."""
        discriminator = self.discriminator if discriminator is None else discriminator
        return discriminator(self.d_view(images, labels))

    def d_view(self, images: torch.Tensor, lr: torch.Tensor | None) -> torch.Tensor:
        """What D judges: the images, beside their bicubically upsampled LR inputs when D sees the LR
        (`d_sees_lr`), with the DiffAugment policy applied to both alike (one shift moves both)."""
        if self.cfg.d_sees_lr:
            upsampled = F.interpolate(lr.float(), scale_factor=SCALE, mode="bicubic", align_corners=False)
            images = torch.cat([images, upsampled.to(images.dtype)], 1)
        return diff_augment(images, self.augmentations, self.dist).contiguous(memory_format=CHANNELS_LAST)

    def g_step(self, hr: torch.Tensor, sr: torch.Tensor, lr: torch.Tensor, adversarial: bool = True,
               twins: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One generator update; `hr` are the targets of `sr`'s first len(hr) rows (the rest came from
        stage-1 samples, which have none); with `adversarial` False no D terms (pre-training);
        `twins`: second realisations of `sr`'s first len(twins) rows (the diversity term)."""
        paired = len(hr)
        pixel = self.pixel_loss(sr[:paired], hr)
        metrics = {"pixel_loss": pixel.detach()}
        total = self.cfg.pixel_weight * pixel
        if twins is not None:
            diversity = (sr[:len(twins)] - twins).abs().float().mean()
            metrics["diversity"] = diversity.detach()
            total = total - self.cfg.diversity_weight * diversity.clamp(max=DIVERSITY_CAP)
        if self.cfg.consistency_weight:
            consistency = F.l1_loss(self.downscale(sr.float()), lr.float())
            metrics["consistency_loss"] = consistency.detach()
            total = total + self.cfg.consistency_weight * consistency
        if adversarial:
            real_lr = lr[:paired]
            real_logits = None
            with torch.no_grad():
                if self.loss.needs_real_in_g or self.cfg.feature_weight:
                    real_logits, real_taps = self.discriminator(self.d_view(hr, real_lr), features=True)
            with frozen(self.discriminator):
                logits, fake_taps = self.discriminator(self.d_view(sr, lr), features=True)
            adv = self.loss.g_loss(logits, real_logits)
            total = total + self.cfg.adv_weight * adv
            metrics["adv_loss"] = adv.detach()
            if self.cfg.feature_weight:
                feature = torch.stack([F.l1_loss(f[:paired], r) for f, r in zip(fake_taps, real_taps)]).mean()
                total = total + self.cfg.feature_weight * feature
                metrics["feature_loss"] = feature.detach()
        metrics["g_loss"] = total.detach()
        metrics["g_skipped"] = self.update_generator(total)
        return metrics

    def train_step(self, batch: Mapping[str, torch.Tensor], noise: torch.Generator,
                   epoch: int) -> dict[str, Any]:
        """`batch`: {"lr": [N,3,h,w], "hr": [N,3,4h,4w]} in [-1, 1]; `epoch` counts from 0. Returns
        the metrics (tensors) and "skipped" (True when a non-finite update was skipped)."""
        lr, hr = batch["lr"], batch["hr"].contiguous(memory_format=CHANNELS_LAST)
        if self.cfg.degrade:
            lr = degrade(lr, noise, self.dist)
        if self.stage1 is not None:  # the last rows' inputs become stage-1 samples (no HR target)
            generated = self.stage1_samples(round(self.cfg.stage1_share * len(lr)), noise)
            lr, hr = torch.cat([lr[:len(lr) - len(generated)], generated]), hr[:len(lr) - len(generated)]
        lr = lr.contiguous(memory_format=CHANNELS_LAST)
        snapshot = self.snapshot_buffers()
        sr, twins = self.realisations(lr, noise)
        if self.is_pretraining(epoch):
            return self.finish_step(self.g_step(hr, sr, lr, adversarial=False, twins=twins), snapshot)
        # As in stage 1, one SR batch serves both updates: D sees it detached, G goes through new D.
        metrics = self.d_step(hr, sr, (lr[:len(hr)], lr))
        metrics.update(self.g_step(hr, sr, lr, twins=twins))
        return self.finish_step(metrics, snapshot)

    def realisations(self, lr: torch.Tensor, noise: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G's outputs for `lr`, and with the diversity term a second realisation of its first quarter.
        Both come from one forward pass of the inputs stacked, so G's batch-norm statistics are the same
        for both and only the noise maps can make them differ."""
        if not self.cfg.diversity_weight:
            return self.g_train(lr, noise=noise), None
        count = max(1, len(lr) // 4)
        both = self.g_train(torch.cat([lr, lr[:count]]).contiguous(memory_format=CHANNELS_LAST), noise=noise)
        return both[:len(lr)], both[len(lr):]

    @torch.no_grad()
    def stage1_samples(self, count: int, noise: torch.Generator) -> torch.Tensor:
        """`count` frozen stage-1 samples in [-1, 1], quantised as stage 2 sees them at inference
        (images.quantise: pipeline.py feeds it saved uint8 images)."""
        generator, stage1_cfg = self.stage1
        z = self.dist.local_share(torch.randn(self.dist.global_count(count), stage1_cfg.z_dim, generator=noise))
        inputs = [z.to(self.device)]
        if stage1_cfg.n_classes:
            inputs.append(torch.randint(stage1_cfg.n_classes, (len(z),), generator=noise).to(self.device))
        images = generator(*inputs).float()
        return quantise(images)

    @torch.no_grad()
    def super_resolve(self, lr: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        """[N,3,h,w] in [-1, 1] -> [N,3,4h,4w] in [-1, 1], G (its EMA where kept) in eval mode, no
        degradation; noise inputs from `noise` (default: a fixed seed, so figures show one realisation)."""
        noise = torch.Generator().manual_seed(0) if noise is None else noise
        with eval_mode(self.sampler()) as generator:
            return generator(lr.to(self.device).contiguous(memory_format=CHANNELS_LAST), noise=noise)


def _frozen_stage1(cfg: TrainConfig, device: torch.device) -> tuple[torch.nn.Module, TrainConfig]:
    """The stage-1 generator whose samples stage 2 partly trains on (eval mode, no gradients), with its config."""
    from sneakergan.inference.pipeline import (
        load_stage1,  # imported here: only a stage 2 trained on stage-1 samples needs it
    )

    generator, stage1_cfg = load_stage1(None if cfg.stage1_run == BUNDLED else cfg.stage1_run, device)
    if stage1_cfg.image_size * SCALE != cfg.image_size:
        raise ConfigError(f"stage1_run {cfg.stage1_run} makes {stage1_cfg.image_size}x{stage1_cfg.image_size} "
                          f"images; this stage 2 takes {cfg.image_size // SCALE}x{cfg.image_size // SCALE}")
    return generator.eval().requires_grad_(False), stage1_cfg
