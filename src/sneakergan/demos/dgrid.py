"""How D's separation of real and generated images evolves over a run: every epoch's D-output histogram
(the run's d_histograms.jsonl, written by the trainer) on one figure, with two numbers per epoch.

- overlap: the shared area of the two normalised histograms, sum over bins of min(p_real, p_fake);
  1 when D gives real and generated images the same outputs, 0 when it tells them apart perfectly.
  Each epoch's histograms share their bins, so the overlap is exact up to the binning.
- gap: mean D output on real minus on generated images (in D's output units, see the axis label).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sneakergan.errors import RunDirError

RIDGES = 12  # epochs drawn as ridges at most (the curves on the right show every epoch)


@dataclass(frozen=True)
class Separation:
    epoch: int
    overlap: float
    gap: float  # real_mean - fake_mean
    real_mean: float
    fake_mean: float


def read_histograms(run_dir: str | Path) -> list[dict]:
    """The run's per-epoch histograms in epoch order (a later line for the same epoch wins: a resumed
    run rewrites its epochs). A missing or empty file is a one-line RunDirError."""
    root = Path(run_dir)
    if not root.is_dir():
        raise RunDirError(f"{root} is not a folder")
    path = root / "d_histograms.jsonl"
    if not path.is_file():
        raise RunDirError(f"{root} has no d_histograms.jsonl (training writes one line per epoch)")
    by_epoch = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
            edges, real, fake = record["edges"], record["real"], record["fake"]
            epoch = int(record["epoch"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a line cut short by a crash, or not a histogram
        if len(edges) == len(real) + 1 == len(fake) + 1 and sum(real) > 0 and sum(fake) > 0:
            by_epoch[epoch] = record
    if not by_epoch:
        raise RunDirError(f"{path} holds no complete histogram line")
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def separation(record: dict) -> Separation:
    real = np.asarray(record["real"], np.float64)
    fake = np.asarray(record["fake"], np.float64)
    overlap = float(np.minimum(real / real.sum(), fake / fake.sum()).sum())
    real_mean, fake_mean = _mean(record, "real"), _mean(record, "fake")
    return Separation(int(record["epoch"]), overlap, real_mean - fake_mean, real_mean, fake_mean)


def _mean(record: dict, kind: str) -> float:
    """The logged exact mean, else the histogram's (bin centres weighted by counts)."""
    if f"{kind}_mean" in record:
        return float(record[f"{kind}_mean"])
    edges = np.asarray(record["edges"], np.float64)
    counts = np.asarray(record[kind], np.float64)
    return float(((edges[:-1] + edges[1:]) / 2 * counts).sum() / counts.sum())


def spread(count: int, limit: int) -> list[int]:
    """Up to `limit` indices spread evenly over range(count), the first and the last included."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def describe(separations: list[Separation], limit: int = 10) -> list[str]:
    """The printed finding: overlap and gap for a few epochs, then the trend."""
    lines = ["epoch  overlap  real-fake gap"]
    lines += [f"{separations[i].epoch:5d}  {separations[i].overlap:7.3f}  {separations[i].gap:+.4f}"
              for i in spread(len(separations), limit)]
    first, last = separations[0], separations[-1]
    lowest = min(separations, key=lambda s: s.overlap)
    tail = separations[-max(1, len(separations) // 4):]  # the last quarter: steadier than the last epoch alone
    lines.append(f"overlap {first.overlap:.3f} (epoch {first.epoch}) -> {last.overlap:.3f} (epoch {last.epoch}), "
                 f"lowest {lowest.overlap:.3f} at epoch {lowest.epoch}; gap {first.gap:+.4f} -> {last.gap:+.4f}")
    span = f"epoch {last.epoch}" if len(tail) == 1 else f"epochs {tail[0].epoch}-{last.epoch}"
    lines.append(f"{span}: mean overlap {np.mean([s.overlap for s in tail]):.3f}, "
                 f"mean gap {np.mean([s.gap for s in tail]):+.4f}")
    return lines


def plot_dgrid(records: list[dict], separations: list[Separation], title: str, xlabel: str, path) -> None:
    """Left: one ridge per drawn epoch (real blue, generated orange, each scaled to its tallest bin).
    Right: overlap and gap over all epochs."""
    from sneakergan.viz.plots import _save, plt

    figure, (ridges, curves) = plt.subplots(1, 2, figsize=(11, 6), gridspec_kw={"width_ratios": [1.4, 1]})
    drawn = spread(len(records), RIDGES)
    for row, index in enumerate(drawn):
        record = records[index]
        edges = np.asarray(record["edges"], np.float64)
        real = np.asarray(record["real"], np.float64)
        fake = np.asarray(record["fake"], np.float64)
        height = 0.9 / max((real / real.sum()).max(), (fake / fake.sum()).max())
        for counts, colour in ((real, "tab:blue"), (fake, "tab:orange")):
            ridges.stairs(row + counts / counts.sum() * height, edges, baseline=row, fill=True, alpha=0.5,
                          color=colour)
    ridges.set_yticks(range(len(drawn)), [f"epoch {records[i]['epoch']}" for i in drawn])
    ridges.set_xlabel(xlabel)
    ridges.set_title("D outputs: real (blue) vs generated (orange)")
    ridges.grid(axis="x", alpha=0.3)
    epochs = [s.epoch for s in separations]
    curves.plot(epochs, [s.overlap for s in separations], color="tab:green", label="overlap")
    curves.set_ylim(0, 1.05)
    curves.set_xlabel("epoch")
    curves.set_ylabel("overlap of the histograms", color="tab:green")
    gap_axis = curves.twinx()
    gap_axis.plot(epochs, [s.gap for s in separations], color="tab:red", label="real - fake mean")
    gap_axis.axhline(0, color="grey", linewidth=0.5)
    gap_axis.set_ylabel("mean D output: real - generated", color="tab:red")
    curves.set_title("separation per epoch")
    curves.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)


def run_labels(run_dir: str | Path) -> tuple[str, str]:
    """(figure title, x-axis label) from the run's config.json, with plain fallbacks."""
    root = Path(run_dir)
    try:
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        from sneakergan.losses import get_loss

        name = config["preset"] if config["preset"] == root.name else f"{config['preset']} ({root.name})"
        return f"{name}: D's separation over training", get_loss(config["loss"]).d_output_label
    except Exception:  # no or an unreadable config: the figure is still worth drawing
        return f"{root.name}: D's separation over training", "D output"
