"""The figures `sneakergan report` draws fresh from a run's logs, as PNG bytes to embed.

matplotlib's Figure is used without pyplot: no global figure registry and no backend to select, so
drawing a report never touches a display or the state of another caller's plots.
"""

from __future__ import annotations

import io
import math
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

MAX_OVERLAID_EPOCHS = 6  # more curves on one histogram axis stop being readable
SMOOTH_ABOVE = 200  # logged intervals beyond which the noisy raw curves get a moving average drawn over them


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _series(records: Sequence[dict[str, Any]], name: str) -> list[float]:
    values = [record.get(name) for record in records]
    return [float(v) if isinstance(v, (int, float)) else math.nan for v in values]


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Centred mean over `window` points that skips NaNs (a gap stays a gap where all points are NaN)."""
    data = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(data)
    kernel = np.ones(window)
    sums = np.convolve(np.where(present, data, 0.0), kernel, mode="same")
    counts = np.convolve(present.astype(np.float64), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def training_curves(records: Sequence[dict[str, Any]], losses: Sequence[str], d_outputs: Sequence[str]) -> bytes:
    """Losses (left) and D's mean outputs on real and generated batches (right) against the step; a
    series absent from some lines (SR pre-training has no D) leaves a gap there."""
    steps = [record["step"] for record in records]
    panels = [(title, names) for title, names in (("losses", losses), ("mean D output", d_outputs)) if names]
    figure = Figure(figsize=(5 * len(panels), 3.5))
    for axis, (title, names) in zip(np.atleast_1d(figure.subplots(1, len(panels))), panels):
        for name in names:
            values = _series(records, name)
            if len(values) <= SMOOTH_ABOVE:
                axis.plot(steps, values, label=name, linewidth=1)
                continue
            line, = axis.plot(steps, values, linewidth=0.6, alpha=0.3)
            axis.plot(steps, moving_average(values, len(values) // 50), color=line.get_color(), linewidth=1.4,
                      label=f"{name} (moving average)")
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    return _png(figure)


def score_curve(points: Sequence[tuple[float, float]], xlabel: str, ylabel: str) -> bytes:
    figure = Figure(figsize=(6, 3.5))
    axis = figure.subplots()
    xs, ys = zip(*points)
    axis.plot(xs, ys, marker="o")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    return _png(figure)


def overlaid_epochs(count: int, most: int = MAX_OVERLAID_EPOCHS) -> list[int]:
    """Indices of up to `most` lines spread evenly from the first to the last."""
    return sorted({round(i) for i in np.linspace(0, count - 1, min(count, most))})


def histogram_overlay(histograms: Sequence[dict[str, Any]], xlabel: str) -> bytes:
    """D's outputs on real (left) and generated (right) images at a few epochs, as step outlines coloured
    from early (dark) to late (light): how the two distributions separate or merge during training."""
    chosen = [histograms[i] for i in overlaid_epochs(len(histograms))]
    figure = Figure(figsize=(10, 3.5))
    axes = figure.subplots(1, 2, sharex=True)
    colours = _colours(len(chosen))
    for axis, kind, title in ((axes[0], "real", "real images"), (axes[1], "fake", "generated images")):
        for hist, colour in zip(chosen, colours):
            axis.stairs(hist[kind], hist["edges"], color=colour, linewidth=1.3, label=f"epoch {hist['epoch']}")
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("images")
    axes[1].legend(fontsize=8)
    return _png(figure)


def _colours(count: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.85, count)]
