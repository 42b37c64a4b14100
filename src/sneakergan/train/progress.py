"""Progress: a tqdm bar on a terminal, plain log lines otherwise (CI logs, nohup, files)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Callable

import torch
from tqdm import tqdm

log = logging.getLogger("sneakergan.train")

_SHOWN = (("d_loss", "d_loss", ".4f"), ("g_loss", "g_loss", ".4f"), ("pixel_loss", "pixel", ".4f"),
          ("d_real", "D(x)", ".3f"), ("d_fake", "D(G(z))", ".3f"))


class Progress:
    def __init__(self, total_steps: int, start_step: int, enabled: bool = True):
        self.total, self.start_step, self.started = total_steps, start_step, time.monotonic()
        self.bar = None
        if enabled and sys.stderr.isatty():
            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def update(self, step: int, record: dict) -> None:
        """Called at each logged step with the averaged metrics record."""
        # Whichever of these the task's step reported (stage 2's pre-training has no D values).
        stats = " ".join(f"{label} {record[key]:{fmt}}" for key, label, fmt in _SHOWN if key in record)
        stats += f" {record['img_per_s']:.{0 if record['img_per_s'] >= 100 else 1}f} img/s"
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_description(f"epoch {record['epoch']}")
            self.bar.set_postfix_str(stats, refresh=True)
        else:
            log.info("epoch %d step %d/%d %s, %s", record["epoch"], step, self.total, stats, self.timing(step))

    def timing(self, step: int) -> str:
        """"elapsed 3m05s, about 12m40s left": time since this process started training, and the rest at the
        pace so far (figures and evaluations included)."""
        elapsed = time.monotonic() - self.started
        done = step - self.start_step
        left = elapsed / done * (self.total - step) if done > 0 else None
        return f"elapsed {_duration(elapsed)}" + ("" if left is None else f", about {_duration(left)} left")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class LogInterval:
    """The steps since the last metrics line: their summed step metrics (skipped steps' non-finite
    losses left out of the averages), how many were skipped, and the training time they took."""

    def __init__(self):
        self.restart()

    def restart(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = self.skipped = 0
        self.restart_clock()

    def restart_clock(self) -> None:
        """After work that is not training (figures, evaluation), so that img/s measures training only."""
        self.start = time.perf_counter()

    def add(self, metrics: dict[str, torch.Tensor], skipped: bool) -> None:
        self.steps += 1
        self.skipped += skipped
        if not skipped:
            for key, value in metrics.items():
                self.sums[key] = self.sums.get(key, 0) + value

    def record(self, step: int, epoch: int, batch_size: int, means: Callable[[dict], dict[str, float]]) -> dict:
        """The metrics line (`means`: the summed metrics as floats, averaged over ranks), then restart."""
        elapsed = time.perf_counter() - self.start
        record = {"step": step, "epoch": epoch, "time": round(time.time(), 3),
                  **{key: value / (self.steps - self.skipped) for key, value in means(self.sums).items()},
                  "skipped_steps": self.skipped, "img_per_s": self.steps * batch_size / max(elapsed, 1e-9)}
        if self.skipped:
            log.warning("step %d: %d of the last %d steps skipped (non-finite losses or gradients)",
                        step, self.skipped, self.steps)
        self.restart()
        return record
