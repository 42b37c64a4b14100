"""Adversarial losses by registered name.

Each loss maps raw discriminator outputs ("logits") to the two players' objectives, and says how to
read D's output for humans (`d_output`): a probability for BCE, the raw score for least squares.
Relativistic losses also need D's outputs on the real batch in G's objective (`g_loss(fake, real)`;
the others ignore `real`).

- bce: the design's GAN loss (D: logistic; G: the non-saturating -log D(G(z))); "logistic" is the
  same loss under the name StyleGAN uses
- lsgan: least squares (Mao et al. 2017), the design's DCGAN loss
- hinge: SAGAN / BigGAN (D: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z)))
- wgan: Wasserstein (D: D(G(z)) - D(x); G: -D(G(z))), to be used with gp_weight (WGAN-GP)
- ragan: relativistic average logistic loss (Jolicoeur-Martineau 2018)
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
    g_loss: Callable[[Tensor, Tensor | None], Tensor]  # (D(G(z)) logits, D(x) logits or None) -> scalar
    d_output: Callable[[Tensor], Tensor]  # logits -> the value plotted in histograms / logged
    d_output_range: tuple[float, float] | None  # fixed histogram range, None = data range
    d_output_label: str  # axis label for that value
    needs_real_in_g: bool = False  # g_loss reads D(x) (relativistic losses)


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    # -E[log D(x)] - E[log(1 - D(G(z)))], D = sigmoid(logits); the logits form is stable.
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def _bce_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # Non-saturating generator loss of the design: -E[log D(G(z))].
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _raw(logits: Tensor) -> Tensor:
    return logits


def _lsgan_d(real: Tensor, fake: Tensor) -> Tensor:
    # 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def _lsgan_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # 1/2 E[(D(G(z)) - 1)^2]
    return 0.5 * (fake - 1).pow(2).mean()


def _hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def _critic_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # hinge and WGAN generators both maximise the critic's score of their samples
    return -fake.mean()


def _wgan_d(real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def _ragan_d(real: Tensor, fake: Tensor) -> Tensor:
    # D judges whether a real image is more realistic than the average fake, and the reverse.
    return (F.binary_cross_entropy_with_logits(real - fake.mean(), torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.zeros_like(fake)))


def _ragan_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    if real is None:
        raise ValueError("the relativistic loss needs D's outputs on the real batch")
    return (F.binary_cross_entropy_with_logits(fake - real.mean(), torch.ones_like(fake))
            + F.binary_cross_entropy_with_logits(real - fake.mean(), torch.zeros_like(real)))


_LOSSES: Registry[AdversarialLoss] = Registry("loss")


def register_loss(loss: AdversarialLoss) -> None:
    _LOSSES.register(loss.name, loss)


def get_loss(name: str) -> AdversarialLoss:
    return _LOSSES.get(name)


def loss_names() -> list[str]:
    return _LOSSES.names()


register_loss(AdversarialLoss("bce", _bce_d, _bce_g, torch.sigmoid, (0.0, 1.0), "D(x) = sigmoid(logit)"))
register_loss(AdversarialLoss("logistic", _bce_d, _bce_g, torch.sigmoid, (0.0, 1.0), "D(x) = sigmoid(logit)"))
register_loss(AdversarialLoss("lsgan", _lsgan_d, _lsgan_g, _raw, None, "D(x), raw score"))
register_loss(AdversarialLoss("hinge", _hinge_d, _critic_g, _raw, None, "D(x), raw score"))
register_loss(AdversarialLoss("wgan", _wgan_d, _critic_g, _raw, None, "critic score"))
register_loss(AdversarialLoss("ragan", _ragan_d, _ragan_g, torch.sigmoid, (0.0, 1.0), "sigmoid(D(x))",
                              needs_real_in_g=True))
