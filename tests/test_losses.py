import math

import pytest
import torch

from sneakergan.errors import ConfigError
from sneakergan.losses import get_loss


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_bce_matches_hand_computed_values():
    loss = get_loss("bce")
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected_d = (-(math.log(_sigmoid(2.0)) + math.log(_sigmoid(-1.0))) / 2
                  - (math.log(1 - _sigmoid(0.5)) + math.log(1 - _sigmoid(-3.0))) / 2)
    expected_g = -(math.log(_sigmoid(0.5)) + math.log(_sigmoid(-3.0))) / 2
    assert loss.d_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert loss.g_loss(fake).item() == pytest.approx(expected_g, rel=1e-6)
    assert loss.d_output(torch.tensor([0.0])).item() == 0.5


def test_bce_is_stable_for_huge_logits():
    loss = get_loss("bce")
    value = loss.d_loss(torch.tensor([1e4]), torch.tensor([-1e4]))
    assert torch.isfinite(value) and value.item() == pytest.approx(0.0, abs=1e-6)


def test_lsgan_matches_hand_computed_values():
    loss = get_loss("lsgan")
    real, fake = torch.tensor([1.5, 0.0]), torch.tensor([0.5, -1.0])
    # 1/2 E[(D(x)-1)^2] + 1/2 E[D(G(z))^2] = 1/2 * (0.25 + 1)/2 + 1/2 * (0.25 + 1)/2
    assert loss.d_loss(real, fake).item() == pytest.approx(0.625)
    # 1/2 E[(D(G(z))-1)^2] = 1/2 * (0.25 + 4)/2
    assert loss.g_loss(fake).item() == pytest.approx(1.0625)
    assert loss.d_output(torch.tensor([3.0])).item() == 3.0


def test_unknown_loss():
    with pytest.raises(ConfigError, match="known: bce, lsgan"):
        get_loss("wasserstein-typo")
