"""The training loop: batches in each epoch's order, logging, per-epoch figures, checkpoints,
resume, interruption, and rollback when a run keeps producing non-finite losses (the policy is
train/nonfinite.py's, the schedule and signal handling train/schedule.py's).

Under torchrun every rank runs this loop on its share of each global batch (train/distributed.py);
rank 0 alone writes the run folder, and the ranks agree on every branch (skips, stops, rollbacks,
evaluation results), so they always call the same collectives in the same order."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
from typing import Any, Callable, Iterator

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import RunDirError, one_line
from sneakergan.inference.checkpoint import checkpoint_bytes, load_checkpoint
from sneakergan.inference.device import autocast, resolve_device, resolve_precision
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import append_jsonl, atomic_write_bytes, read_jsonl
from sneakergan.train.batches import TrainingSet
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.nonfinite import MAX_ROLLBACKS, NonFiniteSteps, format_rates
from sneakergan.train.progress import LogInterval, Progress
from sneakergan.train.schedule import Schedule, StopFlag, epoch_order
from sneakergan.train.tasks import task_for
from sneakergan.viz.plots import plot_loss_curves

log = logging.getLogger("sneakergan.train")

_CHECKPOINT_OVERHEAD = 1 << 16  # bytes beyond the model's tensors: RNG states, the JSON skeleton


@contextlib.contextmanager
def _fitting(origin: str) -> Iterator[None]:
    """Turn a checkpoint that does not fit the networks (a reshaped tensor, a missing key, another
    architecture) into one line naming it (`origin` may name the init_from parameter as {init_from})."""
    try:
        yield
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise RunDirError(f"{origin} does not fit this run's networks and config ({one_line(exc)})",
                          names=("init_from",)) from None


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved at `step`."""

    def __init__(self, step: int):
        super().__init__(step)
        self.step = step


Evaluator = Callable[[Any], dict[str, float]]


class Trainer:
    def __init__(self, cfg: TrainConfig, run: RunDir, data: np.ndarray | dict[str, np.ndarray],
                 progress: bool = True, evaluator: Evaluator | None = None, dist: Distributed = SINGLE_PROCESS,
                 listeners: tuple = ()):
        """`data`: uint8 NHWC arrays by batch key, held in memory for the whole run (see `TrainingSet`);
        a bare array is stage 1's {"image": array}.

        `evaluator` (used every cfg.eval_every epochs) returns metrics whose first value is a
        lower-is-better score (an FID); the best checkpoint is kept beside the latest.

        `dist`: this process's place among torchrun's (every rank gets the whole data set; rank 0
        alone writes to `run`, shows progress and uses `evaluator`).

        `listeners`: objects whose `record(line)` gets each metrics line rank 0 logs, closed at the end
        (train/live_tensorboard.py).
        """
        self.task = task_for(cfg)
        if isinstance(data, np.ndarray):
            data = {"image": data}
        self.cfg = cfg
        self.run = run
        self.dist = dist
        self.device = dist.device_for(resolve_device(cfg.device))
        self.training_set = TrainingSet(data, self.task.data_sizes(cfg), self.task.label_key, cfg, self.device)
        self.count = self.training_set.count
        self.autocast_dtype = resolve_precision(cfg.precision, self.device)
        self.show_progress = progress and dist.is_main
        self.evaluator = evaluator if dist.is_main else None
        self.listeners = listeners if dist.is_main else ()
        self.best_score: float | None = None
        torch.manual_seed(cfg.seed)  # model initialisation, the same on every rank
        self.model = self.task.model(cfg, self.device, dist)
        if cfg.compile:  # in place: parameter names and checkpoints stay those of the plain modules
            self.model.generator.compile()
            self.model.discriminator.compile()
        self.schedule = Schedule.for_config(cfg, self.count, dist.world_size)
        self.step = 0
        self.nonfinite = NonFiniteSteps()
        self.noise = torch.Generator().manual_seed(cfg.seed + 1)
        # The figures draw their fixed inputs (noise, chosen images) from their own seeded generator.
        self.figures = self.task.figures(cfg, self.model, self.training_set.tensors,
                                         torch.Generator().manual_seed(cfg.seed + 2))

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "noise": self.noise.get_state()}
        if torch.cuda.is_available():
            # Under torchrun rank 0 saves its own GPU's stream only (as device 0's): reading every GPU's
            # would open a CUDA context on each of them from this one process.
            rng["cuda"] = ([torch.cuda.get_rng_state(self.device)] if self.dist.enabled and self.device.type == "cuda"
                           else torch.cuda.get_rng_state_all())
        return {"step": self.step, "config": self.cfg.to_json(), "model": self.model.state_dict(), "rng": rng,
                "best_score": self.best_score, "nonfinite": dataclasses.asdict(self.nonfinite)}

    def resume(self) -> None:
        """Continue from the run's checkpoint: a RunDirError, before anything is written, when it cannot
        be read or does not fit the run's config."""
        self.restore(load_checkpoint(self.run.checkpoint), f"checkpoint {self.run.checkpoint}")
        if self.dist.is_main:
            self.rewind_run_dir()
        log.info("resumed %s at step %d (epoch %d)", self.run.root, self.step,
                 self.step // self.schedule.steps_per_epoch)

    def restore(self, state: dict[str, Any], origin: str) -> None:
        """Model, optimizers, step, RNG states, best score and non-finite counters from a checkpoint
        (resume, rollback); `origin` names it in the error when it does not fit."""
        with _fitting(origin):
            self.model.load_state_dict(state["model"])
            self.step = int(state["step"])
            self.best_score = state.get("best_score")
            torch.set_rng_state(state["rng"]["torch"])
            self.noise.set_state(state["rng"]["noise"])
            if "cuda" in state["rng"] and torch.cuda.is_available():
                if self.dist.enabled and self.device.type == "cuda":  # every rank continues device 0's stream
                    torch.cuda.set_rng_state(state["rng"]["cuda"][0], self.device)
                else:
                    torch.cuda.set_rng_state_all(state["rng"]["cuda"])
            self.nonfinite = NonFiniteSteps(**state.get("nonfinite", {}))  # the optimizers hold the lowered rates

    def start_from(self, weights: dict[str, Any], origin: str) -> None:
        """G's and D's weights (and G's EMA) of another run, with fresh optimizers (`init_from`)."""
        with _fitting(origin):
            self.model.load_weights(weights)

    def rewind_run_dir(self) -> None:
        """Drop what the run folder holds from after the current step: log lines, kept checkpoints."""
        self.run.truncate_logs(self.step, self.step // self.schedule.steps_per_epoch)
        self.run.drop_checkpoints_after(self.step)

    def save_checkpoint(self, keep: bool = False) -> None:
        """Write checkpoint.safetensors. `keep` (an epoch's checkpoint) with keep_checkpoints N > 1
        first writes it as checkpoints/step_*.safetensors too, and only then deletes all but the N
        newest of those. Each write is atomic: a failed one leaves the previous file intact. Under
        torchrun rank 0 writes it while the other ranks wait (they read it on a rollback)."""
        if not self.dist.is_main:
            self.dist.barrier()
            return
        data = checkpoint_bytes(self.state_dict())
        kept = self.cfg.keep_checkpoints if keep and self.cfg.keep_checkpoints > 1 else 0
        try:
            if kept:
                atomic_write_bytes(self.run.step_checkpoint(self.step), data)
            atomic_write_bytes(self.run.checkpoint, data)
        except OSError as exc:
            raise self.write_error(exc) from None
        if keep:
            self.run.prune_checkpoints(kept)
        self.dist.barrier()

    def write_error(self, exc: OSError) -> RunDirError:
        return RunDirError(f"could not write to {self.run.root} at step {self.step} ({exc.strerror or exc}); "
                           "the checkpoints written before are intact: free some space, then continue with "
                           f"`sneakergan {self.task.command} --resume {self.run.root}`")

    def prepare_run_dir(self) -> None:
        """Before the first step: clear a killed run's half-written checkpoints, make sure the folder
        takes files and has room for the checkpoints to come, and write one at step 0 if there is
        none yet (from the first step on, a kill can be resumed and a rollback has a target)."""
        first = False
        if self.dist.is_main:
            stale = self.run.remove_temporaries()
            if stale:
                log.info("removed %d half-written checkpoint file(s) of an interrupted run", len(stale))
            size = self.model.checkpoint_bytes() + _CHECKPOINT_OVERHEAD
            copies = 3 + (self.cfg.keep_checkpoints if self.cfg.keep_checkpoints > 1 else 0)
            kept = f", {self.cfg.keep_checkpoints} kept ones" if copies > 3 else ""
            self.run.check_room(size * copies, f"{copies} checkpoints of {size / 1e6:,.1f} MB (the latest, the "
                                f"next one while it is written, the best{kept})")
            first = not self.run.checkpoint.exists()
        if self.dist.from_main(first):
            self.save_checkpoint()

    # --- loop ----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        sched = self.schedule
        self.prepare_run_dir()
        progress = Progress(sched.total_steps, self.step, enabled=self.show_progress)
        interval = LogInterval()
        order, order_epoch = None, -1
        try:
            with StopFlag() as stop:
                while self.step < sched.total_steps:
                    epoch, index = divmod(self.step, sched.steps_per_epoch)
                    if epoch != order_epoch:
                        order, order_epoch = epoch_order(self.count, self.cfg.seed, epoch), epoch
                    batch = self.training_set.batch(order, index, sched.batch_size, self.dist)
                    with autocast(self.device, self.autocast_dtype):
                        metrics = self.model.train_step(batch, self.noise, epoch)
                    bad = bool(metrics.pop("skipped", False))
                    self.nonfinite.record(bad)
                    interval.add(metrics, bad)
                    self.step += 1
                    if self.nonfinite.streak >= self.cfg.max_bad_steps:
                        self.recover()  # stops, or rolls back to the last checkpoint
                        interval.restart()
                        continue
                    epoch_done = self.step % sched.steps_per_epoch == 0 or self.step == sched.total_steps
                    if self.step % self.cfg.log_every == 0 or epoch_done:
                        record = interval.record(self.step, epoch + 1, sched.batch_size, self.rank_means)
                        if self.dist.is_main:
                            append_jsonl(self.run.metrics, record)
                            progress.update(self.step, record)
                            for listener in self.listeners:
                                listener.record(record)
                    if epoch_done:
                        self.end_of_epoch(epoch + 1)
                        interval.restart_clock()
                    if self.dist.any_rank(stop.raised is not None):  # a signal to one rank stops them all
                        self.save_checkpoint()
                        raise TrainingInterrupted(self.step)
        except OSError as exc:  # a full disk while logging or drawing: the same clear error as at a checkpoint
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise self.write_error(exc) from None
        finally:
            progress.close()
            for listener in self.listeners:
                listener.close()
        if not self.dist.is_main:
            return {}
        records = [r for r in read_jsonl(self.run.metrics) if "img_per_s" in r]  # training lines, not eval
        if records:
            plot_loss_curves(records, self.run.loss_curve, *self.task.curves)
        return records[-1] if records else {}

    def rank_means(self, sums: dict[str, torch.Tensor]) -> dict[str, float]:
        """The interval's summed step metrics as floats, averaged over the ranks: each rank's are
        means over its share, and equal shares make their mean the global batch's."""
        if not sums:
            return {}
        values = self.dist.mean(torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in sums.values()]))
        return dict(zip(sums, values.tolist()))

    def end_of_epoch(self, epoch: int) -> None:
        last = self.step == self.schedule.total_steps
        if self.dist.is_main and (epoch % self.cfg.sample_every == 0 or last):
            self.write_figures(epoch)
        improved = False
        if self.evaluator is not None and self.cfg.eval_every and (epoch % self.cfg.eval_every == 0 or last):
            improved = self.evaluate(epoch)
        improved = self.dist.from_main(improved)  # only rank 0 evaluates; all of them save the checkpoint
        if epoch % self.cfg.checkpoint_every == 0 or last or improved:
            self.save_checkpoint(keep=True)
        if improved and self.dist.is_main:
            atomic_write_bytes(self.run.best_checkpoint, self.run.checkpoint.read_bytes())

    def recover(self) -> None:
        """`max_bad_steps` skipped steps in a row: training is stuck on NaNs. Stop with an error, or
        roll back to the last checkpoint with both learning rates lowered (at most MAX_ROLLBACKS
        times); the lowered rates go into metrics.jsonl and, at once, into the checkpoint."""
        bad = self.nonfinite
        what = bad.check_rollback_allowed(self.cfg, self.step, self.run.checkpoint, self.learning_rates())
        from_step = self.step
        state = load_checkpoint(self.run.checkpoint)
        self.restore(state, f"checkpoint {self.run.checkpoint}")
        self.nonfinite = bad.rolled_back(self.cfg.rollback_lr_factor)
        self.model.scale_learning_rates(self.nonfinite.lr_scale)
        rates = self.learning_rates()
        if self.dist.is_main:
            self.rewind_run_dir()
            append_jsonl(self.run.metrics, {
                "step": self.step, "epoch": self.step // self.schedule.steps_per_epoch,
                "skipped_steps": bad.skipped - state.get("nonfinite", {}).get("skipped", 0),  # those rolled back
                "rollback": {"from_step": from_step, "rollbacks": self.nonfinite.rollbacks,
                             "lr_scale": self.nonfinite.lr_scale, **rates}})
        log.warning("%s; rolled back to step %d with learning rates %s (rollback %d of at most %d)", what,
                    self.step, format_rates(rates), self.nonfinite.rollbacks, MAX_ROLLBACKS)
        self.save_checkpoint()  # the lowered rates survive a kill from here on

    def learning_rates(self) -> dict[str, float]:
        return {"lr_g": self.cfg.lr_g * self.nonfinite.lr_scale, "lr_d": self.cfg.lr_d * self.nonfinite.lr_scale}

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

