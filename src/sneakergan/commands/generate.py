"""`sneakergan generate`: images from a stage-1 run, optionally through a stage-2 run."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")


def _add_generate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate sneakers (bundled models, or your runs)",
                       description="Generate sneakers: stage 1 (28x28 from noise) then stage 2 (4x to 112x112), "
                                   "with the bundled models unless runs are given; a grid or one PNG each.")
    p.add_argument("--lr-run", "--run", dest="lr_run", help="stage-1 run folder (default: the bundled model)")
    p.add_argument("--sr-run", help="stage-2 run folder (default: the bundled model)")
    p.add_argument("--stage", choices=("lr", "sr"), default="sr",
                   help="sr (default): 112x112 through both stages; lr: stop at stage 1's 28x28")
    p.add_argument("--show-lr", action="store_true",
                   help="put each 28x28 input (nearest-upscaled) beside its 112x112 output")
    p.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="grid PNG path, or a folder with --format files")
    p.add_argument("--format", choices=("grid", "files"), default="grid")
    p.add_argument("--nrow", type=int, help="images per grid row (default: square)")
    p.add_argument("--scale", type=int, default=1, help="enlarge the grid (nearest neighbour)")
    p.add_argument("--device", default="auto")
    p.add_argument("--replace", action="store_true", help="overwrite an existing --out")
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from sneakergan.generate import check_output, generate_images, write_files, write_grid
    from sneakergan.pipeline import apply_stage2

    if not 1 <= args.n <= 100_000:
        raise ConfigError(f"-n must be between 1 and 100000, got {args.n}")
    if args.scale < 1:
        raise ConfigError(f"--scale must be >= 1, got {args.scale}")
    if args.stage == "lr" and (args.show_lr or args.sr_run):
        raise ConfigError("--show-lr and --sr-run need --stage sr (they concern stage 2)")
    out = Path(args.out)
    check_output(out, args.format, args.replace)  # before generating: fail fast
    images = generate_images(args.lr_run, args.n, args.seed, args.device)
    if args.stage == "sr":
        images = apply_stage2(args.sr_run, images, args.device, show_lr=args.show_lr)
    if args.format == "grid":
        write_grid(images, out, nrow=args.nrow, scale=args.scale, replace=args.replace)
    else:
        write_files(images, out, replace=args.replace)
    log.info("wrote %d images to %s", len(images), out)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    _add_generate_parser(sub)
