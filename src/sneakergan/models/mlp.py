"""The design's plain MLP GAN for 28x28 RGB images (stage 1, `seed-mlp`)."""

from __future__ import annotations

import torch
from torch import nn

from sneakergan.models.registry import register_architecture


class MLPGenerator(nn.Module):
    """z -> Linear(z,1024) ReLU Linear(1024,1024) ReLU Linear(1024, 3*28*28) -> (3,28,28), tanh."""

    def __init__(self, z_dim: int = 32, image_size: int = 28, channels: int = 3, width: int = 1024):
        super().__init__()
        self.z_dim = z_dim
        self.output_shape = (channels, image_size, image_size)
        self.net = nn.Sequential(
            nn.Linear(z_dim, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, channels * image_size * image_size),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(z.shape[0], *self.output_shape)


class MLPDiscriminator(nn.Module):
    """flatten -> Linear(2352,256) LeakyReLU(0.01) Linear(256,256) LeakyReLU(0.01) Linear(256,1).

    Returns logits; the design's sigmoid lives in the loss (BCE with logits) for stability.
    """

    def __init__(self, image_size: int = 28, channels: int = 3, width: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * image_size * image_size, width), nn.LeakyReLU(0.01),
            nn.Linear(width, width), nn.LeakyReLU(0.01),
            nn.Linear(width, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


register_architecture("mlp", generator=MLPGenerator, discriminator=MLPDiscriminator)
