"""Setting up a training run from a resolved config: its data by batch key, the quick-FID evaluator, the
checks that must pass before anything is written, and the run itself (under torchrun, every process).
`sneakergan train` parses its options into a config and calls `train`; demos and benchmarks use the
same pieces, so no caller shapes a task's batch by hand."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sneakergan.config import DEFAULT_TIMEOUT_S, TrainConfig
from sneakergan.data import ImageDataset, load_dataset
from sneakergan.data.classes import class_labels
from sneakergan.errors import ConfigError
from sneakergan.inference.device import describe, resolve_device
from sneakergan.inference.run_dir import RunDir
from sneakergan.train.distributed import check_global_batch, join_from_env
from sneakergan.train.initial_state import initial_model_state
from sneakergan.train.live_tensorboard import LiveTensorBoard
from sneakergan.train.loop import Trainer
from sneakergan.train.memory import check_training_memory, local_processes
from sneakergan.train.tasks import task_for
from sneakergan.viz.tensorboard import summary_writer_class

log = logging.getLogger("sneakergan")


@dataclass(frozen=True)
class DataSource:
    """Where a run's images are decoded from besides cfg.data: the dataset cache (None: the default
    folder, False: none) and the decoding processes (None: one per CPU)."""

    cache_dir: Path | None | bool = None
    workers: int | None = None

    def load(self, cfg: TrainConfig) -> ImageDataset:
        return load_dataset(cfg.data, cache_dir=self.cache_dir, max_images=cfg.max_images or None,
                            workers=self.workers)


def training_data(cfg: TrainConfig, dataset: ImageDataset, resumed: bool = False
                  ) -> tuple[dict[str, np.ndarray], TrainConfig]:
    """(uint8 arrays by the task's batch keys, cfg); a class-conditional config gets its class names from
    the data (a resumed one must find its own)."""
    task = task_for(cfg)
    data = {key: dataset.images_at(size) for key, size in task.data_sizes(cfg).items()}
    if task.label_key is not None:
        data[task.label_key], class_names = class_labels(dataset, cfg.condition)
        if not resumed:
            cfg = cfg.replace(class_names=class_names)  # in config.json: generate maps names to labels
        elif class_names != cfg.class_names:
            raise ConfigError(f"the data's classes ({', '.join(class_names)}) are not the run's "
                              f"({', '.join(cfg.class_names)}); resume on the data it was trained on")
    return data, cfg


def quick_fid(cfg: TrainConfig, images: np.ndarray | None, inception: str | None, cache_dir: Path | None | bool):
    """The `eval_every` evaluator: FID against the training images themselves (cached statistics)."""
    if not cfg.eval_every or images is None:
        return None
    from sneakergan.metrics.features import InceptionFeatureExtractor
    from sneakergan.metrics.reference import reference_stats
    from sneakergan.train.evaluation import QuickFID

    extractor = InceptionFeatureExtractor(inception, device=resolve_device(cfg.device))
    return QuickFID(reference_stats(images, extractor, cache_dir), extractor, samples=cfg.eval_samples)


def train(cfg: TrainConfig, out: Path, resumed: RunDir | None = None, replace: bool = False,
          source: DataSource = DataSource(), inception: str | None = None, dist_timeout: float = DEFAULT_TIMEOUT_S,
          tensorboard: Path | None = None) -> RunDir:
    """Train `cfg` into the new run folder `out` (`replace`: an old run there is deleted first), or on in
    `resumed`. Every check runs before anything is written: the global batch, memory, a taken folder, the
    data loaded, the networks built, the checkpoint (or init_from's weights) loaded into them. Rank 0
    holds the run's lock throughout; `tensorboard`: a folder for live TensorBoard scalars. Raises
    TrainingInterrupted (checkpoint saved) on SIGINT/SIGTERM."""
    check_global_batch(cfg.batch_size, int(os.environ.get("WORLD_SIZE", "1")))  # before anyone decodes data
    if tensorboard is not None:
        summary_writer_class()  # a missing package is a one-line error now, not after decoding the data
    check_training_memory(cfg, resolve_device(cfg.device), local_processes())
    if resumed is None:  # fail on a taken folder in milliseconds, not after decoding the data (every rank, before
        RunDir.check_new(out, replace=replace)  # joining: none creates it until all have checked)
    initial_weights = initial_model_state(cfg) if resumed is None and cfg.init_from else None
    run = resumed or RunDir(Path(out))
    with contextlib.ExitStack() as held, join_from_env(resolve_device(cfg.device), dist_timeout) as dist:
        dist.quiet_unless_main(log)
        locked_early = dist.is_main and run.root.is_dir()  # resumed, or an old run that `replace` would delete:
        if locked_early:  # a second process on it is refused before it loads data
            held.enter_context(run.lock())
        if dist.is_main:  # rank 0 decodes first (filling the cache the others then read)
            data, cfg = training_data(cfg, source.load(cfg), resumed=resumed is not None)
        dist.barrier()
        if not dist.is_main:
            data, cfg = training_data(cfg, source.load(cfg), resumed=resumed is not None)
        evaluator = quick_fid(cfg, data.get("image"), inception, source.cache_dir) if dist.is_main else None
        listeners = (LiveTensorBoard(tensorboard),) if tensorboard is not None and dist.is_main else ()
        trainer = Trainer(cfg, run, data, evaluator=evaluator, dist=dist, listeners=listeners)
        if resumed is not None:
            trainer.resume()  # restores, then (rank 0) drops log lines from after the checkpoint
            if trainer.step >= trainer.schedule.total_steps:  # nothing left: say so, do not exit 0 having done nothing
                raise ConfigError(f"{run.root} has already trained {trainer.step} steps, all that its epochs and "
                                  f"step limit allow ({trainer.schedule.total_steps}); pass more {{epochs}} or "
                                  "{steps} to train on", names=("epochs", "steps"))
        elif initial_weights is not None:
            trainer.start_from(initial_weights, f"{{init_from}} {cfg.init_from}")
            log.info("starting from the weights of %s", cfg.init_from)
        if dist.is_main:
            if resumed is None:
                if not locked_early:
                    held.enter_context(run.lock())
                RunDir.create(run.root, cfg, replace=replace)
            else:
                run.write_config(cfg)
        dist.barrier()
        _log_plan(cfg, run, trainer, dist)
        trainer.fit()
    return run


def _log_plan(cfg: TrainConfig, run: RunDir, trainer: Trainer, dist: Any) -> None:
    shares = f" ({dist.world_size} processes of {trainer.schedule.batch_size // dist.world_size})" \
        if dist.enabled else ""
    log.info("training %s on %d images (%s) -> %s, %d steps of %d%s on %s in %s", cfg.preset, trainer.count,
             cfg.data, run.root, trainer.schedule.total_steps, trainer.schedule.batch_size, shares, trainer.device,
             describe(trainer.autocast_dtype))
