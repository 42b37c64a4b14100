"""Training tasks by registered name (`TrainConfig.task`): what the one trainer loop needs to know.

A task names its training model (owns G, D and `train_step(batch, noise, epoch)`), its per-epoch
figures, the data it trains on (key -> square size, uint8 arrays from the data pipeline) and the
series its loss-curve figure plots. A new task is one `register_task` here, not an `if` in the loop.
A config with a `condition` trains its task's class-conditional variant, "<task>-conditional", which
also gets int64 class labels [N] under the batch key `label_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sneakergan.config import TrainConfig
from sneakergan.models.srgan import SCALE
from sneakergan.registry import Registry
from sneakergan.train.cgan_model import LABEL_KEY, ConditionalGAN
from sneakergan.train.figures import ConditionalGanFigures, GanFigures, SRFigures
from sneakergan.train.gan_model import UnconditionalGAN
from sneakergan.train.sr_model import SuperResolutionGAN


@dataclass(frozen=True)
class Task:
    name: str
    model: Callable  # (cfg, device) -> training model
    figures: Callable  # (cfg, model, data, fixed generator) -> object with write(run, epoch, step)
    data_sizes: Callable[[TrainConfig], dict[str, int]]  # batch key -> image size it must have
    curves: tuple[tuple[str, ...], tuple[str, ...]]  # loss-curve series: (left panel, right panel)
    command: str  # the CLI command that trains it
    label_key: str | None = None  # batch key of the int64 class labels a class-conditional task trains on


_TASKS: Registry[Task] = Registry("task")


def register_task(task: Task) -> None:
    _TASKS.register(task.name, task)


def get_task(name: str) -> Task:
    return _TASKS.get(name)


def task_for(cfg: TrainConfig) -> Task:
    """The task `cfg` trains: cfg.task, or its class-conditional variant when cfg.condition is set."""
    return get_task(f"{cfg.task}-conditional" if cfg.condition else cfg.task)


register_task(Task("gan", UnconditionalGAN, GanFigures, lambda cfg: {"image": cfg.image_size},
                   (("d_loss", "g_loss"), ("d_real", "d_fake")), "train"))
register_task(Task("gan-conditional", ConditionalGAN, ConditionalGanFigures, lambda cfg: {"image": cfg.image_size},
                   (("d_loss", "g_loss"), ("d_real", "d_fake")), "train", label_key=LABEL_KEY))
register_task(Task("sr", SuperResolutionGAN, SRFigures,
                   lambda cfg: {"lr": cfg.image_size // SCALE, "hr": cfg.image_size},
                   (("g_loss", "pixel_loss", "feature_loss", "d_loss"), ("d_real", "d_fake")), "train-sr"))
