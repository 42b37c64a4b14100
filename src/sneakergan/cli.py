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


# Every subcommand's --help ends with one example (the ones that take run folders use runs/ names).
EXAMPLES = {
    "train": "sneakergan train --preset sngan-diffaug --data path/to/images --out runs/mine",
    "train-sr": "sneakergan train-sr --preset seed-srgan --data path/to/images --out runs/mine-sr",
    "generate": "sneakergan generate -n 16 --seed 0 --out sneakers.png",
    "interpolate": "sneakergan interpolate --seeds 0 1 2 --frames 8 --out morph.gif",
    "evaluate": "sneakergan evaluate --data path/to/images --res 112 --out report.json",
    "fetch-inception": "sneakergan fetch-inception",
    "eval-sr": "sneakergan eval-sr --sr-run runs/mine-sr --data path/to/held-out-images",
    "plot-prd": "sneakergan plot-prd runs/a/eval/res28_n10000.json runs/b/eval/res28_n10000.json --out prd.png",
    "serve": "sneakergan serve --port 8000",
    "report": "sneakergan report --run runs/mine",
    "demo": "sneakergan demo xy-game --out xy.png",
    "xy-game": "sneakergan demo xy-game --out xy.png",
    "mode-collapse": "sneakergan demo mode-collapse --out ring.png",
    "dgrid": "sneakergan demo dgrid --run runs/mine --out dgrid.png",
    "cgan": "sneakergan demo cgan --data path/to/images --out cgan.png",
    "presets": "sneakergan presets",
}


def _has_default(action: argparse.Action) -> bool:
    empty = action.default is None or action.default is False or action.default in (argparse.SUPPRESS, [])
    return bool(action.option_strings) and not empty


# --- presets -------------------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace) -> int:
    from sneakergan.config import load_preset, preset_names
    from sneakergan.inference.bundle import BUNDLED_PRESETS

    bundled = {name: stage for stage, name in BUNDLED_PRESETS.items()}
    for name in preset_names():
        cfg = load_preset(name)
        command = "train-sr" if cfg.task == "sr" else "train"
        mark = f"  [bundled {bundled[name]}]" if name in bundled else ""
        print(f"{name:18s} {command:9s} {cfg.description}{mark}")
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
    sub.add_parser("presets", help="list the training presets: the command that trains each, which are bundled"
                   ).set_defaults(handler=cmd_presets)
    _finish_help(sub)
    return parser


def _finish_help(sub: argparse._SubParsersAction) -> None:
    """Every subcommand (demo's too): each option's default shown (unless its help already says it), an
    example at the end."""
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if _has_default(action) and action.help is not argparse.SUPPRESS and "default" not in (action.help or ""):
                action.help = f"{action.help or ''} (default: %(default)s)".lstrip()
        if name in EXAMPLES:
            parser.epilog = f"example: {EXAMPLES[name]}"
        for action in parser._subparsers._group_actions if parser._subparsers else ():
            _finish_help(action)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        return args.handler(args)
    except SneakerganError as exc:
        print(f"error: {one_line(exc, command_line=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
