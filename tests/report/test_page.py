"""`sneakergan report`'s HTML: built from tiny real runs (tests/report/conftest.py), checked as text."""

import base64
import html
import json
import re
import shutil

import numpy as np
import pytest

from sneakergan.errors import RunDirError
from sneakergan.inference.run_dir import RunDir
from sneakergan.report.data import read_run
from sneakergan.report.figures import moving_average, overlaid_epochs
from sneakergan.report.page import render_report, write_report
from tests.report.conftest import DESCRIPTION, GAN_EPOCHS, LABEL, RUN_NAME
from tests.train.test_loop import _config

SECTIONS = ("summary", "config", "training", "samples", "histograms", "scores", "evaluations", "super-resolution")


def _section(page, section_id):
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match[1]


def _frames(page, testid):
    """(epoch, PNG bytes) of each embedded frame of a scrubber, in page order."""
    found = re.findall(rf'<img src="data:image/png;base64,([^"]+)"[^>]*data-epoch="(\d+)" data-testid="{testid}"',
                       page)
    return [(int(epoch), base64.b64decode(data)) for data, epoch in found]


def _missing_lines(page):
    return [html.unescape(line) for line in re.findall(r'data-testid="missing">not available: ([^<]*)</p>', page)]


def test_the_report_of_a_trained_run_shows_every_section(gan_run, tmp_path):
    out = write_report(gan_run, tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<section id=") == len(SECTIONS)
    for section_id in SECTIONS:
        _section(page, section_id)
    summary = html.unescape(_section(page, "summary"))
    assert f"<td>epochs done</td><td>{GAN_EPOCHS} of {GAN_EPOCHS}</td>" in summary
    assert "<td>steps done</td><td>15</td>" in summary and "summed over the logged intervals" in summary
    config = json.loads((gan_run / "config.json").read_text())
    assert all(f"<td>{key}</td>" in _section(page, "config") for key in config)

    samples = _frames(page, "samples-frame")
    files = sorted((gan_run / "samples").glob("epoch_*.png"))
    assert len(samples) == len(files) == GAN_EPOCHS
    assert samples == [(epoch, path.read_bytes()) for epoch, path in zip(range(1, GAN_EPOCHS + 1), files)]
    assert len(_frames(page, "histograms-frame")) == GAN_EPOCHS
    # all frames but the last start hidden: the page opens on the last epoch
    assert len(re.findall(r'data-testid="samples-frame" hidden="hidden"', page)) == GAN_EPOCHS - 1
    for testid in ("training-curves", "histogram-overlay", "score-curve", "prd-curve", "nearest-panel"):
        assert page.count(f'data-testid="{testid}"') == 1, testid

    scores = _section(page, "scores")
    assert [float(s) for s in re.findall(r'<td class="number">(\d+\.\d{3})</td>', scores)] == [30.0, 20.0, 25.0]
    evaluations = html.unescape(_section(page, "evaluations"))
    for shown in ("<td>FID</td><td>12.35</td>", "0.0056 ± 0.0007", "0.971 / 0.982", "0.613 / 0.361",
                  "0.686 / 0.748", "<td>1.06</td>", "2000 / 40"):
        assert shown in evaluations, shown
    assert _missing_lines(page) == [
        "eval/notes.json is not a report of `sneakergan evaluate` or `eval-sr`",
        f"{RUN_NAME} is a stage-1 run (task gan); `sneakergan eval-sr --sr-run STAGE2_RUN --data HELD_OUT_IMAGES` "
        "scores stage-2 (super-resolution) runs"]
    # self-contained: every src and href is embedded data or a link within the page
    assert not [url for url in re.findall(r'(?:src|href)="([^"]*)"', page) if not url.startswith(("data:", "#"))]


def test_text_from_the_run_is_escaped(gan_run):
    page = render_report(read_run(gan_run))
    for raw in (DESCRIPTION, LABEL, RUN_NAME):
        assert raw not in page
        assert html.escape(raw) in page
    assert "<script>alert" not in page and page.count("<script>") == 1  # only the page's own scrubber script


def test_a_run_with_only_its_config_says_what_is_missing(tmp_path):
    RunDir.create(tmp_path / "bare", _config())
    page = render_report(read_run(tmp_path / "bare"))
    assert "<img" not in page and "<td>steps done</td><td>none yet</td>" in page
    missing = _missing_lines(page)
    assert len(missing) == 7
    for hint in ("sneakergan train writes one every log_every steps", "no samples/epoch_*.png",
                 "no d_histograms.jsonl", "no histograms/epoch_*.png", "--eval-every N",
                 f"sneakergan evaluate --run {tmp_path / 'bare'} --data TRAIN_IMAGES", "is a stage-1 run"):
        assert sum(hint in line for line in missing) == 1, hint


def test_an_sr_run_shows_its_eval_sr_report(sr_run, tmp_path):
    page = write_report(sr_run, tmp_path / "sr.html").read_text(encoding="utf-8")
    assert "<td>task</td><td>sr (stage 2: 4x super-resolution)</td>" in page
    assert len(_frames(page, "samples-frame")) == 2 and "bicubic upscaling | the SR output" in page
    sr = html.unescape(_section(page, "super-resolution"))
    for shown in ("812 held-out images from /somewhere/test", "96.9% of the images",
                  '<td>PSNR-Y (dB)</td><td class="number">26.74</td><td class="number">24.43</td>'
                  '<td class="number">+2.31</td>', '<td class="number">0.8675</td>', '<td class="number">+0.11</td>',
                  "LR (nearest) | bicubic | SR | original"):
        assert shown in sr, shown
    figure = re.search(r'src="data:image/png;base64,([^"]+)"[^>]*data-testid="sr-comparison"', sr)
    assert base64.b64decode(figure[1]) == (sr_run / "eval" / "sr_test.png").read_bytes()  # beside the JSON
    assert "--sr-run " + str(sr_run) in " ".join(_missing_lines(page))  # how to score it at 112


def test_broken_files_become_notes_not_errors(gan_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    (run / "samples" / "epoch_0002.png").write_text("not a png")
    (run / "eval" / "res28_n2000_prd.png").unlink()
    (run / "eval" / "broken.json").write_text("{")
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": "x", "img_per_s": 1}\n{"eval": {"eval_seconds": 1.0}, "step": 20}\n{"cut sho')
    with open(run / "d_histograms.jsonl", "a") as handle:
        handle.write('{"epoch": 4, "edges": [0, 1], "real": [1, 2], "fake": [3]}\n')
    page = render_report(read_run(run))
    assert len(_frames(page, "samples-frame")) == GAN_EPOCHS - 1
    missing = " | ".join(_missing_lines(page))
    assert "1 sample grid file(s) are not readable PNGs: epoch_0002.png" in missing
    assert "the PRD curve of eval/res28_n2000.json is missing" in missing
    assert "eval/broken.json cannot be read" in missing
    assert re.findall(r'<td class="number">(\d+\.\d{3})</td>', _section(page, "scores")) == ["30.000", "20.000",
                                                                                            "25.000"]


def test_a_missing_folder_or_config_is_a_run_dir_error(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        read_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="no config.json"):
        read_run(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("[1, 2")
    with pytest.raises(RunDirError, match="cannot be read"):
        read_run(tmp_path / "bad")


def test_moving_average_skips_gaps_and_overlays_spread_evenly():
    values = [1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 5.0]
    assert np.allclose(moving_average(values, 3), [1, 2, 3, 3, np.nan, 5, 5], equal_nan=True)
    assert overlaid_epochs(3) == [0, 1, 2] and overlaid_epochs(150, 6) == [0, 30, 60, 89, 119, 149]
