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
from sneakergan.train.gan_model import UnconditionalGAN, sample_noise
from sneakergan.train.progress import Progress
from sneakergan.train.run_dir import RunDir
from sneakergan.viz.grid import save_grid
from sneakergan.viz.plots import histogram_counts, plot_d_histogram, plot_loss_curves

log = logging.getLogger("sneakergan.train")

HISTOGRAM_IMAGES = 512  # images of each kind behind a D-output histogram


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
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.raised = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


Evaluator = Callable[[UnconditionalGAN], dict[str, float]]


class Trainer:
    def __init__(self, cfg: TrainConfig, run: RunDir, images: np.ndarray, progress: bool = True,
                 evaluator: Evaluator | None = None):
        """`images`: uint8 NHWC at cfg.image_size, held in memory for the whole run.

        `evaluator` (used every cfg.eval_every epochs) returns metrics whose first value is a
        lower-is-better score (an FID); the best checkpoint is kept beside the latest.
        """
        if images.shape[1:3] != (cfg.image_size, cfg.image_size):
            raise ConfigError(f"images are {images.shape[1]}x{images.shape[2]}, the model needs "
                              f"{cfg.image_size}x{cfg.image_size}")
        self.cfg = cfg
        self.run = run
        self.device = resolve_device(cfg.device)
        self.show_progress = progress
        self.evaluator = evaluator
        self.best_score: float | None = None
        torch.manual_seed(cfg.seed)  # model initialisation
        self.model = UnconditionalGAN(cfg, self.device)
        self.images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
        if self.device.type == "cuda":
            self.images = self.images.to(self.device)  # uint8 data fits on any GPU
        self.schedule = Schedule.for_config(cfg, len(images))
        self.step = 0
        self.noise = torch.Generator().manual_seed(cfg.seed + 1)
        fixed = torch.Generator().manual_seed(cfg.seed + 2)
        self.fixed_z = sample_noise(cfg.n_samples, cfg.z_dim, fixed, self.device)
        hist_count = min(HISTOGRAM_IMAGES, len(images))
        self.hist_z = sample_noise(hist_count, cfg.z_dim, fixed, self.device)
        self.hist_real_index = torch.randperm(len(images), generator=fixed)[:hist_count]

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
    def batch(self, order: torch.Tensor, index: int) -> torch.Tensor:
        size = self.schedule.batch_size
        rows = order[index * size:(index + 1) * size]
        return self.images[rows.to(self.images.device)].to(self.device).float().div_(127.5).sub_(1.0)

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
                        order, order_epoch = epoch_order(len(self.images), self.cfg.seed, epoch), epoch
                    metrics = self.model.train_step(self.batch(order, index), self.noise)
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
        records = [r for r in read_jsonl(self.run.metrics) if "d_loss" in r]
        if records:
            plot_loss_curves(records, self.run.loss_curve)
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
        """The design's per-epoch figures: a sample grid and the D-output histogram."""
        scale = max(1, 112 // self.cfg.image_size // 2)
        save_grid(self.model.generate(self.fixed_z), self.run.sample_grid(epoch), scale=scale)
        real = self.images[self.hist_real_index.to(self.images.device)].to(self.device).float() / 127.5 - 1
        fake = self.model.generate(self.hist_z)
        hist = histogram_counts(self.model.d_outputs(real).cpu().numpy(), self.model.d_outputs(fake).cpu().numpy(),
                                self.model.loss.d_output_range)
        append_jsonl(self.run.d_histograms, {"epoch": epoch, "step": self.step, **hist})
        plot_d_histogram(hist, f"{self.cfg.preset}: D outputs, epoch {epoch}", self.model.loss.d_output_label,
                         self.run.histogram_png(epoch))
