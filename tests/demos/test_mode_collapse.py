import numpy as np
import pytest
import torch
from torch.func import functional_call

from sneakergan.cli import main
from sneakergan.demos.mode_collapse import (
    MODES,
    RingSettings,
    adam_step,
    d_loss,
    lr_factor,
    make_mlp,
    measure_coverage,
    parameter_views,
    ring_centres,
    sample_ring,
    unrolled_d,
)


def test_adam_step_is_torchs_adam():
    generator = torch.Generator().manual_seed(0)
    params = torch.randn(50, generator=generator)
    reference = params.clone().requires_grad_()
    optimizer = torch.optim.Adam([reference], lr=1e-2, betas=(0.5, 0.999))
    state = {"step": 0, "m": torch.zeros(50), "v": torch.zeros(50)}
    for _ in range(5):
        grad = torch.randn(50, generator=generator)
        reference.grad = grad.clone()
        optimizer.step()
        params, state = adam_step(params, grad, state, 1e-2, (0.5, 0.999))
    torch.testing.assert_close(params, reference.detach(), rtol=1e-5, atol=1e-6)


def test_the_ring_and_the_coverage_measure():
    generator = torch.Generator().manual_seed(0)
    data = sample_ring(4000, generator).numpy()
    full = measure_coverage(data)
    assert full.covered == MODES and full.high_quality > 0.99  # 3 sigma holds 98.9% of a 2-d normal
    centres = ring_centres().numpy()
    three_modes = np.concatenate([np.repeat(centres[:3], 300, axis=0), np.zeros((100, 2))])
    coverage = measure_coverage(three_modes)
    assert coverage.covered == 3 and coverage.high_quality == pytest.approx(0.9)
    assert coverage.per_mode == (300, 300, 300, 0, 0, 0, 0, 0)
    few = np.concatenate([np.repeat(centres[:1], 5, axis=0), np.zeros((995, 2))])
    assert measure_coverage(few).covered == 0  # 5 of 1000 is under 1%: a stray, not a mode


def test_learning_rates_fall_linearly_over_the_second_half():
    settings = RingSettings(steps=100, decay_from=0.5)
    assert [lr_factor(step, settings) for step in (1, 50, 51, 76, 100)] == pytest.approx([1, 1, 1, 0.5, 0.02])


def test_gs_gradient_flows_through_the_unrolled_d_steps():
    init = torch.Generator().manual_seed(0)
    g, d = make_mlp(4, 16, 2, init), make_mlp(2, 16, 1, init)
    params = torch.cat([p.detach().flatten() for p in d.parameters()])
    state = {"step": 3, "m": torch.zeros_like(params) + 1e-3, "v": torch.zeros_like(params) + 1e-4}
    z = torch.randn(32, 4, generator=init)

    def g_gradient(lr: float, unroll: int) -> torch.Tensor:
        fake = g(z)
        settings = RingSettings(batch=32, unroll=unroll)
        judge = unrolled_d(d, params, state, fake, lr, settings, torch.Generator().manual_seed(1))
        logits = functional_call(d, parameter_views(d, judge), (fake,))
        return torch.autograd.grad(-torch.nn.functional.logsigmoid(logits).mean(), g[0].weight)[0]

    plain = g_gradient(0.1, 0)
    assert torch.equal(g_gradient(0.0, 3), plain)  # D that does not move: the standard gradient
    unrolled = g_gradient(0.1, 3)
    assert (unrolled - plain).abs().max() > 0.01 * plain.abs().max()
    fake = g(z).detach()
    loss = d_loss(d, params.requires_grad_(), sample_ring(32, init), fake)
    assert loss.item() == pytest.approx(2 * np.log(2), abs=0.5)


def test_unrolled_gan_covers_more_modes_than_the_standard_gan(tmp_path, capsys):
    """The design's finding, with the command's defaults (seed 0)."""
    out = tmp_path / "ring.png"
    assert main(["demo", "mode-collapse", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    standard, unrolled = (int(lines[i].split("modes covered ")[1].split("/")[0]) for i in (0, 1))
    assert lines[0].startswith("standard") and lines[1].startswith("unrolled")
    assert unrolled == MODES and standard <= 2
    assert out.stat().st_size > 20_000
