"""The standard CNN of the SNGAN paper (Miyato et al. 2018, table 3) at 28x28: the improved
recipes' stage-1 family; the same plan at 112x112 (two more doublings) is the single-stage generator
that tells whether the design's two-stage split pays off. Unlike the design's DCGAN, G upsamples
with nearest neighbour + 3x3 convolutions (no checkerboard artefacts) and D has no batch norm, so
spectral normalisation (`spectral_norm = true`) and gradient penalties act on a plain function of
each image.

With `n_classes` > 0 both are class-conditional (cGAN, `condition` in the config). G concatenates a
learned class embedding (z_dim wide) to z before its first layer: the label then sets the 7x7 layout
all later layers refine, and n_classes = 0 keeps today's layers untouched. (Conditional batch norm,
as in Miyato & Koyama's G, adds per-class scales to all three BN layers; with 2 to 10 classes and
global properties such as colour the input embedding suffices.) D is a projection discriminator
(Miyato & Koyama 2018): logit = head(phi(x)) + <embed(y), phi(x)>, phi(x) being the flattened 7x7
features the unconditional head already reads, so both terms see the same features.
"""

from __future__ import annotations

import torch
from torch import nn

from sneakergan.models.registry import register_architecture


class SNGANGenerator(nn.Module):
    """z -> linear -> 7x7 -> (nearest up x2, conv3, BN, ReLU) per doubling, halving the width each
    time -> conv3 -> 3, tanh. 28x28: 7x7 (4w) -> 14 (2w) -> 28 (w); 112x112: 7x7 (16w) -> ... -> 112 (w)."""

    def __init__(self, z_dim: int = 32, image_size: int = 28, channels: int = 3, width: int = 32, n_classes: int = 0):
        super().__init__()
        doublings = _doublings(image_size)
        self.z_dim, self.base, self.n_classes = z_dim, width * 2**doublings, n_classes
        self.project = nn.Linear(z_dim * (2 if n_classes else 1), self.base * 7 * 7)
        layers: list[nn.Module] = [nn.BatchNorm2d(self.base), nn.ReLU()]
        for step in range(doublings):
            wide = self.base // 2**step
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(wide, wide // 2, 3, 1, 1), nn.BatchNorm2d(wide // 2),
                       nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        if n_classes:  # created last: an unconditional G draws its initial weights exactly as before
            self.embed = nn.Embedding(n_classes, z_dim)  # N(0, 1), the scale of z

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        z = z.flatten(1)
        z = torch.cat([z, _embed(self, labels)], dim=1) if self.n_classes else _no_labels(z, labels)
        return self.net(self.project(z).view(z.shape[0], self.base, 7, 7))


class SNGANDiscriminator(nn.Module):
    """conv3 (w) -> (conv4/2 doubling the width, conv3) per halving down to 7x7 -> linear.
    28x28: 28 (w) -> 14 (2w) -> 7 (4w); 112x112: 112 (w) -> ... -> 7 (16w)."""

    def __init__(self, image_size: int = 28, channels: int = 3, width: int = 32, n_classes: int = 0):
        super().__init__()
        halvings = _doublings(image_size)
        self.n_classes = n_classes
        act = nn.LeakyReLU(0.1)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), act]
        for step in range(halvings):
            wide = width * 2**step
            layers += [nn.Conv2d(wide, 2 * wide, 4, 2, 1), act, nn.Conv2d(2 * wide, 2 * wide, 3, 1, 1), act]
        self.net = nn.Sequential(*layers)
        features = width * 2**halvings * 7 * 7
        self.head = nn.Linear(features, 1)
        if n_classes:  # the projection: one feature-sized vector per class (Glorot init, as in their code)
            self.embed = nn.Embedding(n_classes, features)
            nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        features = self.net(x).flatten(1)
        logits = self.head(features).flatten()
        if not self.n_classes:
            return _no_labels(logits, labels)
        return logits + (_embed(self, labels) * features).sum(dim=1)


def _doublings(image_size: int) -> int:
    """How many 2x steps lie between 7x7 and `image_size` (28: 2, 56: 3, 112: 4)."""
    steps = (image_size // 7).bit_length() - 1
    if image_size < 28 or image_size != 7 * 2**steps:
        raise ValueError(f"the SNGAN models are built for 7 * 2^k pixels from 28 (28, 56, 112, ...), got {image_size}")
    return steps


def _embed(module: nn.Module, labels: torch.Tensor | None) -> torch.Tensor:
    if labels is None:
        raise ValueError(f"this {type(module).__name__} is class-conditional: pass the labels")
    return module.embed(labels)


def _no_labels(output: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """`output` unchanged; an unconditional model refuses labels rather than ignore them."""
    if labels is not None:
        raise ValueError("labels given to an unconditional model (built with n_classes=0)")
    return output


register_architecture("sngan", generator=SNGANGenerator, discriminator=SNGANDiscriminator, conditional=True)
