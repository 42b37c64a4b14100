"""Adversarial losses by registered name.

Each loss maps raw discriminator outputs ("logits") to the two players' objectives, and says how to
read D's output for humans (`d_output`): a probability for BCE, the raw score for least squares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from sneakergan.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]  # (D(x) logits, D(G(z)) logits) -> scalar
    g_loss: Callable[[Tensor], Tensor]  # D(G(z)) logits -> scalar
    d_output: Callable[[Tensor], Tensor]  # logits -> the value plotted in histograms / logged
    d_output_range: tuple[float, float] | None  # fixed histogram range, None = data range
    d_output_label: str  # axis label for that value


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    # -E[log D(x)] - E[log(1 - D(G(z)))], D = sigmoid(logits); the logits form is stable.
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def _bce_g(fake: Tensor) -> Tensor:
    # Non-saturating generator loss of the design: -E[log D(G(z))].
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _lsgan_d(real: Tensor, fake: Tensor) -> Tensor:
    # 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def _lsgan_g(fake: Tensor) -> Tensor:
    # 1/2 E[(D(G(z)) - 1)^2]
    return 0.5 * (fake - 1).pow(2).mean()


_LOSSES: Registry[AdversarialLoss] = Registry("loss")


def register_loss(loss: AdversarialLoss) -> None:
    _LOSSES.register(loss.name, loss)


def get_loss(name: str) -> AdversarialLoss:
    return _LOSSES.get(name)


def loss_names() -> list[str]:
    return _LOSSES.names()


register_loss(AdversarialLoss("bce", _bce_d, _bce_g, torch.sigmoid, (0.0, 1.0), "D(x) = sigmoid(logit)"))
register_loss(AdversarialLoss("lsgan", _lsgan_d, _lsgan_g, lambda logits: logits, None, "D(x), raw score"))
