"""Keep evaluation reports in docs/reports/ and build docs/results.md's summary table from them.

    python scripts/results_table.py keep runs/sngan-diffaug/eval/res28_n10000.json sngan-diffaug-28
    python scripts/results_table.py write    # rebuild the table between its markers in docs/results.md
    python scripts/results_table.py check    # exit 1 if the table is not what the reports say

The rows (label, report names at 28 and 112, training budget) are in docs/reports/table.toml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sneakergan.errors import SneakerganError
from sneakergan.io import atomic_write_text
from sneakergan.viz.results_table import kept_report, read_rows, replace_table, summary_table

DOCS = Path(__file__).resolve().parent.parent / "docs"


def keep(source: Path, name: str, reports_dir: Path, replace: bool) -> Path:
    target = reports_dir / f"{name}.json"
    if target.exists() and not replace:
        raise SneakerganError(f"{target} exists; pass --replace to overwrite it")
    report = json.loads(source.read_text(encoding="utf-8"))
    atomic_write_text(target, json.dumps(kept_report(report), indent=1) + "\n")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS, help="folder with results.md and reports/")
    commands = parser.add_subparsers(dest="command", required=True)
    keep_parser = commands.add_parser("keep", help="copy a report (without its PRD curve) into reports/")
    keep_parser.add_argument("report", type=Path)
    keep_parser.add_argument("name", help="file name in reports/, without .json")
    keep_parser.add_argument("--replace", action="store_true")
    commands.add_parser("write", help="rebuild the summary table in results.md")
    commands.add_parser("check", help="exit 1 if results.md's summary table is out of date")
    args = parser.parse_args()

    reports_dir, document_path = args.docs / "reports", args.docs / "results.md"
    try:
        if args.command == "keep":
            print(f"kept {keep(args.report, args.name, reports_dir, args.replace)}")
            return 0
        document = document_path.read_text(encoding="utf-8")
        updated = replace_table(document, summary_table(read_rows(reports_dir / "table.toml"), reports_dir))
    except (SneakerganError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        if updated != document:
            print(f"{document_path}: the summary table is out of date; run: python scripts/results_table.py write",
                  file=sys.stderr)
            return 1
        print(f"{document_path}: the summary table matches the reports")
        return 0
    atomic_write_text(document_path, updated)
    print(f"wrote the summary table into {document_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
