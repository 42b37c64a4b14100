"""`sneakergan report` on the command line: where it writes, what it refuses, and its one-line errors."""

import sys

import pytest

from sneakergan.cli import main
from sneakergan.inference.run_dir import RunDir
from tests.train.test_loop import _config


@pytest.fixture
def run(tmp_path):
    """A run folder holding only its config: enough for the command, which reports what is missing."""
    RunDir.create(tmp_path / "run", _config())
    return tmp_path / "run"


def _error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_report_writes_beside_the_run_and_never_overwrites_without_replace(run, capsys):
    assert main(["report", str(run)]) == 0
    out = run / "report.html"
    assert capsys.readouterr().out.strip() == str(out)
    written = out.read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>") and "sneakergan report: run" in written

    out.write_text("keep me")
    assert main(["report", str(run)]) == 2
    assert _error_line(capsys) == f"error: {out} already exists; pass --replace to overwrite it"
    assert out.read_text() == "keep me"
    assert main(["report", str(run), "--replace"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p.name for p in run.iterdir() if p.name.startswith(".report")]  # no temporary left behind


def test_report_out_option(run, tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "page.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out) and out.stat().st_size > 0
    assert main(["report", str(run), "--out", str(tmp_path / "page.txt")]) == 2
    assert "must end in .html" in _error_line(capsys)
    with pytest.raises(SystemExit):  # argparse: --out and --tensorboard exclude each other
        main(["report", str(run), "--out", str(out), "--tensorboard", str(tmp_path / "tb")])


@pytest.mark.parametrize("make, message", [
    (lambda folder: None, "does not exist"),
    (lambda folder: folder.mkdir(), "is not a sneakergan run folder (no config.json)"),
    (lambda folder: folder.write_text("x"), "is not a folder"),
], ids=["missing", "no-config", "a-file"])
def test_a_missing_or_foreign_folder_is_a_one_line_error(tmp_path, capsys, make, message):
    folder = tmp_path / "runs" / "dcgan"
    folder.parent.mkdir()
    make(folder)
    assert main(["report", str(folder)]) == 2
    assert _error_line(capsys) == f"error: {folder} {message}"
    assert not (tmp_path / "runs" / "dcgan" / "report.html").exists()


def test_tensorboard_without_the_package_says_how_to_install_it(run, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed: imports fail
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    assert main(["report", str(run), "--tensorboard", str(tmp_path / "tb")]) == 2
    assert _error_line(capsys) == ("error: --tensorboard needs the tensorboard package: "
                                   "pip install 'sneakergan[tensorboard]'")
    assert not (tmp_path / "tb").exists()
