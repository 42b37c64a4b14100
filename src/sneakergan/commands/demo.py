"""`sneakergan demo ...`: the design's teaching figures. Each demo is fast, saves one PNG (--out) and
prints its finding as numbers on stdout."""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

from sneakergan.commands.checks import (
    add_run_folder,
    check_device,
    check_exists,
    check_output_file,
    check_range,
    check_seed,
    run_folder,
)
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")


def _output(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    check_output_file("--out", out, ".png", args.replace)
    return out


def _finish(out: Path, started: float, lines: list[str]) -> int:
    print("\n".join(lines))
    log.info("wrote %s in %.1f s", out, time.perf_counter() - started)
    return 0


# --- xy-game -------------------------------------------------------------------------------
def cmd_xy_game(args: argparse.Namespace) -> int:
    from sneakergan.demos.xy_game import describe, play_all, plot_xy_game

    started = time.perf_counter()
    check_range("--steps", args.steps, 1, 100_000)
    if not 0 < args.lr < 1:
        raise ConfigError(f"--lr must be between 0 and 1 (exclusive), got {args.lr}")
    if not all(math.isfinite(value) for value in args.start):
        raise ConfigError(f"--start must be two finite numbers, got {args.start}")
    out = _output(args)
    trajectories = play_all(args.lr, args.steps, tuple(args.start))
    import numpy as np

    if not all(np.isfinite(run.points).all() for run in trajectories):  # simultaneous steps grow exponentially
        raise ConfigError(f"the simultaneous steps overflow within {args.steps} steps; use fewer --steps or a "
                          "smaller --lr")
    plot_xy_game(trajectories, args.lr, out)
    return _finish(out, started, describe(trajectories, args.lr))


# --- mode-collapse -------------------------------------------------------------------------
def cmd_mode_collapse(args: argparse.Namespace) -> int:
    from sneakergan.demos.mode_collapse import RingSettings, describe, plot_mode_collapse, train_ring_gan

    started = time.perf_counter()
    check_range("--steps", args.steps, 1, 100_000)
    check_range("--unroll", args.unroll, 1, 100)
    check_range("--snapshots", args.snapshots, 1, 20)
    check_seed(args.seed)
    out = _output(args)
    settings = RingSettings(steps=args.steps, unroll=args.unroll, seed=args.seed, snapshots=args.snapshots)
    runs = [train_ring_gan(settings, unrolled=False), train_ring_gan(settings, unrolled=True)]
    plot_mode_collapse(runs, out)
    return _finish(out, started, describe(runs))


# --- dgrid ---------------------------------------------------------------------------------
def cmd_dgrid(args: argparse.Namespace) -> int:
    from sneakergan.demos.dgrid import describe, plot_dgrid, read_histograms, run_labels, separation

    started = time.perf_counter()
    run_dir = run_folder(args)
    records = read_histograms(run_dir)  # a missing run or file fails before anything is written
    out = _output(args)
    separations = [separation(record) for record in records]
    plot_dgrid(records, separations, *run_labels(run_dir), out)
    return _finish(out, started, describe(separations))


# --- cgan ----------------------------------------------------------------------------------
def cmd_cgan(args: argparse.Namespace) -> int:
    from sneakergan.demos import cgan
    from sneakergan.inference.device import resolve_device

    started = time.perf_counter()
    if (args.run is None) == (args.data is None):
        raise ConfigError("demo cgan needs exactly one of --run RUN_DIR (a class-conditional run) and --data FOLDER "
                          "(trains a tiny one on its class subfolders)")
    if args.run is not None and (args.workdir is not None or args.epochs is not None):
        raise ConfigError("--workdir and --epochs are for training with --data; --run shows a trained run")
    check_range("--columns", args.columns, 1, 64)
    check_range("--samples", args.samples, 1, 10_000)
    check_range("--epochs", args.epochs, 1, 1000)
    check_seed(args.seed)
    check_device(args.device)
    check_exists("--run", args.run)
    check_exists("--data", args.data)
    out = _output(args)
    device = resolve_device(args.device)
    run_dir = args.run
    if run_dir is None:
        run_dir = Path(args.workdir) if args.workdir else out.with_name(f"{out.stem}-run")
        log.info("training a tiny price-conditional run on %s into %s", args.data, run_dir)
        cgan.train_tiny_price_run(args.data, run_dir, replace=args.replace,
                                  epochs=args.epochs or cgan.TINY_RUN["epochs"])
    generator, cfg = cgan.open_conditional_run(run_dir, device)
    samples = cgan.class_samples(generator, cfg, max(args.samples, args.columns), args.seed, device)
    in_data = cgan.data_brightness(cfg) or [None] * cfg.n_classes
    rows = [cgan.measure_row(label, images, cfg.condition == "colour", data)
            for label, images, data in zip(cfg.class_names, samples, in_data)]
    cgan.plot_class_grid([images[:args.columns] for images in samples], list(cfg.class_names),
                         f"{Path(run_dir).name}: one row per {cfg.condition} class, the same noise in each column", out)
    label, noise = cgan.label_and_noise_effect(samples)
    return _finish(out, started, [f"run {run_dir} (condition {cfg.condition}), {len(samples[0])} samples per class",
                                  *cgan.describe(rows),
                                  f"the label moves a pixel by {label:.1f} on average, the noise by {noise:.1f} "
                                  "(mean absolute deviation, 0-255)"])


def add_parsers(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="teaching figures: how GANs train (each saves a PNG and prints its finding)",
                          description="The design's teaching figures. Each saves one PNG (--out) and prints what it "
                                      "shows as numbers.")
    demos = demo.add_subparsers(dest="demo", required=True)

    p = demos.add_parser("xy-game", help="min_x max_y x*y: simultaneous, alternating, extragradient, optimistic steps")
    p.add_argument("--lr", type=float, default=0.1, help="step size a (default 0.1)")
    p.add_argument("--steps", type=int, default=200, help="updates (default 200)")
    p.add_argument("--start", type=float, nargs=2, default=(1.0, 1.0), metavar=("X", "Y"), help="default 1 1")
    p.set_defaults(handler=cmd_xy_game)

    p = demos.add_parser("mode-collapse", help="8 Gaussians on a ring: a standard GAN vs an unrolled GAN")
    p.add_argument("--steps", type=int, default=1500, help="training steps of each model (default 1500)")
    p.add_argument("--unroll", type=int, default=5, help="D steps unrolled inside G's loss (default 5)")
    p.add_argument("--snapshots", type=int, default=6, help="scatter plots per model (default 6)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_mode_collapse)

    p = demos.add_parser("dgrid", help="D's outputs on real vs generated images over a run's epochs")
    add_run_folder(p, "a run folder with d_histograms.jsonl")
    p.set_defaults(handler=cmd_dgrid)

    p = demos.add_parser("cgan", help="a class-conditional model's grid, one labelled row per class")
    p.add_argument("--run", help="a class-conditional stage-1 run folder")
    p.add_argument("--data", help="without --run: train a tiny price-conditional run on this folder's class "
                                  "subfolders (about a minute)")
    p.add_argument("--workdir", help="with --data: the run folder to train into (default: beside --out, "
                                     "named after it with -run)")
    p.add_argument("--epochs", type=int, help="with --data: epochs (default 4)")
    p.add_argument("--columns", type=int, default=8, help="samples shown per class (default 8)")
    p.add_argument("--samples", type=int, default=200, help="samples per class behind the numbers (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=cmd_cgan)

    for p in demos.choices.values():
        p.add_argument("--out", required=True, help="the figure, a .png path")
        p.add_argument("--replace", action="store_true", help="overwrite an existing --out (and, for cgan --data, "
                                                              "an existing --workdir run)")
