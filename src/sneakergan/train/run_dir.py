"""The run folder: one per training run, holding everything the run produced.

    RUN/config.json            resolved config
    RUN/metrics.jsonl          one JSON line per logged step
    RUN/d_histograms.jsonl     per epoch: D's outputs on real vs generated images, binned
    RUN/samples/epoch_0001.png sample grid from a fixed noise batch (stage 2: rows of
                               LR | bicubic | SR | HR for fixed LR inputs)
    RUN/histograms/epoch_0001.png
    RUN/loss_curve.png
    RUN/checkpoint.safetensors latest complete checkpoint
    RUN/checkpoint-best.safetensors  the checkpoint with the best quick FID (with --eval-every)
    RUN/checkpoints/step_00000500.safetensors  the latest epoch checkpoints (keep_checkpoints > 1)
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sneakergan.config import TrainConfig, load_config_json
from sneakergan.errors import RunDirError
from sneakergan.io import atomic_write_text, read_jsonl


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def d_histograms(self) -> Path:
        return self.root / "d_histograms.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.safetensors"

    @property
    def best_checkpoint(self) -> Path:
        return self.root / "checkpoint-best.safetensors"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def step_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:08d}.safetensors"

    def step_checkpoints(self) -> list[tuple[int, Path]]:
        """The kept epoch checkpoints as (step, path), oldest first."""
        found = [(re.fullmatch(r"step_(\d+)\.safetensors", p.name), p) for p in self.checkpoints.glob("step_*")]
        return sorted((int(match[1]), path) for match, path in found if match)

    @property
    def loss_curve(self) -> Path:
        return self.root / "loss_curve.png"

    def sample_grid(self, epoch: int) -> Path:
        return self.root / "samples" / f"epoch_{epoch:04d}.png"

    def histogram_png(self, epoch: int) -> Path:
        return self.root / "histograms" / f"epoch_{epoch:04d}.png"

    # --- lifecycle -------------------------------------------------------------------------
    @staticmethod
    def check_new(root: str | Path, replace: bool = False) -> None:
        """Raise unless `root` can become a new run folder (with `replace`: an old run folder may go)."""
        path = Path(root)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()):
            if not replace:
                raise RunDirError(f"{path} already holds files; continue it with --resume {path}, "
                                  "pick a new --out, or pass --replace to start over")
            if not (path / "config.json").is_file():
                raise RunDirError(f"refusing to replace {path}: it is not a sneakergan run folder "
                                  "(no config.json)")

    @classmethod
    def create(cls, root: str | Path, cfg: TrainConfig, replace: bool = False) -> "RunDir":
        path = Path(root)
        cls.check_new(path, replace)
        if path.is_dir() and any(path.iterdir()):
            shutil.rmtree(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / "samples").mkdir(exist_ok=True)
            (path / "histograms").mkdir(exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create run folder {path}: {exc.strerror}") from None
        run = cls(path)
        run.write_config(cfg)
        return run

    @classmethod
    def open(cls, root: str | Path) -> "RunDir":
        run = cls(Path(root))
        if not run.config.is_file():
            raise RunDirError(f"{root} is not a sneakergan run folder (no config.json)")
        if not run.checkpoint.is_file():
            raise RunDirError(f"{root} has no checkpoint yet (checkpoint.safetensors is missing)")
        return run

    def read_config(self) -> TrainConfig:
        return load_config_json(self.config.read_text(encoding="utf-8"), origin=str(self.config))

    def write_config(self, cfg: TrainConfig) -> None:
        atomic_write_text(self.config, cfg.to_json())

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the `keep` newest step checkpoints (called once the newest is written)."""
        kept = self.step_checkpoints()
        for _, path in kept[:max(len(kept) - keep, 0)]:
            path.unlink(missing_ok=True)

    def drop_checkpoints_after(self, step: int) -> None:
        """On resume or rollback, step checkpoints newer than the one we continue from belong to a
        trajectory that is being replaced (a kill between writing one and checkpoint.safetensors)."""
        for saved, path in self.step_checkpoints():
            if saved > step:
                path.unlink(missing_ok=True)

    def remove_temporaries(self) -> list[Path]:
        """Delete the temporary checkpoint files (io.atomic_path's .NAME.XXXX names) that a run killed
        mid-write left, never renamed: checkpoint-sized, they would eat the next checkpoint's room."""
        stale = [*self.root.glob(".checkpoint*.safetensors.*"), *self.checkpoints.glob(".step_*.safetensors.*")]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def check_room(self, needed: int, what: str) -> None:
        """Fail before training rather than at a checkpoint: the folder must take new files and have
        `needed` bytes free (`what` says what they are for)."""
        try:
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as exc:
            raise RunDirError(f"cannot write to run folder {self.root}: {exc.strerror or exc}") from None
        free = shutil.disk_usage(self.root).free
        if free < needed:
            raise RunDirError(f"{self.root} has {_megabytes(free)} free, but training needs about "
                              f"{_megabytes(needed)} for {what}; free some space or choose another --out")

    def truncate_logs(self, step: int, epoch: int) -> None:
        """On resume or rollback, drop log lines written after the checkpoint we continue from."""
        for path, key, limit in ((self.metrics, "step", step), (self.d_histograms, "epoch", epoch)):
            if path.exists():
                kept = [r for r in read_jsonl(path) if r.get(key, 0) <= limit]
                atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"
