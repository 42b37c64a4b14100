"""`sneakergan generate`: images from a stage-1 run, optionally through a stage-2 run."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sneakergan.commands.checks import (
    MAX_SAMPLES,
    MAX_SEED,
    add_run_options,
    check_device,
    check_grid_pixels,
    check_output_file,
    check_range,
    check_seed,
    check_writable_parent,
)
from sneakergan.config import PRECISIONS
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")


def _add_generate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate sneakers (bundled models, or your runs)",
                       description="Generate sneakers: stage 1 (28x28 from noise) then stage 2 (4x to 112x112), "
                                   "with the bundled models unless runs are given; a grid or one PNG each.")
    add_run_options(p)
    p.add_argument("--stage", choices=("lr", "sr"), default="sr",
                   help="sr (default): 112x112 through both stages; lr: stop at stage 1's 28x28")
    p.add_argument("--show-lr", action="store_true",
                   help="put each 28x28 input (nearest-upscaled) beside its 112x112 output")
    p.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sr-seed", type=int, default=0,
                   help="seed of stage 2's details, for a stage 2 with noise inputs (sr-perceptual): another value "
                   "re-rolls the 112x112 details of the same 28x28 sneakers (default 0)")
    p.add_argument("--label", help="the class to generate, for a class-conditional stage-1 run (a name from its "
                   "config's class_names, e.g. cheap or red; default: classes drawn uniformly)")
    p.add_argument("--out", required=True, help="grid PNG path, or a folder with --format files")
    p.add_argument("--format", choices=("grid", "files"), default="grid",
                   help="grid: one image, its format from --out's extension (.png, .jpg, .webp); files: one per "
                   "sneaker in --out, named seed{SEED}-{index}")
    p.add_argument("--file-type", choices=("png", "jpg", "webp"), default="png", help="with --format files")
    p.add_argument("--nrow", type=int, help="images per grid row (default: square)")
    p.add_argument("--scale", type=int, default=1, help="enlarge the grid (nearest neighbour)")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto (default): bf16 autocast where the hardware has fast bf16 (about 1.7x faster on "
                        "AVX-512 BF16 CPUs; pixels within a few uint8 steps of fp32), else fp32")
    p.add_argument("--replace", action="store_true", help="overwrite an existing --out")
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from sneakergan.images import IMAGE_FORMATS, grid_shape
    from sneakergan.inference.generate import check_output, write_files, write_grid
    from sneakergan.inference.pipeline import Pipeline, side_by_side

    # Every option is checked before generating: fail fast.
    check_range("-n", args.n, 1, MAX_SAMPLES)
    check_seed(args.seed)
    check_range("--sr-seed", args.sr_seed, 0, MAX_SEED)
    check_range("--nrow", args.nrow, 1)
    check_range("--scale", args.scale, 1)
    check_device(args.device)
    if args.stage == "lr" and (args.show_lr or args.sr_run):
        raise ConfigError("--show-lr and --sr-run need --stage sr (they concern stage 2)")
    out = Path(args.out)
    if args.format == "grid":
        if out.suffix.lower() not in IMAGE_FORMATS:
            raise ConfigError(f"--out {out} must end in {', '.join(IMAGE_FORMATS)} (or use --format files)")
        check_output_file("--out", out, out.suffix.lower(), args.replace)
        check_grid_pixels(*_smallest_grid(args))
    else:
        check_output(out, args.format, args.replace)
        check_writable_parent("--out", out)
    pipeline = Pipeline.load(args.run, args.sr_run, args.device, args.precision, stage2=args.stage == "sr",
                             stage2_parameters={"show_lr": args.show_lr})
    images = pipeline.sample_lr(args.n, args.seed, args.label)
    if args.stage == "sr" and not pipeline.single_stage:
        upscaled = pipeline.upscale(images, seed=args.sr_seed)
        images = side_by_side(images, upscaled) if args.show_lr else upscaled
    if args.format == "grid":
        height, width = grid_shape(len(images), images.shape[1], images.shape[2], args.nrow)
        check_grid_pixels(width * args.scale, height * args.scale)  # the exact size, now that it is known
        write_grid(images, out, nrow=args.nrow, scale=args.scale, replace=args.replace)
    else:
        write_files(images, out, seed=args.seed, suffix=f".{args.file_type}", replace=args.replace)
    log.info("wrote %d images to %s", len(images), out)
    return 0


def _smallest_grid(args: argparse.Namespace) -> tuple[int, int]:
    """(width, height) of the grid if stage 1 makes 28x28 images, the smallest it can make."""
    from sneakergan.data import PreprocessSettings
    from sneakergan.images import grid_shape
    from sneakergan.models.srgan import SCALE

    tile = PreprocessSettings().lr_size * (SCALE if args.stage == "sr" else 1)
    height, width = grid_shape(args.n, tile, tile * (2 if args.show_lr else 1), args.nrow)
    return width * args.scale, height * args.scale


def _add_interpolate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interpolate", help="morph between the sneakers of several seeds (strip PNG or GIF)",
                       description="Walk the latent space from seed to seed (spherical interpolation) through "
                                   "stage 1 and stage 2; seed s's end is the first sneaker of `generate --seed s`.")
    p.add_argument("--seeds", type=int, nargs="+", required=True, metavar="SEED", help="two or more seeds")
    p.add_argument("--frames", type=int, default=8, help="frames from one seed to the next, both included")
    p.add_argument("--steps", type=int, dest="frames", help=argparse.SUPPRESS)  # the earlier spelling
    p.add_argument("--out", required=True, help="a strip (.png, .jpg; one row) or an animation that plays forth "
                   "and back (.gif, .webp)")
    add_run_options(p)
    p.add_argument("--stage", choices=("lr", "sr"), default="sr", help="sr (default): 112x112; lr: 28x28")
    p.add_argument("--label", help="a class-conditional stage-1 run's class to morph within (e.g. red)")
    p.add_argument("--frame-ms", type=int, default=120, help="GIF: milliseconds per frame (default 120)")
    p.add_argument("--scale", type=int, default=1, help="enlarge (nearest neighbour)")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="as for generate")
    p.add_argument("--replace", action="store_true", help="overwrite an existing --out")
    p.set_defaults(handler=cmd_interpolate)


def cmd_interpolate(args: argparse.Namespace) -> int:
    from sneakergan.inference.interpolate import ANIMATIONS, STRIPS, write_animation, write_strip
    from sneakergan.inference.pipeline import Pipeline

    if len(args.seeds) < 2:
        raise ConfigError("--seeds needs at least two seeds to interpolate between")
    for seed in args.seeds:
        check_seed(seed)
    check_range("--frames", args.frames, 2, 256)
    check_range("--frame-ms", args.frame_ms, 10, 10_000)
    check_range("--scale", args.scale, 1, 16)
    check_device(args.device)
    frames = (len(args.seeds) - 1) * (args.frames - 1) + 1
    check_range("frames (seeds x --frames)", frames, 2, MAX_SAMPLES)
    if args.stage == "lr" and args.sr_run:
        raise ConfigError("--sr-run needs --stage sr")
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (*STRIPS, *ANIMATIONS):
        raise ConfigError(f"--out {out} must end in {', '.join(STRIPS)} (a strip) or {', '.join(ANIMATIONS)} (an "
                          "animation)")
    check_output_file("--out", out, suffix, args.replace)
    pipeline = Pipeline.load(args.run, args.sr_run, args.device, args.precision, stage2=args.stage == "sr")
    images = pipeline.frames(args.seeds, args.frames, args.label)
    if args.stage == "sr":
        images = pipeline.upscale(images)
    if suffix in ANIMATIONS:
        write_animation(images, out, args.frame_ms, args.scale)
    else:
        write_strip(images, out, args.scale)
    log.info("wrote %d frames from seed %s to %s", len(images), " to ".join(map(str, args.seeds)), out)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    _add_generate_parser(sub)
    _add_interpolate_parser(sub)
