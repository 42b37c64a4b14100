"""Keep evaluation reports in docs/reports/ and build the score tables of the docs from them.

    python scripts/results_table.py keep runs/sngan-diffaug/eval/res28_n10000.json sngan-diffaug-28
    python scripts/results_table.py write    # rebuild the tables between their markers in the docs
    python scripts/results_table.py check    # exit 1 if a table is not what the reports say

The tables (their document, columns, and each row's label, report names at 28 and 112 and note)
are in docs/reports/tables.toml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sneakergan.errors import SneakerganError
from sneakergan.io import atomic_write_text
from sneakergan.report.results_table import kept_report, read_tables, update_document

ROOT = Path(__file__).resolve().parent.parent


def keep(source: Path, name: str, reports_dir: Path, replace: bool) -> Path:
    target = reports_dir / f"{name}.json"
    if target.exists() and not replace:
        raise SneakerganError(f"{target} exists; pass --replace to overwrite it")
    report = json.loads(source.read_text(encoding="utf-8"))
    atomic_write_text(target, json.dumps(kept_report(report), indent=1) + "\n")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository: docs/reports/ and the documents")
    commands = parser.add_subparsers(dest="command", required=True)
    keep_parser = commands.add_parser("keep", help="copy a report (without its PRD curve) into reports/")
    keep_parser.add_argument("report", type=Path)
    keep_parser.add_argument("name", help="file name in reports/, without .json")
    keep_parser.add_argument("--replace", action="store_true")
    commands.add_parser("write", help="rebuild the tables in the documents")
    commands.add_parser("check", help="exit 1 if a table is out of date")
    args = parser.parse_args()

    reports_dir = args.root / "docs" / "reports"
    try:
        if args.command == "keep":
            print(f"kept {keep(args.report, args.name, reports_dir, args.replace)}")
            return 0
        tables = read_tables(reports_dir / "tables.toml")
        documents = {}  # path -> (text now, text with its tables rebuilt)
        for name in dict.fromkeys(table.document for table in tables):
            text = (args.root / name).read_text(encoding="utf-8")
            documents[args.root / name] = (
                text, update_document(text, [table for table in tables if table.document == name], reports_dir))
    except (SneakerganError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = [path for path, (text, updated) in documents.items() if updated != text]
    if args.command == "check":
        for path in stale:
            print(f"{path}: a table is out of date; run: python scripts/results_table.py write", file=sys.stderr)
        if not stale:
            print(f"every table matches the reports ({', '.join(str(path) for path in documents)})")
        return 1 if stale else 0
    for path in stale:
        atomic_write_text(path, documents[path][1])
        print(f"rebuilt the tables of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
