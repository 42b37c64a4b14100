"""The smallest adversarial game: min over x, max over y of f(x, y) = x * y.

The only equilibrium is (0, 0), and the gradient field rotates around it. Four ways of following it,
each with step size a:

- simultaneous gradient steps (what a GAN does when G and D update on the same batch):
  (x, y) <- (x - a*y, y + a*x). The step matrix is a rotation times sqrt(1 + a^2), so the
  amplitude sqrt(x^2 + y^2) grows by exactly that factor per step: an outward spiral.
- alternating steps (x first, then y with the new x): the step matrix has determinant 1
  (symplectic), and x^2 + y^2 - a*x*y is conserved, so the point circles on an ellipse forever.
- extragradient: take a look-ahead step, then step from the start with the look-ahead's gradient.
  The step matrix has modulus sqrt(1 - a^2 + a^4) < 1 for a < 1: an inward spiral to (0, 0).
- optimistic gradient descent-ascent (OGDA): step with 2 * (this gradient) - (the last one), a
  cheap extrapolation that also spirals in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")
# The verdict compares the largest amplitude of the run's second half with its first half's; a
# bounded orbit repeats the same values (up to sampling), a spiral changes by a factor.
VERDICT_TOLERANCE = 0.02


@dataclass(frozen=True)
class Trajectory:
    method: str
    points: np.ndarray  # [steps + 1, 2]: (x, y) from the start to the last step

    @property
    def amplitude(self) -> np.ndarray:
        return np.hypot(self.points[:, 0], self.points[:, 1])

    @property
    def verdict(self) -> str:
        """"grows", "bounded" or "converges", from the amplitude's trend."""
        amplitude = self.amplitude
        half = len(amplitude) // 2
        ratio = amplitude[half:].max() / max(amplitude[:half + 1].max(), 1e-300)
        if ratio > 1 + VERDICT_TOLERANCE:
            return "grows"
        return "converges" if ratio < 1 - VERDICT_TOLERANCE else "bounded"


def play(method: str, lr: float, steps: int, start: tuple[float, float] = (1.0, 1.0)) -> Trajectory:
    """`steps` updates of (x, y) by `method`, in float64. x descends f = x*y (df/dx = y); y ascends it
    (df/dy = x)."""
    x, y = start
    points = [(x, y)]
    previous = (y, x)  # OGDA's last gradient (df/dx, df/dy); the first step is a plain one
    for _ in range(steps):
        if method == "simultaneous":
            x, y = x - lr * y, y + lr * x
        elif method == "alternating":
            x = x - lr * y
            y = y + lr * x  # the new x
        elif method == "extragradient":
            look_x, look_y = x - lr * y, y + lr * x
            x, y = x - lr * look_y, y + lr * look_x
        elif method == "optimistic":
            grad = (y, x)
            x, y = x - lr * (2 * grad[0] - previous[0]), y + lr * (2 * grad[1] - previous[1])
            previous = grad
        else:
            raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
        points.append((x, y))
    return Trajectory(method, np.asarray(points, dtype=np.float64))


def simultaneous_growth(lr: float, steps: int) -> float:
    """The exact amplitude ratio of simultaneous steps: |1 + i*a|^steps."""
    return (1 + lr * lr) ** (steps / 2)


def alternating_band(lr: float, start: tuple[float, float]) -> tuple[float, float]:
    """The amplitude range of alternating steps: the conserved x^2 + y^2 - a*x*y = C is an ellipse
    whose squared radius lies between C / (1 + a/2) and C / (1 - a/2) (for a < 2)."""
    x, y = start
    conserved = x * x + y * y - lr * x * y
    return math.sqrt(conserved / (1 + lr / 2)), math.sqrt(conserved / (1 - lr / 2))


def play_all(lr: float, steps: int, start: tuple[float, float]) -> list[Trajectory]:
    return [play(method, lr, steps, start) for method in METHODS]


def describe(trajectories: list[Trajectory], lr: float) -> list[str]:
    """The printed finding: per method the amplitude at the start and the end, and the verdict."""
    lines = []
    for run in trajectories:
        first, last = run.amplitude[0], run.amplitude[-1]
        lines.append(f"{run.method:14s} amplitude {first:.4f} -> {last:.4g} (x{last / first:.4g})  {run.verdict}")
    steps = len(trajectories[0].points) - 1
    lines.append(f"theory: simultaneous x{simultaneous_growth(lr, steps):.4g} (sqrt(1+a^2) per step), alternating "
                 f"within [{', '.join(f'{r:.4f}' for r in alternating_band(lr, tuple(trajectories[0].points[0])))}], "
                 f"extragradient x{(1 - lr ** 2 + lr ** 4) ** (steps / 2):.4g}")
    return lines


def plot_xy_game(trajectories: list[Trajectory], lr: float, path) -> None:
    """One row per method: x, y and x*y over the steps (left), the (x, y) path (right)."""
    from sneakergan.viz.plots import _save, plt

    figure, axes = plt.subplots(len(trajectories), 2, figsize=(9, 2.3 * len(trajectories)),
                                gridspec_kw={"width_ratios": [2.6, 1]})
    for (over_time, plane), run in zip(axes, trajectories):
        x, y = run.points[:, 0], run.points[:, 1]
        over_time.plot(x, label="x (minimises x*y)", color="tab:blue")
        over_time.plot(y, label="y (maximises x*y)", color="tab:orange")
        over_time.plot(x * y, label="x*y", color="tab:green", linewidth=1)
        over_time.axhline(0, color="grey", linewidth=0.5)
        over_time.set_title(f"{run.method}: amplitude x{run.amplitude[-1] / run.amplitude[0]:.3g}, {run.verdict}",
                            fontsize=10)
        over_time.set_ylabel("value")
        over_time.grid(alpha=0.3)
        plane.plot(x, y, color="tab:purple", linewidth=0.8)
        plane.plot(*run.points[0], "o", color="black", markersize=4, label="start")
        plane.plot(0, 0, "*", color="red", markersize=8, label="equilibrium")
        plane.set_aspect("equal", adjustable="datalim")
        plane.set_xlabel("x")
        plane.set_ylabel("y")
        plane.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="upper left")
    axes[0][1].legend(fontsize=7, loc="upper left")
    axes[-1][0].set_xlabel(f"step (step size a = {lr:g})")
    figure.suptitle("min_x max_y x*y: gradient steps around the equilibrium (0, 0)")
    figure.tight_layout()
    _save(figure, path)
