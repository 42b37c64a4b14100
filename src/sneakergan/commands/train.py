"""`sneakergan train` and `train-sr`: options into a resolved config, then train/setup.py's `train`; under
`torchrun` one process per GPU (or CPU share) trains on its share of each global batch
(train/distributed.py, docs/distributed.md)."""

from __future__ import annotations

import argparse
import logging
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
    p.add_argument("--tensorboard", metavar="LOGDIR", help="also write the logged metrics as TensorBoard scalars "
                   "into LOGDIR while training (pip install 'sneakergan[tensorboard]')")
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
    """(config, the resumed RunDir or None); a new run's config is validated once, after every override."""
    from sneakergan.config import TrainConfig, parse_overrides, preset_values
    from sneakergan.inference.run_dir import RunDir

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
        saved = run.read_config()
        if "epochs" in changes and "max_steps" not in changes and saved.max_steps:
            # more epochs must mean more training: the saved step limit would otherwise stop it at once
            log.info("--epochs %d replaces the run's step limit (%d steps); pass --steps to keep one",
                     changes["epochs"], saved.max_steps)
            changes["max_steps"] = 0
        return saved.replace(**_absolute_paths(changes)), run
    if not args.preset or not args.data or not args.out:
        raise ConfigError(f"{args.command} needs --preset, --data and --out (or --resume RUN_DIR)")
    values = {**preset_values(args.preset), **changes, **parse_overrides(args.set)}
    return TrainConfig.from_dict(_absolute_paths(values), origin=f"preset {args.preset} with your options"), None


def _absolute_paths(values: dict) -> dict:
    """data, init_from and stage1_run made absolute, however they were given (flag or --set), so that
    config.json names the same folders from any working directory."""
    return {**values, **{field: str(Path(value).expanduser().resolve())
                         for field in ("data", "init_from", "stage1_run")
                         if isinstance(value := values.get(field), str) and value
                         and not (field != "data" and value == BUNDLED)}}


def cmd_train(args: argparse.Namespace) -> int:
    from sneakergan.commands.checks import check_workers
    from sneakergan.train.loop import TrainingInterrupted
    from sneakergan.train.setup import DataSource, train
    from sneakergan.train.tasks import task_for

    check_workers(args.workers)
    cfg, resumed = _resolve_train_config(args)
    task = task_for(cfg)
    if cfg.task != args.task:
        raise ConfigError(f"{cfg.preset} is a task {cfg.task!r} config; train it with `sneakergan {task.command}`")
    source = DataSource(cache_dir=False if args.no_cache else (Path(args.cache_dir) if args.cache_dir else None),
                        workers=args.workers)
    try:
        run = train(cfg, Path(args.out) if args.out else None, resumed, args.replace, source, args.inception,
                    args.dist_timeout, Path(args.tensorboard) if args.tensorboard else None)
    except TrainingInterrupted as stop:
        log.warning("interrupted: checkpoint saved at step %d; continue with: sneakergan %s --resume %s",
                    stop.step, task.command, resumed.root if resumed else args.out)
        return 130
    log.info("done: %s (samples/, histograms/, metrics.jsonl, checkpoint.safetensors)", run.root)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    for command in _TRAIN_COMMANDS:
        _add_train_parser(sub, command)
