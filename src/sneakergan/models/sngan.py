"""The standard CNN of the SNGAN paper (Miyato et al. 2018, table 3) at 28x28: the improved
recipes' stage-1 family. Unlike the design's DCGAN, G upsamples with nearest neighbour + 3x3
convolutions (no checkerboard artefacts) and D has no batch norm, so spectral normalisation
(`spectral_norm = true`) and gradient penalties act on a plain function of each image.
"""

from __future__ import annotations

import torch
from torch import nn

from sneakergan.models.registry import register_architecture


class SNGANGenerator(nn.Module):
    """z -> linear -> 7x7 (4w) -> up, conv -> 14x14 (2w) -> up, conv -> 28x28 (w) -> conv -> 3, tanh."""

    def __init__(self, z_dim: int = 32, image_size: int = 28, channels: int = 3, width: int = 32):
        super().__init__()
        if image_size != 28:
            raise ValueError("the SNGAN generator is built for 28x28 images")
        self.z_dim, self.width = z_dim, width
        self.project = nn.Linear(z_dim, 4 * width * 7 * 7)
        self.net = nn.Sequential(
            nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(4 * width, 2 * width, 3, 1, 1),
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(2 * width, width, 3, 1, 1),
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z.flatten(1)).view(z.shape[0], 4 * self.width, 7, 7))


class SNGANDiscriminator(nn.Module):
    """28x28 -> conv3 (w) -> conv4/2 (2w, 14x14) -> conv3 -> conv4/2 (4w, 7x7) -> conv3 -> linear."""

    def __init__(self, image_size: int = 28, channels: int = 3, width: int = 32):
        super().__init__()
        if image_size != 28:
            raise ValueError("the SNGAN discriminator is built for 28x28 images")
        act = nn.LeakyReLU(0.1)
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1), act,
            nn.Conv2d(width, 2 * width, 4, 2, 1), act,
            nn.Conv2d(2 * width, 2 * width, 3, 1, 1), act,
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), act,
            nn.Conv2d(4 * width, 4 * width, 3, 1, 1), act,
        )
        self.head = nn.Linear(4 * width * 7 * 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x).flatten(1)).flatten()


register_architecture("sngan", generator=SNGANGenerator, discriminator=SNGANDiscriminator)
