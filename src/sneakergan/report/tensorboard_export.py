"""A finished (or running) run's logs as TensorBoard event files, written after the fact.

`sneakergan report --run RUN --tensorboard LOGDIR` converts what the run folder holds (`train
--tensorboard LOGDIR` writes the scalars live instead): every numeric metrics.jsonl value as a
scalar at its step, the quick evaluations, the per-epoch sample grids as images and the D-output
histograms, at the step each epoch ended. Needs the optional `tensorboard` package (pip install
'sneakergan[tensorboard]').
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from sneakergan.io import is_number
from sneakergan.report.data import RunData
from sneakergan.viz.tensorboard import scalars_of, summary_writer_class

EVENT_FILES = "events.out.tfevents.*"


def export_tensorboard(run: RunData, logdir: Path) -> dict[str, int]:
    """Write the run's event file into `logdir` (replacing event files there); returns what it holds."""
    writer_class = summary_writer_class()
    logdir.mkdir(parents=True, exist_ok=True)
    counts = {"scalars": 0, "images": 0, "histograms": 0}
    # Written in a hidden folder, then renamed into place: a failed export leaves no half event file.
    with tempfile.TemporaryDirectory(dir=logdir, prefix=".sneakergan-export-") as staging:
        writer = writer_class(log_dir=staging)
        try:
            counts["scalars"] = _scalars(writer, run)
            counts["images"] = _images(writer, run)
            counts["histograms"] = _histograms(writer, run)
            rows = "".join(f"| {key} | {value} |\n" for key, value in sorted(run.config.items()))
            writer.add_text("config", "| field | value |\n|---|---|\n" + rows)
        finally:
            writer.close()
        for old in logdir.glob(EVENT_FILES):
            old.unlink()
        for path in Path(staging).iterdir():
            os.replace(path, logdir / path.name)
    return counts


def _scalars(writer, run: RunData) -> int:
    count = 0
    for record in run.training:
        for key, value in scalars_of(record).items():
            writer.add_scalar(f"train/{key}", value, record["step"])
            count += 1
    for record in run.evaluations:
        for key, value in record["eval"].items():
            if is_number(value):
                writer.add_scalar(f"eval/{key}", value, record["step"])
                count += 1
    return count


def _images(writer, run: RunData) -> int:
    count = 0
    for frame in run.samples:
        try:
            with Image.open(frame.path) as picture:
                pixels = np.asarray(picture.convert("RGB"))
        except OSError:
            continue  # an unreadable grid: the HTML report names it; here it is just left out
        writer.add_image("samples", pixels, _step(run, frame.epoch), dataformats="HWC")
        count += 1
    return count


def _histograms(writer, run: RunData) -> int:
    for hist in run.histograms:
        edges = np.asarray(hist["edges"], dtype=np.float64)
        centres = (edges[:-1] + edges[1:]) / 2
        for kind, name in (("real", "real"), ("fake", "generated")):
            counts = np.asarray(hist[kind], dtype=np.float64)
            # The log keeps bin counts only: sums use the bin centres (the mean is exact when it was logged).
            total = hist.get(f"{kind}_mean", float(centres @ counts / max(counts.sum(), 1))) * counts.sum()
            writer.add_histogram_raw(f"d_outputs/{name}", min=float(edges[0]), max=float(edges[-1]),
                                     num=int(counts.sum()), sum=float(total), sum_squares=float(centres**2 @ counts),
                                     bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(),
                                     global_step=_step(run, hist["epoch"]))
    return len(run.histograms)


def _step(run: RunData, epoch: int) -> int:
    """The step an epoch ended at, so images line up with the scalars (the epoch when no line says)."""
    step = run.step_of_epoch(epoch)
    return epoch if step is None else step
