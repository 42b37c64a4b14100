"""The score tables of docs/results.md and README.md, built from the evaluation reports they cite.

Every figure in a table is read from a report that `sneakergan evaluate` wrote (kept in docs/reports/
without its PRD curve arrays), and a report is accepted only if it was made at its column's resolution
with the table's sample count (10,000, the standard protocol, unless the table says otherwise) — so a
number in the docs can neither drift from its run nor come from a smaller or different evaluation.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sneakergan.errors import ConfigError

STANDARD_N_GENERATED = 10_000
RESOLUTIONS = (28, 112)
# What a kept report leaves out: the PRD curve's 2 x 1,001 floats (the figure beside the report has it).
LEFT_OUT_OF_KEPT_REPORTS = ("prd_curve",)
DEFAULT_DOCUMENT = "docs/results.md"
TABLE_KEYS = {"name", "document", "first_header", "resolutions", "columns", "note_header", "n_generated", "row"}


def _kid(report: dict[str, Any]) -> str:
    # Four decimals below 0.1, three above (as the docs have always given KID); the spread to the same decimal.
    digits = 4 if report["kid_mean"] < 0.1 else 3
    mean = round(report["kid_mean"], digits) + 0.0  # + 0.0 turns a rounded -0.0 (KID is unbiased) into 0.0
    return f"{mean:.{digits}f} ± {report['kid_std']:.{digits}f}"


def _pair(first: str, second: str) -> Callable[[dict[str, Any]], str]:
    return lambda report: f"{report[first]:.3f} / {report[second]:.3f}"


# Column name -> (header, cell). The names are what a table's `columns` list in the manifest.
COLUMNS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "fid": ("FID", lambda report: f"{report['fid']:.1f}"),
    "kid": ("KID", _kid),
    "prd": ("PRD F_8 / F_1/8", _pair("prd_f8", "prd_f1_8")),
    "pr": ("precision / recall", _pair("precision", "recall")),
    "dc": ("density / coverage", _pair("density", "coverage")),
    "memorization": ("memorisation ratio", lambda report: f"{report['memorization']['ratio']:.2f}"),
}


@dataclass(frozen=True)
class Row:
    label: str
    reports: dict[int, str]  # resolution -> report file name in the reports folder
    note: str
    bold: bool = False  # the row to read first (the bundled model): its scores in bold


@dataclass(frozen=True)
class Table:
    name: str
    first_header: str
    columns: tuple[str, ...]
    resolutions: tuple[int, ...]
    note_header: str
    n_generated: int
    rows: tuple[Row, ...]
    document: str  # the file it lives in, relative to the repository's root


def _row(entry: dict[str, Any], where: str, resolutions: tuple[int, ...]) -> Row:
    report_keys = {f"at{res}" for res in resolutions}
    if "label" not in entry or set(entry) - {"label", "note", "bold"} - report_keys:
        raise ConfigError(f"{where} needs a label and takes only note, bold and "
                          f"{', '.join(sorted(report_keys))} (got {sorted(entry)})")
    return Row(entry["label"], {res: entry[f"at{res}"] for res in resolutions if f"at{res}" in entry},
               entry.get("note", ""), bool(entry.get("bold", False)))


def read_tables(manifest: Path) -> list[Table]:
    """The tables, each with its rows in order, from a TOML manifest of `[[table]]` / `[[table.row]]`."""
    try:
        entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("table", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the results manifest {manifest}: {exc}") from None
    tables = []
    for number, entry in enumerate(entries, 1):
        where = f"{manifest}: table {entry.get('name', number)}"
        resolutions = tuple(entry.get("resolutions", ()))
        columns = tuple(entry.get("columns", ()))
        if "name" not in entry or not resolutions or set(resolutions) - set(RESOLUTIONS) \
                or not columns or set(columns) - set(COLUMNS) or set(entry) - TABLE_KEYS:
            raise ConfigError(f"{where} needs a name, resolutions among {RESOLUTIONS} and columns among "
                              f"{sorted(COLUMNS)}, and takes only {sorted(TABLE_KEYS)} (got {sorted(entry)})")
        rows = tuple(_row(row, f"{where}, row {i}", resolutions) for i, row in enumerate(entry.get("row", []), 1))
        tables.append(Table(entry["name"], entry.get("first_header", ""), columns, resolutions,
                            entry.get("note_header", ""), entry.get("n_generated", STANDARD_N_GENERATED), rows,
                            entry.get("document", DEFAULT_DOCUMENT)))
    return tables


def load_report(path: Path, resolution: int, n_generated: int = STANDARD_N_GENERATED) -> dict[str, Any]:
    """A report, refused unless it was made at `resolution` from `n_generated` samples."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the evaluation report {path}: {exc}") from None
    found = (report.get("resolution"), report.get("n_generated"))
    if found != (resolution, n_generated):
        raise ConfigError(f"{path} is not an evaluation of {n_generated:,} samples at {resolution}x{resolution}: "
                          f"resolution {found[0]}, {found[1]} generated samples")
    return report


def kept_report(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key not in LEFT_OUT_OF_KEPT_REPORTS}


def render(table: Table, reports_dir: Path) -> str:
    """The table in markdown; "—" where a row has no report at a resolution. Rows' notes make the last
    column if the table names one."""
    header = [table.first_header]
    for res in table.resolutions:
        suffix = f" ({res}x{res})" if len(table.resolutions) > 1 else ""
        header += [COLUMNS[column][0] + suffix for column in table.columns]
    if table.note_header:
        header.append(table.note_header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table.rows:
        cells = [row.label]
        for res in table.resolutions:
            name = row.reports.get(res)
            report = load_report(reports_dir / name, res, table.n_generated) if name else None
            scores = [COLUMNS[column][1](report) if report else "—" for column in table.columns]
            cells += [f"**{score}**" if row.bold and report else score for score in scores]
        if table.note_header:
            cells.append(row.note)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def start_marker(name: str) -> str:
    return f"<!-- table {name}: generated from docs/reports by scripts/results_table.py, do not edit by hand -->"


def end_marker(name: str) -> str:
    return f"<!-- end of table {name} -->"


def replace_table(document: str, name: str, table: str) -> str:
    """`document` with the text between table `name`'s markers replaced by `table`."""
    start, end = document.find(start_marker(name)), document.find(end_marker(name))
    if start < 0 or end < start:
        raise ConfigError(f"the document has no markers for table {name!r} ({start_marker(name)!r} ... "
                          f"{end_marker(name)!r})")
    return document[:start + len(start_marker(name))] + "\n" + table + "\n" + document[end:]


def update_document(document: str, tables: list[Table], reports_dir: Path) -> str:
    for table in tables:
        document = replace_table(document, table.name, render(table, reports_dir))
    return document
