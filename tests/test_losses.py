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
    with pytest.raises(ConfigError, match="known: bce, hinge, logistic, lsgan, ragan, wgan"):
        get_loss("wasserstein-typo")


def test_hinge_and_wgan_match_hand_computed_values():
    real, fake = torch.tensor([1.5, 0.5]), torch.tensor([-2.0, 0.5])
    hinge = get_loss("hinge")
    # E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] = (0 + 0.5)/2 + (0 + 1.5)/2
    assert hinge.d_loss(real, fake).item() == pytest.approx(1.0)
    assert hinge.g_loss(fake).item() == pytest.approx(0.75)  # -E[D(G(z))]
    wgan = get_loss("wgan")
    assert wgan.d_loss(real, fake).item() == pytest.approx(-0.75 - 1.0)  # E[D(G(z))] - E[D(x)]
    assert wgan.g_loss(fake).item() == pytest.approx(0.75)


def test_logistic_is_the_design_bce_loss():
    real, fake = torch.randn(5), torch.randn(5)
    assert torch.equal(get_loss("logistic").d_loss(real, fake), get_loss("bce").d_loss(real, fake))
    assert torch.equal(get_loss("logistic").g_loss(fake), get_loss("bce").g_loss(fake))


def test_relativistic_average_matches_hand_computed_values():
    loss = get_loss("ragan")
    assert loss.needs_real_in_g and not get_loss("hinge").needs_real_in_g
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])  # means: real 1, fake 0

    def bce(logit, target):
        p = _sigmoid(logit)
        return -math.log(p) if target else -math.log(1 - p)

    expected_d = (bce(2.0, 1) + bce(0.0, 1)) / 2 + (bce(-2.0, 0) + bce(0.0, 0)) / 2
    expected_g = (bce(-2.0, 1) + bce(0.0, 1)) / 2 + (bce(2.0, 0) + bce(0.0, 0)) / 2
    assert loss.d_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert loss.g_loss(fake, real).item() == pytest.approx(expected_g, rel=1e-6)
    with pytest.raises(ValueError, match="real batch"):
        loss.g_loss(fake)
