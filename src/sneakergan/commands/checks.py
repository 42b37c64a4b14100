"""Bounds of the command-line options the commands share: each mistake is a one-line ConfigError that
names the option, raised before anything slow (loading models, decoding images) starts."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sneakergan.config import DEVICE_PATTERN, MAX_SEED
from sneakergan.errors import ConfigError

# More decoding processes than this only add start-up time and memory (decoding is I/O and CPU bound).
MAX_WORKERS = 64
# Beyond about this many samples the uint8 images alone take gigabytes; the standard protocols use 10k-50k.
MAX_SAMPLES = 100_000
# PIL's default decompression-bomb limit (Image.MAX_IMAGE_PIXELS): a larger grid is one that PIL, and
# so this project, would refuse to open again.
MAX_GRID_PIXELS = 89_478_485


def check_range(option: str, value: int | None, low: int, high: int | None = None) -> None:
    """`value` (None: the option was not given) must lie in [low, high]."""
    if value is None or (value >= low and (high is None or value <= high)):
        return
    bounds = f">= {low}" if high is None else f"between {low} and {high}"
    raise ConfigError(f"{option} must be {bounds}, got {value}")


def check_seed(seed: int) -> None:
    check_range("--seed", seed, 0, MAX_SEED)


def check_workers(workers: int | None) -> None:
    check_range("--workers", workers, 1, MAX_WORKERS)


def check_device(device: str) -> None:
    if not DEVICE_PATTERN.fullmatch(device):
        raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")


def check_grid_pixels(width: int, height: int) -> None:
    if width * height > MAX_GRID_PIXELS:
        raise ConfigError(f"the grid would be {width}x{height} px, over the limit of {MAX_GRID_PIXELS} pixels; "
                          "lower -n, --nrow or --scale, or use --format files")


def check_exists(option: str, path: str | None) -> None:
    """An input path, checked before any slow start-up (the feature network, the models)."""
    if path is not None and not Path(path).exists():
        raise ConfigError(f"{option} {path} does not exist")


def check_output_file(option: str, out: Path, suffix: str, replace: bool, beside: tuple[Path, ...] = ()) -> None:
    """An output file path: the right suffix, not a folder, a folder above it that can be written to, and
    nothing overwritten (neither it nor the files written `beside` it) without --replace."""
    if out.suffix.lower() != suffix:
        raise ConfigError(f"{option} {out} must end in {suffix}")
    if out.is_dir():
        raise ConfigError(f"{option} {out} is a folder; give a file path ending in {suffix}")
    check_writable_parent(option, out)
    taken = [path for path in (out, *beside) if path.exists()]
    if taken and not replace:
        raise ConfigError(f"{taken[0]} already exists; pass --replace to overwrite it")


def check_writable_parent(option: str, out: Path) -> None:
    """The nearest existing folder above `out` must be a folder we can write in (the rest is created)."""
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {out}: cannot write in {parent} (permission denied)")


def add_dist_timeout(parser) -> None:
    """--dist-timeout, for the commands that run under torchrun (train, train-sr, evaluate)."""
    from sneakergan.config import DEFAULT_TIMEOUT_S

    parser.add_argument("--dist-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help="under torchrun: the longest a process waits for the others at a collective "
                        f"before the job fails (default {DEFAULT_TIMEOUT_S})")


def add_run_options(parser: argparse.ArgumentParser, stage2: bool = True) -> None:
    """--run (stage 1) and --sr-run (stage 2), the same in every command; --lr-run stays as a hidden alias."""
    parser.add_argument("--run", metavar="RUN_DIR", help="stage-1 run folder (default: the bundled model)")
    parser.add_argument("--lr-run", dest="run", help=argparse.SUPPRESS)
    if stage2:
        parser.add_argument("--sr-run", metavar="RUN_DIR", help="stage-2 run folder (default: the bundled model)")


def add_run_folder(parser: argparse.ArgumentParser, help: str) -> None:
    """--run RUN_DIR for the commands that read one run folder; the folder may also come first, as before."""
    parser.add_argument("--run", metavar="RUN_DIR", help=help)
    parser.add_argument("run_folder", nargs="?", metavar="RUN_DIR", help=argparse.SUPPRESS)


def run_folder(args: argparse.Namespace) -> str:
    """The one run folder given as --run or first, not both."""
    if args.run and args.run_folder and args.run != args.run_folder:
        raise ConfigError(f"two run folders given ({args.run_folder} and --run {args.run}); give one")
    folder = args.run or args.run_folder
    if not folder:
        raise ConfigError("which run? pass --run RUN_DIR")
    return folder
