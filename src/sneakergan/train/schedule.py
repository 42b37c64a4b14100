"""When the loop steps: each epoch's data order, the step schedule, and
SIGINT/SIGTERM turned into a flag the loop checks between steps."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError
from sneakergan.train.distributed import check_global_batch


def epoch_order(count: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of an epoch depends only on (seed, epoch): resume needs no sampler state."""
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


@dataclass(frozen=True)
class Schedule:
    batch_size: int  # the global batch: under torchrun each of the world_size processes computes a share
    steps_per_epoch: int
    total_steps: int

    @classmethod
    def for_config(cls, cfg: TrainConfig, count: int, world_size: int = 1) -> "Schedule":
        check_global_batch(cfg.batch_size, world_size)
        batch = min(cfg.batch_size, count)
        batch -= batch % world_size  # fewer images than a batch: still an equal share per process
        if batch == 0:
            raise ConfigError(f"{count} images cannot be shared among {world_size} processes")
        per_epoch = count // batch  # the last partial batch is dropped, as BN models prefer
        total = cfg.epochs * per_epoch
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        return cls(batch, per_epoch, total)


class StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a checkpoint is consistent."""

    def __init__(self) -> None:
        self.raised: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
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
