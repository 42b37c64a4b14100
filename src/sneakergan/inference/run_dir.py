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
    RUN/run.lock               held (flock) by the process training in the folder, holds its pid

Training writes only these names (and io.atomic_path's hidden temporaries of them): `--replace`
deletes them and nothing else, and refuses a folder that holds anything more.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sneakergan.config import TrainConfig, load_config_json
from sneakergan.data.sources import printable
from sneakergan.errors import RunDirError, SneakerganError
from sneakergan.io import atomic_write_text, is_number, read_jsonl

LOCK_NAME = "run.lock"
# What training writes, by folder ("" the run folder itself): full-match patterns of file names.
_OWNED_FILES = {
    "": r"config\.json|metrics\.jsonl|d_histograms\.jsonl|loss_curve\.png|checkpoint(-best)?\.safetensors"
        r"|run\.lock",
    "samples": r"epoch_\d+\.png",
    "histograms": r"epoch_\d+\.png",
    "checkpoints": r"step_\d+\.safetensors",
}
# io.atomic_path's temporary of NAME: ".NAME." + 8 random characters + NAME's suffix.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]+)")


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
        """Raise unless `root` can become a new run folder (with `replace`: an old run folder may go,
        recognised by its content: a run config written by this tool and only the files training writes)."""
        path = Path(root)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} exists and is not a folder")
        if not path.is_dir() or not any(entry.name != LOCK_NAME for entry in path.iterdir()):
            return
        if not replace:
            raise RunDirError(f"{path} already holds files; continue it with {{resume}} {path}, "
                              "pick a new {out}, or pass {replace} to start over", names=("resume", "out", "replace"))
        run = RunDir(path)
        if not run.config.is_file():
            raise RunDirError(f"refusing to replace {path}: it is not a sneakergan run folder (no config.json)")
        try:
            run.read_config()
        except SneakerganError as exc:
            raise RunDirError(f"refusing to replace {path}: its config.json is not a sneakergan run config "
                              f"({exc})") from None
        foreign = run.foreign_files()
        if foreign:
            shown = ", ".join(printable(p.relative_to(path).as_posix()) for p in foreign[:3])
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise RunDirError(f"refusing to replace {path}: it holds files that training did not write "
                              f"({shown}{more}); move them away first, or pick a new {{out}}", names=("out",))

    def owned_files(self) -> list[Path]:
        """The files training wrote here (their temporaries included), deepest first; not the lock."""
        return [p for p in self._walk() if self._owns(p) and p.name != LOCK_NAME]

    def foreign_files(self) -> list[Path]:
        """Everything under the folder that training did not write (files, links, unknown folders)."""
        return [p for p in self._walk() if not self._owns(p)]

    def _walk(self) -> list[Path]:
        found = []
        for entry in sorted(self.root.iterdir()):
            if entry.is_dir() and not entry.is_symlink() and entry.name in _OWNED_FILES:
                found += sorted(entry.iterdir())
            found.append(entry)
        return found

    def _owns(self, path: Path) -> bool:
        folder = "" if path.parent == self.root else path.parent.name
        if folder == "" and path.name in _OWNED_FILES and path.is_dir() and not path.is_symlink():
            return True  # an owned subfolder: its content is judged file by file
        if not path.is_file() or path.is_symlink():
            return False
        temporary = _TEMPORARY.fullmatch(path.name)
        name = temporary["name"] if temporary else path.name
        return re.fullmatch(_OWNED_FILES[folder], name) is not None

    @classmethod
    def create(cls, root: str | Path, cfg: TrainConfig, replace: bool = False) -> "RunDir":
        """A new run folder holding `cfg`; with `replace` an old run's files go first (only those: see
        check_new). A process that trains in it holds `lock()` from before this call."""
        path = Path(root)
        cls.check_new(path, replace)
        run = cls(path)
        try:
            if path.is_dir():
                for owned in run.owned_files():
                    owned.rmdir() if owned.is_dir() else owned.unlink()
            path.mkdir(parents=True, exist_ok=True)
            (path / "samples").mkdir(exist_ok=True)
            (path / "histograms").mkdir(exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot create run folder {path}: {exc.strerror or exc}") from None
        run.write_config(cfg)
        return run

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one training process (made if missing): a second one is refused, naming
        the first. An advisory flock, which the kernel releases when its process ends, even by SIGKILL."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunDirError(f"cannot lock run folder {self.root}: {exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                raise RunDirError(f"{self.root} is in use by another sneakergan process (pid {holder}); wait for "
                                  "it to finish or stop it") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    @classmethod
    def open(cls, root: str | Path) -> "RunDir":
        run = cls(Path(root))
        if not run.config.is_file():
            raise RunDirError(f"{root} is not a sneakergan run folder (no config.json)")
        if not run.checkpoint.is_file():
            raise RunDirError(f"{root} has no checkpoint yet (checkpoint.safetensors is missing)")
        for path in (run.metrics, run.d_histograms, run.loss_curve, run.best_checkpoint):
            if path.exists() and not path.is_file():  # training would fail writing it, after the checks
                raise RunDirError(f"{path} is in the way: the run keeps a file there, not a folder; move it away")
        return run

    def read_config(self) -> TrainConfig:
        try:
            text = self.config.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{self.config} cannot be read ({exc})") from None
        return load_config_json(text, origin=str(self.config))

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
        """Delete the temporary files (io.atomic_path's .NAME.XXXX names) that a run killed mid-write left,
        never renamed: checkpoints, sample grids, histograms, logs alike."""
        stale = [p for p in self.owned_files() if p.is_file() and _TEMPORARY.fullmatch(p.name)]
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
        """On resume or rollback, drop log lines written after the checkpoint we continue from (and lines
        whose step or epoch is not a number: damaged ones)."""
        for path, key, limit in ((self.metrics, "step", step), (self.d_histograms, "epoch", epoch)):
            if path.exists():
                kept = [r for r in read_jsonl(path) if is_number(r.get(key, 0)) and r.get(key, 0) <= limit]
                atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"
