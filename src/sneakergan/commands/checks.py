"""Bounds of the command-line options the commands share: each mistake is a one-line ConfigError that
names the option, raised before anything slow (loading models, decoding images) starts."""

from __future__ import annotations

import os
from pathlib import Path

from sneakergan.config import DEVICE_PATTERN
from sneakergan.errors import ConfigError

# The signed 64-bit range: what torch's manual_seed, numpy and JSON readers all take without wrapping.
MAX_SEED = 2**63 - 1
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
    from sneakergan.train.distributed import DEFAULT_TIMEOUT_S

    parser.add_argument("--dist-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help="under torchrun: the longest a process waits for the others at a collective "
                        f"before the job fails (default {DEFAULT_TIMEOUT_S})")
