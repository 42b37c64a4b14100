"""The training loop: data order, logging, per-epoch figures, checkpoints, resume, interruption."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError
from sneakergan.io import append_jsonl, atomic_write_bytes, read_jsonl
from sneakergan.train.checkpoint import load_checkpoint, save_checkpoint
from sneakergan.train.figures import to_unit_range
from sneakergan.train.precision import autocast, resolve_precision
from sneakergan.train.progress import Progress
from sneakergan.train.run_dir import RunDir
from sneakergan.train.tasks import get_task
from sneakergan.viz.plots import plot_loss_curves

log = logging.getLogger("sneakergan.train")


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved at `step`."""

    def __init__(self, step: int):
        super().__init__(step)
        self.step = step


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but no CUDA GPU is available")
    return torch.device(name)


def epoch_order(count: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of an epoch depends only on (seed, epoch): resume needs no sampler state."""
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


@dataclass(frozen=True)
class Schedule:
    batch_size: int
    steps_per_epoch: int
    total_steps: int

    @classmethod
    def for_config(cls, cfg: TrainConfig, count: int) -> "Schedule":
        batch = min(cfg.batch_size, count)
        per_epoch = count // batch  # the last partial batch is dropped, as BN models prefer
        total = cfg.epochs * per_epoch
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        return cls(batch, per_epoch, total)


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a checkpoint is consistent."""

    def __init__(self) -> None:
        self.raised: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # e.g. SIGINT in a background job: the user asked not to be interrupted
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.raised = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


Evaluator = Callable[[Any], dict[str, float]]


class Trainer:
    def __init__(self, cfg: TrainConfig, run: RunDir, data: np.ndarray | dict[str, np.ndarray],
                 progress: bool = True, evaluator: Evaluator | None = None):
        """`data`: uint8 NHWC arrays by batch key, as the task wants them ({"image": 28x28} for
        "gan", {"lr": 28x28, "hr": 112x112} for "sr"), held in memory for the whole run; a bare
        array is stage 1's {"image": array}.

        `evaluator` (used every cfg.eval_every epochs) returns metrics whose first value is a
        lower-is-better score (an FID); the best checkpoint is kept beside the latest.
        """
        self.task = get_task(cfg.task)
        if isinstance(data, np.ndarray):
            data = {"image": data}
        _check_data(data, self.task.data_sizes(cfg))
        self.cfg = cfg
        self.run = run
        self.device = resolve_device(cfg.device)
        self.autocast_dtype = resolve_precision(cfg.precision, self.device)
        self.show_progress = progress
        self.evaluator = evaluator
        self.best_score: float | None = None
        torch.manual_seed(cfg.seed)  # model initialisation
        self.model = self.task.model(cfg, self.device)
        if cfg.compile:  # in place: parameter names and checkpoints stay those of the plain modules
            self.model.generator.compile()
            self.model.discriminator.compile()
        self.data = {key: torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
                     for key, images in data.items()}
        if self.device.type == "cuda":
            self.data = {key: images.to(self.device) for key, images in self.data.items()}  # uint8 fits
        self.count = len(next(iter(data.values())))
        self.schedule = Schedule.for_config(cfg, self.count)
        self.step = 0
        self.noise = torch.Generator().manual_seed(cfg.seed + 1)
        # The figures draw their fixed inputs (noise, chosen images) from their own seeded generator.
        self.figures = self.task.figures(cfg, self.model, self.data, torch.Generator().manual_seed(cfg.seed + 2))

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "noise": self.noise.get_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {"step": self.step, "config": self.cfg.to_json(), "model": self.model.state_dict(), "rng": rng,
                "best_score": self.best_score}

    def resume(self) -> None:
        state = load_checkpoint(self.run.checkpoint)
        self.model.load_state_dict(state["model"])
        self.step = int(state["step"])
        self.best_score = state.get("best_score")
        torch.set_rng_state(state["rng"]["torch"])
        self.noise.set_state(state["rng"]["noise"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.run.truncate_logs(self.step, self.step // self.schedule.steps_per_epoch)
        log.info("resumed %s at step %d (epoch %d)", self.run.root, self.step,
                 self.step // self.schedule.steps_per_epoch)

    def save_checkpoint(self) -> None:
        save_checkpoint(self.run.checkpoint, self.state_dict())

    # --- loop ----------------------------------------------------------------------------
    def batch(self, order: torch.Tensor, index: int) -> dict[str, torch.Tensor]:
        """Rows `index` of the epoch order from every data key, as floats in [-1, 1]."""
        size = self.schedule.batch_size
        rows = order[index * size:(index + 1) * size]
        return {key: to_unit_range(images[rows.to(images.device)], self.device) for key, images in self.data.items()}

    def fit(self) -> dict[str, Any]:
        sched = self.schedule
        progress = Progress(sched.total_steps, self.step, enabled=self.show_progress)
        sums: dict[str, torch.Tensor] = {}
        logged_steps, interval_start = 0, time.perf_counter()
        order, order_epoch = None, -1
        try:
            with _StopFlag() as stop:
                while self.step < sched.total_steps:
                    epoch, index = divmod(self.step, sched.steps_per_epoch)
                    if epoch != order_epoch:
                        order, order_epoch = epoch_order(self.count, self.cfg.seed, epoch), epoch
                    with autocast(self.device, self.autocast_dtype):
                        metrics = self.model.train_step(self.batch(order, index), self.noise, epoch)
                    for key, value in metrics.items():
                        sums[key] = sums.get(key, 0) + value
                    logged_steps += 1
                    self.step += 1
                    epoch_done = self.step % sched.steps_per_epoch == 0 or self.step == sched.total_steps
                    if self.step % self.cfg.log_every == 0 or epoch_done:
                        elapsed = time.perf_counter() - interval_start
                        record = {"step": self.step, "epoch": epoch + 1,
                                  **{k: float(v) / logged_steps for k, v in sums.items()},
                                  "img_per_s": logged_steps * sched.batch_size / max(elapsed, 1e-9)}
                        append_jsonl(self.run.metrics, record)
                        progress.update(self.step, record)
                        sums, logged_steps, interval_start = {}, 0, time.perf_counter()
                    if epoch_done:
                        self.end_of_epoch(epoch + 1)
                        interval_start = time.perf_counter()  # img/s measures training only
                    if stop.raised is not None:
                        self.save_checkpoint()
                        raise TrainingInterrupted(self.step)
        finally:
            progress.close()
        records = [r for r in read_jsonl(self.run.metrics) if "img_per_s" in r]  # training lines, not eval
        if records:
            plot_loss_curves(records, self.run.loss_curve, *self.task.curves)
        return records[-1] if records else {}

    def end_of_epoch(self, epoch: int) -> None:
        last = self.step == self.schedule.total_steps
        if epoch % self.cfg.sample_every == 0 or last:
            self.write_figures(epoch)
        improved = False
        if self.evaluator is not None and self.cfg.eval_every and (epoch % self.cfg.eval_every == 0 or last):
            improved = self.evaluate(epoch)
        if epoch % self.cfg.checkpoint_every == 0 or last or improved:
            self.save_checkpoint()
        if improved:
            atomic_write_bytes(self.run.best_checkpoint, self.run.checkpoint.read_bytes())

    def evaluate(self, epoch: int) -> bool:
        """Log the evaluator's metrics; True when its score beats the best so far."""
        results = self.evaluator(self.model)
        score = next(iter(results.values()))
        improved = self.best_score is None or score < self.best_score
        if improved:
            self.best_score = score
        append_jsonl(self.run.metrics, {"step": self.step, "epoch": epoch, "eval": results, "best": improved})
        log.info("epoch %d evaluation: %s%s", epoch, ", ".join(f"{k} {v:.3f}" for k, v in results.items()),
                 " (best so far)" if improved else "")
        return improved

    def write_figures(self, epoch: int) -> None:
        """The design's per-epoch figures: samples and the D-output histogram (the task's kind)."""
        self.figures.write(self.run, epoch, self.step)


def _check_data(data: dict[str, np.ndarray], sizes: dict[str, int]) -> None:
    if set(data) != set(sizes):
        raise ConfigError(f"this task trains on {', '.join(sorted(sizes))}, got {', '.join(sorted(data))}")
    for key, size in sizes.items():
        if data[key].shape[1:3] != (size, size):
            raise ConfigError(f"{key} images are {data[key].shape[1]}x{data[key].shape[2]}, the model needs "
                              f"{size}x{size}")
    if len({len(images) for images in data.values()}) != 1:
        raise ConfigError("every data key needs the same number of images")
