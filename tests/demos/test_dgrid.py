import json

import numpy as np
import pytest

from sneakergan.cli import main
from sneakergan.demos.dgrid import read_histograms, separation
from sneakergan.errors import RunDirError
from sneakergan.viz.plots import histogram_counts

GAPS = [0.0, 0.5, 1.0, 2.0, 3.0, 5.0]  # real and fake means drift apart epoch by epoch


def _write_run(root, gaps=GAPS, extra_lines=()):
    """A run folder whose d_histograms.jsonl is what the trainer writes, D's outputs drawn from two
    normals `gap` apart."""
    rng = np.random.default_rng(0)
    root.mkdir()
    lines = []
    for epoch, gap in enumerate(gaps, 1):
        real, fake = rng.normal(gap / 2, 1, 512), rng.normal(-gap / 2, 1, 512)
        lines.append(json.dumps({"epoch": epoch, "step": 10 * epoch, **histogram_counts(real, fake, None)}))
    (root / "d_histograms.jsonl").write_text("\n".join([*lines, *extra_lines]) + "\n")
    (root / "config.json").write_text(json.dumps({"preset": "seed-dcgan", "loss": "lsgan"}))
    return root


def test_overlap_falls_as_the_separation_grows(tmp_path):
    records = read_histograms(_write_run(tmp_path / "run"))
    separations = [separation(record) for record in records]
    overlaps = [s.overlap for s in separations]
    assert [s.epoch for s in separations] == [1, 2, 3, 4, 5, 6]
    assert overlaps[0] > 0.85 and overlaps[-1] < 0.05
    assert all(later < earlier for earlier, later in zip(overlaps, overlaps[1:]))
    assert [s.gap for s in separations] == pytest.approx(GAPS, abs=0.2)


def test_command_prints_the_falling_overlap_and_draws_the_figure(tmp_path, capsys):
    run, out = _write_run(tmp_path / "run"), tmp_path / "dgrid.png"
    assert main(["demo", "dgrid", str(run), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[1:-2]]
    assert [int(row[0]) for row in rows] == [1, 2, 3, 4, 5, 6]
    printed = [float(row[1]) for row in rows]
    assert all(later < earlier for earlier, later in zip(printed, printed[1:]))
    assert lines[-2].startswith(f"overlap {printed[0]:.3f} (epoch 1) -> {printed[-1]:.3f} (epoch 6)")
    assert lines[-1].startswith(f"epoch 6: mean overlap {printed[-1]:.3f}")  # the last quarter of 6 epochs
    assert out.stat().st_size > 10_000


def test_a_resumed_epoch_and_a_torn_line_are_handled(tmp_path):
    redo = json.dumps({"epoch": 2, "step": 20, **histogram_counts(np.ones(4), np.zeros(4), (0.0, 1.0), bins=2)})
    run = _write_run(tmp_path / "run", GAPS[:3], extra_lines=[redo, '{"epoch": 4, "edges": [0, 1'])
    records = read_histograms(run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert separation(records[1]).overlap == 0.0  # the later line for epoch 2 won


def test_missing_histograms_are_a_one_line_error(tmp_path, capsys):
    empty = tmp_path / "run"
    empty.mkdir()
    out = tmp_path / "dgrid.png"
    for target in (empty, tmp_path / "absent"):
        assert main(["demo", "dgrid", str(target), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err
    assert not out.exists()
    (empty / "d_histograms.jsonl").write_text("not json\n")
    with pytest.raises(RunDirError, match="no complete histogram"):
        read_histograms(empty)
