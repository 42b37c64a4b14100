"""The `sneakergan` command line: train, train-sr, generate, interpolate, evaluate, eval-sr, plot-prd, serve,
report, demo, presets."""

from __future__ import annotations

import argparse
import logging
import sys

from sneakergan.commands import demo, evaluate, generate, report, serve, train
from sneakergan.errors import SneakerganError, one_line

log = logging.getLogger("sneakergan")


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def _setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("sneakergan")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    root.propagate = False


# --- presets -------------------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace) -> int:
    from sneakergan.config import load_preset, preset_names

    for name in preset_names():
        print(f"{name:16s} {load_preset(name).description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from sneakergan import __version__

    parser = argparse.ArgumentParser(prog="sneakergan", description="Train and evaluate GANs that generate sneakers.")
    parser.add_argument("--version", action="version", version=f"sneakergan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for commands in (train, generate, evaluate, serve, report, demo):
        commands.add_parsers(sub)
    sub.add_parser("presets", help="list the training presets").set_defaults(handler=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        return args.handler(args)
    except SneakerganError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
