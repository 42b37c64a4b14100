"""`sneakergan report`: a run folder as one self-contained HTML page, or as TensorBoard event files."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from sneakergan.commands.checks import add_run_folder, check_output_file, check_writable_parent, run_folder
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a run as one self-contained HTML page: config, curves, samples, evaluations",
                       description="Write one HTML file (images embedded, nothing loaded from elsewhere) with the "
                                   "run's summary and config, loss and D-output curves, the per-epoch sample grids "
                                   "and D-output histograms (with an epoch slider), quick-FID scores over training "
                                   "time and the reports of `evaluate` and `eval-sr` in RUN_DIR/eval/.")
    add_run_folder(p, "a run folder written by `train` or `train-sr`")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--out", help="HTML file to write (default RUN_DIR/report.html)")
    target.add_argument("--tensorboard", metavar="LOGDIR",
                        help="instead of HTML: write the run's scalars, sample grids and D-output histograms as "
                             "TensorBoard event files into LOGDIR (pip install 'sneakergan[tensorboard]')")
    p.add_argument("--replace", action="store_true",
                   help="overwrite an existing report (with --tensorboard: the event files already in LOGDIR)")
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from sneakergan.report.data import check_run_folder

    root = Path(run_folder(args))
    check_run_folder(root)
    if args.tensorboard:
        return _export_tensorboard(root, Path(args.tensorboard), args.replace)
    from sneakergan.report.page import write_report

    out = Path(args.out) if args.out else root / "report.html"
    check_output_file("--out", out, ".html", args.replace)
    started = time.perf_counter()
    write_report(root, out)
    log.info("%.1f MB in %.1f s", out.stat().st_size / 1e6, time.perf_counter() - started)
    print(out)
    return 0


def _export_tensorboard(root: Path, logdir: Path, replace: bool) -> int:
    from sneakergan.report.data import read_run
    from sneakergan.report.tensorboard_export import EVENT_FILES, export_tensorboard
    from sneakergan.viz.tensorboard import summary_writer_class

    summary_writer_class()  # a missing package is reported before anything else
    if logdir.exists() and not logdir.is_dir():
        raise ConfigError(f"--tensorboard {logdir} is a file, not a folder")
    check_writable_parent("--tensorboard", logdir / "events")
    # A second event file in LOGDIR would make TensorBoard show both exports' points.
    if logdir.is_dir() and any(logdir.glob(EVENT_FILES)) and not replace:
        raise ConfigError(f"{logdir} already holds TensorBoard event files; pass --replace to overwrite them")
    counts = export_tensorboard(read_run(root), logdir)
    log.info("%d scalars, %d sample grids, %d epochs of D-output histograms; view with: tensorboard --logdir %s",
             counts["scalars"], counts["images"], counts["histograms"], logdir)
    print(logdir)
    return 0
