import json
import subprocess
import sys
from pathlib import Path

import pytest

from sneakergan.errors import ConfigError
from sneakergan.report.results_table import (
    end_marker,
    kept_report,
    load_report,
    read_tables,
    render,
    replace_table,
    start_marker,
)

ROOT = Path(__file__).resolve().parents[2]
SCORES = {"fid": 12.5432, "kid_mean": 0.00561, "kid_std": 0.00071, "prd_f8": 0.9711, "prd_f1_8": 0.9823,
          "precision": 0.6129, "recall": 0.3611}


def _report(folder: Path, name: str, resolution: int, n: int = 10_000, **scores) -> None:
    body = {"resolution": resolution, "n_generated": n, **SCORES, **scores, "prd_curve": {"precision": [1.0]}}
    (folder / name).write_text(json.dumps(body))


def _manifest(folder: Path, text: str) -> Path:
    (folder / "table.toml").write_text(text)
    return folder / "table.toml"


TWO_RESOLUTIONS = """
[[table]]
name = "t"
first_header = "model"
resolutions = [28, 112]
columns = ["fid", "kid", "prd", "pr"]
note_header = "training"
  [[table.row]]
  label = "a"
  at28 = "a-28.json"
  at112 = "a-112.json"
  note = "1 h"
  bold = true
  [[table.row]]
  label = "b"
  at28 = "a-28.json"
"""


def test_table_reads_each_figure_from_its_report_and_dashes_what_was_not_run(tmp_path):
    _report(tmp_path, "a-28.json", 28)
    _report(tmp_path, "a-112.json", 112, fid=119.65, kid_mean=0.11407, kid_std=0.00244)
    [table] = read_tables(_manifest(tmp_path, TWO_RESOLUTIONS))
    lines = render(table, tmp_path).splitlines()
    assert len(lines) == 4 and lines[0].startswith("| model | FID (28x28) | KID (28x28) |")
    assert lines[2] == ("| a | **12.5** | **0.0056 ± 0.0007** | **0.971 / 0.982** | **0.613 / 0.361** "
                        "| **119.7** | **0.114 ± 0.002** | **0.971 / 0.982** | **0.613 / 0.361** | 1 h |")
    assert lines[3] == "| b | 12.5 | 0.0056 ± 0.0007 | 0.971 / 0.982 | 0.613 / 0.361 | — | — | — | — |  |"


def test_one_resolution_without_a_note_column_and_its_own_sample_count(tmp_path):
    _report(tmp_path, "real.json", 112, n=812, kid_mean=-0.00002, kid_std=0.0001, density=1.0982, coverage=1.0)
    manifest = ('[[table]]\nname = "c"\nresolutions = [112]\ncolumns = ["kid", "dc"]\nn_generated = 812\n'
                '[[table.row]]\nlabel = "real"\nat112 = "real.json"\n')
    [table] = read_tables(_manifest(tmp_path, manifest))
    assert render(table, tmp_path).splitlines()[2] == "| real | 0.0000 ± 0.0001 | 1.098 / 1.000 |"


@pytest.mark.parametrize("resolution, n", [(112, 10_000), (28, 2_000)])
def test_a_report_off_the_standard_protocol_is_refused(tmp_path, resolution, n):
    _report(tmp_path, "r.json", resolution, n=n)
    with pytest.raises(ConfigError, match="not an evaluation of 10,000 samples at 28x28"):
        load_report(tmp_path / "r.json", 28)


def test_manifest_mistakes_are_named(tmp_path):
    with pytest.raises(ConfigError, match="row 1 needs a label"):
        read_tables(_manifest(tmp_path, TWO_RESOLUTIONS.replace('label = "a"', 'labl = "a"')))
    with pytest.raises(ConfigError, match="table t needs a name, resolutions among"):
        read_tables(_manifest(tmp_path, TWO_RESOLUTIONS.replace('"prd"', '"fid50k"')))
    with pytest.raises(ConfigError, match="takes only"):
        read_tables(_manifest(tmp_path, TWO_RESOLUTIONS.replace("note_header", "note_heading")))
    with pytest.raises(ConfigError, match="cannot read the evaluation report"):
        load_report(tmp_path / "missing.json", 28)


def test_kept_report_leaves_out_the_curve_only():
    report = {"fid": 1.0, "prd_curve": {"precision": [0.5]}, "memorization": {"ratio": 1.1}}
    assert kept_report(report) == {"fid": 1.0, "memorization": {"ratio": 1.1}}


def test_replace_table_touches_only_the_text_between_the_markers():
    document = f"intro\n{start_marker('t')}\nold\n{end_marker('t')}\nrest\n"
    assert replace_table(document, "t", "| new |") == f"intro\n{start_marker('t')}\n| new |\n{end_marker('t')}\nrest\n"
    with pytest.raises(ConfigError, match="no markers for table 'u'"):
        replace_table(document, "u", "| new |")


def test_results_md_tables_match_the_kept_reports():
    """docs/results.md's tables are what their reports say (rebuild it with `scripts/results_table.py write`)."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "results_table.py"), "check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
