"""Training figures: the D-output histogram per epoch and the loss curves (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from sneakergan.io import atomic_path, is_number  # noqa: E402


def _save(figure: plt.Figure, path: str | Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(figure)


def histogram_counts(real: np.ndarray, fake: np.ndarray, value_range: tuple[float, float] | None,
                     bins: int = 40) -> dict[str, Any]:
    """Shared bins for D's outputs on real and generated images (what the figure and the log hold)."""
    if value_range is None:
        both = np.concatenate([real, fake])
        low, high = float(both.min()), float(both.max())
        value_range = (low, high if high > low else low + 1.0)
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    return {
        "edges": edges.tolist(),
        "real": np.histogram(np.clip(real, *value_range), edges)[0].tolist(),
        "fake": np.histogram(np.clip(fake, *value_range), edges)[0].tolist(),
        "real_mean": float(real.mean()),
        "fake_mean": float(fake.mean()),
    }


def plot_d_histogram(hist: dict[str, Any], title: str, xlabel: str, path: str | Path) -> None:
    """The design's "distribution of the discriminator's guesses": real vs generated, overlaid."""
    edges = np.asarray(hist["edges"])
    widths = np.diff(edges)
    figure, axis = plt.subplots(figsize=(5, 3.2))
    axis.bar(edges[:-1], hist["real"], widths, align="edge", alpha=0.55, color="tab:blue",
             label=f"real (mean {hist['real_mean']:.3f})")
    axis.bar(edges[:-1], hist["fake"], widths, align="edge", alpha=0.55, color="tab:orange",
             label=f"generated (mean {hist['fake_mean']:.3f})")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("images")
    axis.set_title(title)
    axis.legend(loc="upper center", fontsize=8)
    _save(figure, path)


def plot_loss_curves(records: Sequence[dict[str, Any]], path: str | Path,
                     series: Sequence[str] = ("d_loss", "g_loss"),
                     secondary: Sequence[str] = ("d_real", "d_fake")) -> None:
    """Losses (left) and D's mean output on real/generated batches (right) against the step."""
    records = [r for r in records if is_number(r.get("step"))]  # a damaged log line has no place
    steps = [r["step"] for r in records]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name in series:
        left.plot(steps, [_value(r, name) for r in records], label=name)
    for name in secondary:
        right.plot(steps, [_value(r, name) for r in records], label=name)
    left.set_title("losses")
    right.set_title("mean D output")
    for axis in (left, right):
        axis.set_xlabel("step")
        axis.legend()
        axis.grid(alpha=0.3)
    _save(figure, path)


def _value(record: dict[str, Any], name: str) -> float:
    """A logged value to plot; NaN (a gap) where it is missing or not a number."""
    value = record.get(name)
    return float(value) if is_number(value) else np.nan


def score_name(results: dict[str, float]) -> str:
    """The score among an evaluation's logged values (metrics.jsonl sorts keys, so not simply the
    first): the FID, else the first value that is not a timing."""
    names = [name for name in results if not name.endswith("_seconds")]
    return next((name for name in names if name.startswith("fid")), names[0])


def training_seconds_at_evaluations(records: Sequence[dict[str, Any]], batch_size: int) -> list[tuple[float, float]]:
    """(training seconds, score) at each evaluation line of a run's metrics.jsonl. Training time is
    summed from the logged intervals (steps x batch / img/s), so evaluations and figures are not in it."""
    points, seconds, last_step = [], 0.0, 0
    for record in records:
        if "img_per_s" in record and record["img_per_s"] > 0:
            seconds += (record["step"] - last_step) * batch_size / record["img_per_s"]
            last_step = record["step"]
        elif "eval" in record:
            points.append((seconds, record["eval"][score_name(record["eval"])]))
        elif "rollback" in record:
            last_step = record["step"]
    return points


def plot_score_over_time(curves: Sequence[tuple[str, Sequence[tuple[float, float]]]], path: str | Path,
                         ylabel: str = "FID") -> None:
    """Several runs' evaluation scores against training wall-clock minutes, on one plot."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, points in curves:
        if points:
            minutes, scores = zip(*[(seconds / 60, score) for seconds, score in points])
            axis.plot(minutes, scores, marker="o", label=label)
    axis.set_xlabel("training time (minutes)")
    axis.set_ylabel(ylabel)
    # Log scale: runs far apart (a 112x112 run's early FIDs in the hundreds beside 28x28 ones in the
    # tens) stay readable, and equal ratios look equal; plain numbers on the ticks.
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(ScalarFormatter())
    axis.yaxis.set_minor_formatter(ScalarFormatter())
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    _save(figure, path)
