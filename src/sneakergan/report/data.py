"""A run folder read for `sneakergan report`: everything in it is optional.

A report must render for any run folder (one still training, one copied without its figures, one from an
older version), so only a missing folder or config.json is an error here; every other file is read if it
is there, and the page says what is missing and which command would produce it.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sneakergan.errors import RunDirError
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import is_number, read_jsonl
from sneakergan.viz.plots import training_seconds_at_evaluations

EPOCH_FILE = re.compile(r"epoch_(\d+)\.png")


@dataclass(frozen=True)
class Frame:
    """One per-epoch figure: samples/epoch_0007.png or histograms/epoch_0007.png."""

    epoch: int
    path: Path


@dataclass(frozen=True)
class Report:
    """One JSON file of eval/: its content, or why it could not be used."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def beside(self, name: str | None) -> Path | None:
        """A file the report names as written beside it (only the name is used: never a path elsewhere)."""
        return self.path.parent / Path(name).name if name else None


@dataclass(frozen=True)
class RunData:
    root: Path
    config: dict[str, Any]
    training: list[dict[str, Any]]  # metrics.jsonl lines of training steps
    evaluations: list[dict[str, Any]]  # metrics.jsonl lines of the quick evaluations (--eval-every)
    rollbacks: list[dict[str, Any]]
    all_records: list[dict[str, Any]]  # every metrics.jsonl line in order (training time needs them all)
    histograms: list[dict[str, Any]]  # d_histograms.jsonl
    samples: list[Frame]
    histogram_images: list[Frame]
    eval_reports: list[Report]  # `sneakergan evaluate` reports
    sr_reports: list[Report]  # `sneakergan eval-sr` reports
    other_reports: list[Report]  # JSON in eval/ that is neither, or unreadable

    @property
    def name(self) -> str:
        return self.root.resolve().name

    @property
    def task(self) -> str:
        return str(self.config.get("task", "gan"))

    @property
    def steps_done(self) -> int | None:
        return max((r["step"] for r in self.all_records if isinstance(r.get("step"), int)), default=None)

    @property
    def epochs_done(self) -> int | None:
        epochs = [r["epoch"] for r in (*self.training, *self.histograms) if isinstance(r.get("epoch"), int)]
        return max(epochs, default=None)

    @property
    def training_seconds(self) -> float | None:
        """Summed from the logged intervals (steps x batch / img/s), so figures and evaluations are not in it:
        plots.training_seconds_at_evaluations with one closing evaluation line, so both always agree."""
        batch_size = self.config.get("batch_size")
        if not self.training or not isinstance(batch_size, int):
            return None
        closing = {"eval": {"end": 0.0}}
        return training_seconds_at_evaluations([*self.all_records, closing], batch_size)[-1][0]

    @property
    def median_images_per_second(self) -> float | None:
        rates = [r["img_per_s"] for r in self.training if r.get("img_per_s", 0) > 0]
        return statistics.median(rates) if rates else None

    def step_of_epoch(self, epoch: int) -> int | None:
        """The step at which an epoch ended (its figures were drawn then)."""
        steps = [r["step"] for r in (*self.histograms, *self.training) if r.get("epoch") == epoch and "step" in r]
        return max(steps, default=None)


def check_run_folder(root: Path) -> None:
    if not root.exists():
        raise RunDirError(f"{root} does not exist")
    if not root.is_dir():
        raise RunDirError(f"{root} is not a folder")
    if not (root / "config.json").is_file():
        raise RunDirError(f"{root} is not a sneakergan run folder (no config.json)")


def read_run(root: str | Path) -> RunData:
    run = RunDir(Path(root))
    check_run_folder(run.root)
    try:
        config = json.loads(run.config.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise RunDirError(f"{run.config} cannot be read: {exc}") from None
    if not isinstance(config, dict):
        raise RunDirError(f"{run.config} is not a sneakergan config (not a JSON object)")
    records = [r for r in read_jsonl(run.metrics) if _usable(r)]
    reports = [_read_report(path) for path in sorted((run.root / "eval").glob("*.json"))]
    return RunData(
        root=run.root, config=config, all_records=records,
        training=[r for r in records if "img_per_s" in r and "step" in r],
        evaluations=[r for r in records if "eval" in r],
        rollbacks=[r for r in records if "rollback" in r],
        histograms=[h for h in read_jsonl(run.d_histograms) if _is_histogram(h)],
        samples=_frames(run.root / "samples"),
        histogram_images=_frames(run.root / "histograms"),
        eval_reports=[r for r in reports if "fid" in r.data],
        sr_reports=[r for r in reports if "psnr_y" in r.data],
        other_reports=[r for r in reports if not ({"fid", "psnr_y"} & set(r.data))],
    )


def _frames(folder: Path) -> list[Frame]:
    found = [(EPOCH_FILE.fullmatch(path.name), path) for path in folder.glob("epoch_*.png")]
    return sorted((Frame(int(match[1]), path) for match, path in found if match and path.is_file()),
                  key=lambda frame: frame.epoch)


def _read_report(path: Path) -> Report:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return Report(path, error=f"cannot be read ({exc})")
    if not isinstance(data, dict) or not ({"fid", "psnr_y"} & set(data)):
        return Report(path, error="is not a report of `sneakergan evaluate` or `eval-sr`")
    return Report(path, data)


def _usable(line: Any) -> bool:
    """A metrics.jsonl line with the fields its kind needs (training time is summed over all of them)."""
    if not isinstance(line, dict):
        return False
    if "eval" in line:
        scores = line["eval"]
        return (isinstance(scores, dict) and isinstance(line.get("step"), int)
                and any(is_number(v) and not k.endswith("_seconds") for k, v in scores.items()))
    if "img_per_s" in line or "rollback" in line:
        return isinstance(line.get("step"), int) and is_number(line.get("img_per_s", 0))
    return True


def _is_histogram(line: dict[str, Any]) -> bool:
    edges, real, fake = line.get("edges"), line.get("real"), line.get("fake")
    return (isinstance(line.get("epoch"), int) and isinstance(edges, list) and isinstance(real, list)
            and isinstance(fake, list) and len(edges) == len(real) + 1 == len(fake) + 1)
