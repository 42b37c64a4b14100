"""Non-finite training steps: the count every checkpoint carries, and the policy when a run keeps
producing NaN or inf losses (`on_nonfinite`: roll back with lower learning rates, or stop)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from sneakergan.config import TrainConfig
from sneakergan.errors import TrainingError

MAX_ROLLBACKS = 3  # then a run still stuck on non-finite losses stops with an error


@dataclass
class NonFiniteSteps:
    """Steps whose updates were skipped for non-finite losses or gradients, and the rollbacks they
    caused; part of every checkpoint, so a resumed run counts on and keeps its lowered rates."""

    skipped: int = 0  # skipped steps in all, those of rolled-back stretches included
    streak: int = 0  # consecutive skipped steps up to the current one
    rollbacks: int = 0
    lr_scale: float = 1.0  # both learning rates are the config's times this

    def record(self, skipped: bool) -> None:
        self.skipped += skipped
        self.streak = self.streak + 1 if skipped else 0

    def check_rollback_allowed(self, cfg: TrainConfig, step: int, checkpoint: Path, rates: dict[str, float]) -> str:
        """After `max_bad_steps` skipped steps in a row: raise TrainingError when the run should stop
        (on_nonfinite "stop", or MAX_ROLLBACKS used up), else return what happened, for the log."""
        what = (f"steps {step - self.streak + 1}-{step} all had non-finite (NaN or inf) losses or "
                "gradients, so their updates were skipped")
        intact = f"The last checkpoint, {checkpoint}, is intact"
        if cfg.on_nonfinite == "stop":
            raise TrainingError(f"stopped at step {step}: {what}. {intact}. Try lower learning rates "
                                "(--lr-g, --lr-d), precision fp32, or --set on_nonfinite=rollback to roll back "
                                "automatically with lower learning rates")
        if self.rollbacks >= MAX_ROLLBACKS:
            raise TrainingError(f"stopped at step {step}: {what}, even after {self.rollbacks} rollbacks that "
                                f"lowered the learning rates to {format_rates(rates)}. {intact}. Try a new "
                                "run with lower learning rates (--lr-g, --lr-d), precision fp32 or another seed, or "
                                "look for broken images in the data")
        return what

    def rolled_back(self, lr_factor: float) -> "NonFiniteSteps":
        """The count after one more rollback: streak cleared, learning rates scaled by `lr_factor`."""
        return dataclasses.replace(self, streak=0, rollbacks=self.rollbacks + 1, lr_scale=self.lr_scale * lr_factor)


def format_rates(rates: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in rates.items())
