"""`sneakergan train` and `train-sr`: resolve the config, load the data, run the trainer; under
`torchrun` one process per GPU (or CPU share) trains on its share of each global batch
(train/distributed.py, docs/distributed.md)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from pathlib import Path

from sneakergan.commands.checks import add_dist_timeout
from sneakergan.config import BUNDLED, PRECISIONS
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")

# CLI flags that map one-to-one onto config fields (flag dest -> field).
_TRAIN_FLAGS = {"epochs": "epochs", "steps": "max_steps", "batch_size": "batch_size", "lr_g": "lr_g",
                "lr_d": "lr_d", "seed": "seed", "device": "device", "precision": "precision",
                "compile": "compile", "sample_every": "sample_every", "max_images": "max_images",
                "eval_every": "eval_every", "keep": "keep_checkpoints", "init_from": "init_from", "data": "data"}
_RESUMABLE_FIELDS = {"epochs", "max_steps", "device", "precision", "compile", "data", "keep_checkpoints"}


_TRAIN_COMMANDS = {  # command -> (task it trains, help)
    "train": ("gan", "train a stage-1 GAN (28x28) from a preset"),
    "train-sr": ("sr", "train a stage-2 4x super-resolution GAN (28x28 -> 112x112) from a preset"),
}


def _add_train_parser(sub: argparse._SubParsersAction, command: str) -> None:
    task, summary = _TRAIN_COMMANDS[command]
    p = sub.add_parser(command, help=summary,
                       description=f"{summary[0].upper()}{summary[1:]} on a folder (or .zip) of images.")
    p.add_argument("--preset", help="preset name (see `sneakergan presets`)")
    p.add_argument("--data", help="folder of images (searched recursively) or a .zip of them")
    p.add_argument("--out", help="run folder to create")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    p.add_argument("--replace", action="store_true", help="delete an existing run folder at --out first")
    p.add_argument("--init-from", metavar="RUN_DIR",
                   help="start from the G and D weights (and G's EMA) of RUN_DIR's checkpoint, with fresh "
                   "optimizers: fine-tuning under another config (e.g. other loss weights)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps", type=int, help="stop after this many steps in total")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="fp32 (preset default), bf16 autocast with fp32 weights, fp16 autocast with loss scaling "
                   "(GPUs without bf16), or auto (bf16 where fast)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the generator and discriminator (pays off only on long runs)")
    p.add_argument("--sample-every", type=int, help="epochs between sample grids / histograms")
    p.add_argument("--max-images", type=int, help="train on a fixed random subset of this size")
    p.add_argument("--eval-every", type=int, help="epochs between quick FIDs (eval_samples samples, default "
                   "2000) logged to metrics.jsonl; keeps checkpoint-best.safetensors")
    p.add_argument("--keep", type=int, metavar="N",
                   help="keep the N latest epoch checkpoints, as checkpoints/step_*.safetensors (default 1: "
                   "only the latest, checkpoint.safetensors)")
    p.add_argument("--inception", help="your own copy of the FID Inception TorchScript file (with --eval-every)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field (repeatable), e.g. --set g_width=512")
    p.add_argument("--cache-dir", help="dataset cache folder (default $SNEAKERGAN_CACHE or ~/.cache/sneakergan)")
    p.add_argument("--no-cache", action="store_true", help="decode the images without reading/writing the cache")
    p.add_argument("--workers", type=int, help="processes for decoding images (default: CPU count)")
    add_dist_timeout(p)
    p.set_defaults(handler=cmd_train, task=task)


def _flag_overrides(args: argparse.Namespace) -> dict:
    return {field: getattr(args, flag) for flag, field in _TRAIN_FLAGS.items() if getattr(args, flag) is not None}


def _resolve_train_config(args: argparse.Namespace):
    from sneakergan.config import load_preset
    from sneakergan.train.run_dir import RunDir

    changes = _flag_overrides(args)
    if args.resume:
        if args.preset or args.out or args.set:
            raise ConfigError("--resume continues a run with its saved config; --preset, --out and --set "
                              "cannot be combined with it")
        run = RunDir.open(args.resume)
        fixed = sorted(set(changes) - _RESUMABLE_FIELDS)
        if fixed:
            raise ConfigError(f"cannot change {', '.join(fixed)} when resuming "
                              "(only epochs, steps, device, precision, compile, data, keep)")
        return _with_absolute_paths(run.read_config().replace(**changes)), run
    if not args.preset or not args.data or not args.out:
        raise ConfigError(f"{args.command} needs --preset, --data and --out (or --resume RUN_DIR)")
    return _with_absolute_paths(load_preset(args.preset).replace(**changes).with_overrides(args.set)), None


def _with_absolute_paths(cfg):
    """data, init_from and stage1_run made absolute, however they were given (flag or --set), so that
    config.json names the same folders from any working directory."""
    return cfg.replace(**{field: str(Path(value).expanduser().resolve())
                          for field in ("data", "init_from", "stage1_run")
                          if (value := getattr(cfg, field)) and not (field != "data" and value == BUNDLED)})


def cmd_train(args: argparse.Namespace) -> int:
    from sneakergan.commands.checks import check_workers
    from sneakergan.train.checkpoint import initial_model_state
    from sneakergan.train.distributed import check_global_batch, join_from_env
    from sneakergan.train.loop import Trainer, TrainingInterrupted
    from sneakergan.train.memory import check_training_memory, local_processes
    from sneakergan.train.precision import describe as describe_precision
    from sneakergan.train.run_dir import RunDir
    from sneakergan.train.schedule import resolve_device
    from sneakergan.train.tasks import task_for

    check_workers(args.workers)
    cfg, resumed = _resolve_train_config(args)
    task = task_for(cfg)
    if cfg.task != args.task:
        raise ConfigError(f"{cfg.preset} is a task {cfg.task!r} config; train it with `sneakergan {task.command}`")
    check_global_batch(cfg.batch_size, int(os.environ.get("WORLD_SIZE", "1")))  # before anyone decodes data
    check_training_memory(cfg, resolve_device(cfg.device), local_processes())
    if resumed is None:  # fail on a taken --out in milliseconds, not after decoding the data (every rank, before
        RunDir.check_new(args.out, replace=args.replace)  # joining: none creates it until all have checked)
    initial_weights = initial_model_state(cfg) if resumed is None and cfg.init_from else None
    run = resumed or RunDir(Path(args.out))
    # Nothing is written to the run folder until every check has passed: the data loaded, the networks
    # built, the checkpoint (or --init-from's weights) loaded into them. Rank 0 holds its lock throughout.
    with contextlib.ExitStack() as held, join_from_env(resolve_device(cfg.device), args.dist_timeout) as dist:
        dist.quiet_unless_main(log)
        locked_early = dist.is_main and run.root.is_dir()  # resumed, or an old run that --replace would delete:
        if locked_early:  # a second process on it is refused before it loads data
            held.enter_context(run.lock())
        if dist.is_main:  # rank 0 decodes first (filling the cache the others then read)
            data, cfg = _training_data(cfg, args, task, resumed=resumed is not None)
        dist.barrier()
        if not dist.is_main:
            data, cfg = _training_data(cfg, args, task, resumed=resumed is not None)
        evaluator = _quick_fid(cfg, args, data.get("image"), _cache_dir(args)) if dist.is_main else None
        trainer = Trainer(cfg, run, data, evaluator=evaluator, dist=dist)
        if resumed is not None:
            trainer.resume()  # restores, then (rank 0) drops log lines from after the checkpoint
        elif initial_weights is not None:
            trainer.start_from(initial_weights, f"--init-from {cfg.init_from}")
            log.info("starting from the weights of %s", cfg.init_from)
        if dist.is_main:
            if resumed is None:
                if not locked_early:
                    held.enter_context(run.lock())
                RunDir.create(run.root, cfg, replace=args.replace)
            else:
                run.write_config(cfg)
        dist.barrier()
        shares = f" ({dist.world_size} processes of {trainer.schedule.batch_size // dist.world_size})" \
            if dist.enabled else ""
        log.info("training %s on %d images (%s) -> %s, %d steps of %d%s on %s in %s", cfg.preset, trainer.count,
                 cfg.data, run.root, trainer.schedule.total_steps, trainer.schedule.batch_size, shares, trainer.device,
                 describe_precision(trainer.autocast_dtype))
        try:
            trainer.fit()
        except TrainingInterrupted as stop:
            log.warning("interrupted: checkpoint saved at step %d; continue with: sneakergan %s --resume %s",
                        stop.step, task.command, run.root)
            return 130
    log.info("done: %s (samples/, histograms/, metrics.jsonl, checkpoint.safetensors)", run.root)
    return 0


def _cache_dir(args: argparse.Namespace):
    return False if args.no_cache else (Path(args.cache_dir) if args.cache_dir else None)


def _training_data(cfg, args: argparse.Namespace, task, resumed: bool):
    """(uint8 arrays by batch key, cfg): a class-conditional config gets its class names from the data."""
    from sneakergan.data import load_dataset
    from sneakergan.data.classes import class_labels

    dataset = load_dataset(cfg.data, cache_dir=_cache_dir(args), max_images=cfg.max_images or None,
                           workers=args.workers)
    data = {key: dataset.images_at(size) for key, size in task.data_sizes(cfg).items()}
    if task.label_key is not None:
        data[task.label_key], class_names = class_labels(dataset, cfg.condition)
        if not resumed:
            cfg = cfg.replace(class_names=class_names)  # in config.json: generate maps names to labels
        elif class_names != cfg.class_names:
            raise ConfigError(f"the data's classes ({', '.join(class_names)}) are not the run's "
                              f"({', '.join(cfg.class_names)}); resume on the data it was trained on")
    return data, cfg


def _quick_fid(cfg, args: argparse.Namespace, images, cache_dir):
    """The --eval-every evaluator: FID against the training images themselves (cached statistics)."""
    if not cfg.eval_every:
        return None
    from sneakergan.metrics.features import InceptionFeatureExtractor
    from sneakergan.metrics.reference import reference_stats
    from sneakergan.train.evaluation import QuickFID
    from sneakergan.train.loop import resolve_device

    extractor = InceptionFeatureExtractor(args.inception, device=resolve_device(cfg.device))
    return QuickFID(reference_stats(images, extractor, cache_dir), extractor, samples=cfg.eval_samples)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    for command in _TRAIN_COMMANDS:
        _add_train_parser(sub, command)
