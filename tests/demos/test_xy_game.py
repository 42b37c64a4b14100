import math

import pytest

from sneakergan.cli import main
from sneakergan.demos.xy_game import alternating_band, play, play_all, simultaneous_growth


@pytest.mark.parametrize("lr", [0.1, 0.3])
def test_simultaneous_steps_grow_by_sqrt_one_plus_a_squared_per_step(lr):
    run = play("simultaneous", lr, 200, (1.0, 1.0))
    ratio = run.amplitude[-1] / run.amplitude[0]
    assert ratio == pytest.approx((1 + lr * lr) ** 100, rel=1e-6)
    assert simultaneous_growth(lr, 200) == pytest.approx(ratio, rel=1e-6)
    assert run.verdict == "grows"


@pytest.mark.parametrize("lr", [0.1, 0.5, 1.5])
def test_alternating_steps_stay_on_their_ellipse(lr):
    run = play("alternating", lr, 5000, (1.0, -0.5))
    low, high = alternating_band(lr, (1.0, -0.5))
    assert low - 1e-9 <= run.amplitude.min() and run.amplitude.max() <= high + 1e-9
    assert run.amplitude.max() - run.amplitude.min() > 0.5 * (high - low)  # it does sweep the band
    x, y = run.points.T
    conserved = x * x + y * y - lr * x * y
    assert conserved.max() - conserved.min() < 1e-9
    assert run.verdict == "bounded"


@pytest.mark.parametrize("method", ["extragradient", "optimistic"])
def test_extragradient_and_optimistic_steps_converge_to_the_equilibrium(method):
    run = play(method, 0.1, 500, (1.0, 1.0))
    assert run.amplitude[-1] < 0.1 * run.amplitude[0]
    assert run.verdict == "converges"
    if method == "extragradient":  # the step matrix's modulus, exactly
        assert run.amplitude[-1] / run.amplitude[0] == pytest.approx((1 - 0.01 + 1e-4) ** 250, rel=1e-9)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        play("leapfrog", 0.1, 3)


def test_command_prints_each_methods_amplitudes_and_verdict(tmp_path, capsys):
    out = tmp_path / "xy.png"
    assert main(["demo", "xy-game", "--steps", "300", "--lr", "0.2", "--start", "0.5", "2", "--out", str(out)]) == 0
    printed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert out.stat().st_size > 10_000
    expected = {run.method: run for run in play_all(0.2, 300, (0.5, 2.0))}
    for method, verdict in [("simultaneous", "grows"), ("alternating", "bounded"), ("extragradient", "converges"),
                            ("optimistic", "converges")]:
        words = printed[method].split()
        start, end = float(words[2]), float(words[4])
        assert start == pytest.approx(math.hypot(0.5, 2), abs=1e-4)
        assert end == pytest.approx(expected[method].amplitude[-1], rel=1e-3)
        assert words[-1] == verdict
    # the figure is never overwritten silently
    assert main(["demo", "xy-game", "--out", str(out)]) == 2
    assert main(["demo", "xy-game", "--lr", "1.5", "--out", str(tmp_path / "other.png")]) == 2
    assert not (tmp_path / "other.png").exists()
