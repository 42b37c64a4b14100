"""SRGAN-style 4x super-resolution, 28x28 -> 112x112 (stage 2; Ledig et al. 2017).

Generator (SRResNet): 9x9 head conv + PReLU, B residual blocks [conv3x3 BN PReLU conv3x3 BN] + skip,
a trunk conv3x3 + BN with a global skip, two x2 upsamplers [conv3x3 (w -> 4w), PixelShuffle(2), PReLU],
a 9x9 output conv and tanh (images in [-1, 1], as in stage 1).

Cost of the defaults (B=8, width 48), multiply-accumulates per 28x28 input:
head 9.1M + blocks 8 x 32.5M + trunk 16.3M + upsamplers 65M + 260M + output 146M = 0.76 GMAC,
about 1.5 GFLOP forward (x3 for forward + backward). The paper's B=16, width 64 is ~3.4x that;
the defaults are sized for training on two CPU cores.

Noise (`noise=True`, stage 2 as a stochastic translator): a per-pixel Gaussian noise map is added
after each residual block and each upsampler, scaled per channel by learned weights that start at 0
(StyleGAN's noise inputs), so one 28x28 input has many 112x112 realisations. `forward(lr, noise=g)`
draws the maps from the torch.Generator g (on the CPU, so a seed gives the same maps on any device).

Discriminator: conv3x3 with strides 1,2,1,2,... and widths w,w,2w,2w,4w,4w,8w,8w (w=32:
~0.30 GMAC on a 112x112 image), LeakyReLU 0.2, BN after every conv but the first, global average
pooling (any input size works) and a dense head Linear(8w, 16w) LReLU Linear(16w, 1) -> logits [N].
`channels=6`: D also sees the bicubically upsampled LR input beside the image (pix2pix's conditional D);
`batch_norm=False` for spectral normalisation instead (BN's batch statistics and SN do not mix well).
"""

from __future__ import annotations

import torch
from torch import nn

from sneakergan.errors import ConfigError
from sneakergan.models.registry import register_architecture

SCALE = 4  # two x2 upsamplers


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.PReLU(width),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class NoiseInjection(nn.Module):
    """x + scale[c] * n with n ~ N(0, 1) per pixel, one map per image shared by the channels."""

    def __init__(self, width: int):
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(1, width, 1, 1))

    def forward(self, x: torch.Tensor, noise: torch.Generator | list[torch.Generator] | None) -> torch.Tensor:
        """`noise`: one generator for the batch, or one per image (pipeline.detail_noise)."""
        shape = (1, *x.shape[2:])
        if isinstance(noise, list):
            maps = torch.stack([torch.randn(shape, generator=generator) for generator in noise])
        else:
            maps = torch.randn(x.shape[0], *shape, generator=noise)
        return x + self.scale * maps.to(device=x.device, dtype=x.dtype)


class SRResNetGenerator(nn.Module):
    """[N, 3, h, w] in [-1, 1] -> [N, 3, 4h, 4w] in [-1, 1]."""

    def __init__(self, blocks: int = 8, width: int = 48, channels: int = 3, noise: bool = False):
        super().__init__()
        self.scale = SCALE
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, 1, 4), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.trunk = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))
        self.upsample = nn.Sequential(*[
            layer for _ in range(2)
            for layer in (nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(width))
        ])
        self.output = nn.Conv2d(width, channels, 9, 1, 4)
        # one after each block and each upsampler; none at all without noise (the weights of older runs load)
        self.noise = nn.ModuleList([NoiseInjection(width) for _ in range(blocks + 2)]) if noise else None

    def forward(self, lr: torch.Tensor, noise: torch.Generator | list[torch.Generator] | None = None) -> torch.Tensor:
        head = self.head(lr)
        if self.noise is None:
            features = head + self.trunk(self.blocks(head))  # global skip
            return torch.tanh(self.output(self.upsample(features)))
        x = head
        for block, inject in zip(self.blocks, self.noise):
            x = inject(block(x), noise)
        x = head + self.trunk(x)
        for index, inject in enumerate(self.noise[len(self.blocks):]):
            x = inject(self.upsample[3 * index:3 * index + 3](x), noise)
        return torch.tanh(self.output(x))


class SRGANDiscriminator(nn.Module):
    """[N, 3, H, W] -> logits [N]; `forward(x, features=True)` also returns each conv block's output."""

    def __init__(self, width: int = 32, channels: int = 3, batch_norm: bool = True):
        super().__init__()
        widths = [width, width, 2 * width, 2 * width, 4 * width, 4 * width, 8 * width, 8 * width]
        layers, previous = [], channels
        for index, out in enumerate(widths):
            stride = 1 if index % 2 == 0 else 2
            normed = batch_norm and index > 0  # no BN on the input layer, as in DCGAN / SRGAN
            block = [nn.Conv2d(previous, out, 3, stride, 1, bias=not normed)]
            if normed:
                block.append(nn.BatchNorm2d(out))
            block.append(nn.LeakyReLU(0.2))
            layers.append(nn.Sequential(*block))
            previous = out
        self.convs = nn.ModuleList(layers)
        self.head = nn.Sequential(
            nn.Linear(8 * width, 16 * width), nn.LeakyReLU(0.2), nn.Linear(16 * width, 1),
        )

    def forward(self, x: torch.Tensor, features: bool = False):
        taps = []
        for block in self.convs:
            x = block(x)
            taps.append(x)
        logits = self.head(x.mean(dim=(2, 3))).squeeze(1)
        return (logits, taps) if features else logits


def check_config(cfg) -> None:
    """What this family cannot train, refused when the config is made (not at the first step)."""
    if cfg.image_size % SCALE:
        raise ConfigError(f"image_size is the {SCALE}x output size for task sr; {cfg.image_size} "
                          f"is not a multiple of {SCALE}")
    if cfg.eval_every:
        raise ConfigError("eval_every (quick FID from noise) applies to task gan only; use "
                          "`sneakergan eval-sr` for a super-resolution run")
    if cfg.gp_weight:  # stage 2 may score fewer real images than fakes (stage1_share): no pairs to mix
        raise ConfigError("gp_weight (WGAN-GP) applies to stage 1 only; use r1_gamma for stage 2")
    if not 0 <= cfg.stage1_share < 1:
        raise ConfigError(f"stage1_share must be in [0, 1): some of each batch must be real pairs, got "
                          f"{cfg.stage1_share}")
    if bool(cfg.stage1_share) != bool(cfg.stage1_run):
        raise ConfigError("stage1_run and stage1_share go together: the stage-1 run to sample LR inputs "
                          "from, and the share of each batch they make")
    if cfg.diversity_weight and not cfg.sr_noise:
        raise ConfigError("diversity_weight needs sr_noise: without noise inputs every realisation is the same")
    if not (cfg.pixel_weight or cfg.consistency_weight):
        raise ConfigError("pixel_weight and consistency_weight are both 0: nothing would tie the output to "
                          "its input")


register_architecture("srgan", generator=SRResNetGenerator, discriminator=SRGANDiscriminator, task="sr",
                      check=check_config)
