"""PRD curves (Sajjadi et al. 2018) of several models on one figure (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sneakergan.io import atomic_path  # noqa: E402


def plot_prd_curves(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], path: str | Path) -> Path:
    """Write a PNG of PRD curves: recall on x, precision on y, one line per (label, precision, recall).

    Returns the path written. The file is replaced atomically, so a reader never sees half a PNG.
    """
    if not curves:
        raise ValueError("plot_prd_curves needs at least one (label, precision, recall) curve")
    figure, axes = plt.subplots(figsize=(5, 5))
    try:
        for label, precision, recall in curves:
            precision = np.asarray(precision, dtype=np.float64)
            recall = np.asarray(recall, dtype=np.float64)
            if precision.shape != recall.shape:
                raise ValueError(f"{label}: precision and recall differ in shape: {precision.shape} vs {recall.shape}")
            axes.plot(recall, precision, label=str(label), linewidth=1.5, alpha=0.9)
        # A small margin keeps curves that run along the axes (value 0 or 1) visible.
        axes.set_xlim(-0.01, 1.01)
        axes.set_ylim(-0.01, 1.01)
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.set_title("PRD curves")
        axes.set_aspect("equal")
        axes.grid(True, alpha=0.3)
        axes.legend(loc="lower left", fontsize="small")
        with atomic_path(path, suffix=".png") as tmp:
            figure.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    finally:
        plt.close(figure)
    return Path(path)
