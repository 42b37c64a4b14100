"""DCGAN for 28x28 RGB images (stage 1, `seed-dcgan`), following the DCGAN rules the design lists.

Strided convolutions in D and transposed convolutions in G instead of pooling; batch norm in both
except G's output layer and D's input layer; no fully connected hidden layers (z enters as a 1x1
feature map); ReLU in G with a tanh output; LeakyReLU(0.2) in D.
"""

from __future__ import annotations

import torch
from torch import nn

from sneakergan.models.registry import register_architecture


class DCGANGenerator(nn.Module):
    """z (1x1) -> 7x7 (2w ch) -> 14x14 (w ch) -> 28x28 (3 ch)."""

    def __init__(self, z_dim: int = 32, image_size: int = 28, channels: int = 3, width: int = 64):
        super().__init__()
        if image_size != 28:
            raise ValueError("the DCGAN generator is built for 28x28 images")
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 2 * width, 7, 1, 0, bias=False),
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """28x28 -> 14x14 (w ch) -> 7x7 (2w ch) -> a 7x7 convolution to one logit."""

    def __init__(self, image_size: int = 28, channels: int = 3, width: int = 64):
        super().__init__()
        if image_size != 28:
            raise ValueError("the DCGAN discriminator is built for 28x28 images")
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, 7, 1, 0),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


register_architecture("dcgan", generator=DCGANGenerator, discriminator=DCGANDiscriminator)
