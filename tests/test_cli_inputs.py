"""Absurd or impossible option values: exit status 2, one line naming the option, no traceback, nothing
written, and all of it before any model or image is loaded."""

import pytest
from PIL import Image

from sneakergan.cli import main

GEN = ["generate", "--out", "g.png"]
EVAL = ["evaluate", "--data", ".", "--out", "r.json"]
EVAL_SR = ["eval-sr", "--sr-run", "run", "--data", "."]
TOO_BIG = "the grid would be"


@pytest.mark.parametrize("args, message", [
    ([*GEN, "-n", "0"], "-n must be between 1 and 100000, got 0"),
    ([*GEN, "-n", "-5"], "-n must be between 1 and 100000, got -5"),
    ([*GEN, "-n", "1000000000"], "-n must be between 1 and 100000"),
    ([*GEN, "--seed", "-1"], "--seed must be between 0 and 9223372036854775807, got -1"),
    ([*GEN, "--seed", str(2**63)], "--seed must be between 0 and 9223372036854775807"),
    ([*GEN, "--seed", str(10**40)], "--seed must be between 0 and 9223372036854775807"),
    ([*GEN, "--nrow", "0"], "--nrow must be >= 1, got 0"),
    ([*GEN, "--nrow", "-3"], "--nrow must be >= 1, got -3"),
    ([*GEN, "--scale", "0"], "--scale must be >= 1, got 0"),
    ([*GEN, "--scale", "-2"], "--scale must be >= 1, got -2"),
    ([*GEN, "--scale", "100000"], TOO_BIG),  # 64 tiles of 112 px, 100000 times larger
    ([*GEN, "--nrow", "1000000000"], TOO_BIG),
    ([*GEN, "-n", "100000"], TOO_BIG),  # fine with --format files, not as one picture
    ([*GEN, "--stage", "lr", "-n", "64", "--scale", "400"], TOO_BIG),
    ([*GEN, "--device", "gpu"], "--device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
    (["generate", "--out", "g.tiff"], "--out g.tiff must end in .png, .jpg, .jpeg, .webp"),
    (["generate", "--out", "folder.png"], "--out folder.png is a folder"),
    (["generate", "--out", "taken.png"], "taken.png already exists; pass --replace"),
    (["generate", "--out", "notes.txt/g.png"], "notes.txt is a file, not a folder"),
    (["generate", "--format", "files", "--out", "notes.txt/samples"], "notes.txt is a file, not a folder"),
    ([*EVAL, "--n", "1"], "--n must be between 20 and 100000, got 1"),
    ([*EVAL, "--n", "-10000"], "--n must be between 20 and 100000"),
    ([*EVAL, "--n", "10000000"], "--n must be between 20 and 100000"),
    ([*EVAL, "--res", "64"], "--res must be one of 28, 112"),
    ([*EVAL, "--seed", "-7"], "--seed must be between 0 and 9223372036854775807"),
    ([*EVAL, "--workers", "0"], "--workers must be between 1 and 64, got 0"),
    ([*EVAL, "--workers", "-2"], "--workers must be between 1 and 64"),
    ([*EVAL, "--workers", "100000"], "--workers must be between 1 and 64"),
    ([*EVAL, "--device", "cuda:first"], "--device must be"),
    (["evaluate", "--data", "/no/such/folder", "--out", "r.json"], "--data /no/such/folder does not exist"),
    ([*EVAL, "--images", "/no/such/samples"], "--images /no/such/samples does not exist"),
    (["evaluate", "--data", ".", "--out", "report.txt"], "--out report.txt must end in .json"),
    (["evaluate", "--data", ".", "--out", "taken.json"], "taken.json already exists"),
    (["evaluate", "--data", ".", "--out", "plots.json"], "plots_prd.png already exists"),
    ([*EVAL_SR, "--rows", "0"], "--rows must be >= 1, got 0"),
    ([*EVAL_SR, "--workers", "0"], "--workers must be between 1 and 64"),
    ([*EVAL_SR, "--device", "tpu"], "--device must be"),
    ([*EVAL_SR, "--out", "sr.png"], "--out sr.png must end in .json"),
    ([*EVAL_SR, "--out", "taken.json"], "taken.json already exists"),
    ([*EVAL_SR, "--out", "figure.json"], "figure.png already exists"),
    (["eval-sr", "--sr-run", "run", "--data", "/no/such/folder"], "--data /no/such/folder does not exist"),
    (["plot-prd", "a.json", "--out", "prd.jpg"], "--out prd.jpg must end in .png"),
    (["plot-prd", "a.json", "--out", "taken.png"], "taken.png already exists"),
])
def test_bad_option_values_are_one_line_errors(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "notes.txt").write_text("a file")
    for name in ("taken.png", "taken.json", "plots_prd.png", "figure.png"):
        (tmp_path / name).write_bytes(b"precious")
    before = sorted(tmp_path.rglob("*"))

    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1  # one line
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing overwritten
    assert (tmp_path / "taken.png").read_bytes() == b"precious"


@pytest.mark.parametrize("args, message", [
    (["generate", "-n", "many", "--out", "g.png"], "argument -n: invalid int value: 'many'"),
    (["generate", "--seed", "1.5", "--out", "g.png"], "argument --seed: invalid int value: '1.5'"),
    (["evaluate", "--data", ".", "--out", "r.json", "--workers", "all"], "argument --workers: invalid int value"),
])
def test_non_numbers_are_refused_by_the_parser(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_bounds_themselves_are_accepted(tmp_path):
    # The largest seed and the smallest -n, --nrow and --scale, with the bundled stage 1.
    out = tmp_path / "one.png"
    assert main(["generate", "--stage", "lr", "-n", "1", "--seed", str(2**63 - 1), "--nrow", "1", "--scale", "1",
                 "--device", "cpu", "--out", str(out)]) == 0
    with Image.open(out) as grid:
        assert grid.size == (2 + 28 + 2, 2 + 28 + 2)


def test_replacing_a_samples_folder_leaves_no_stale_samples(tmp_path):
    out = tmp_path / "samples"
    common = ["generate", "--stage", "lr", "--format", "files", "--device", "cpu", "--out", str(out)]
    assert main([*common, "-n", "5"]) == 0
    (out / "notes.txt").write_text("not a sample: kept")
    assert main([*common, "-n", "2", "--replace"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "seed0000-00000.png", "seed0000-00001.png"]


@pytest.mark.parametrize("name, image_format", [("grid.png", "PNG"), ("grid.jpg", "JPEG"), ("grid.webp", "WEBP")])
def test_the_grids_format_follows_its_extension(tmp_path, name, image_format):
    from PIL import Image

    assert main(["generate", "--stage", "lr", "-n", "4", "--device", "cpu", "--out", str(tmp_path / name)]) == 0
    with Image.open(tmp_path / name) as grid:
        assert grid.format == image_format


def test_files_carry_their_seed_and_type(tmp_path):
    from PIL import Image

    out = tmp_path / "files"
    assert main(["generate", "--stage", "lr", "-n", "2", "--seed", "7", "--format", "files", "--file-type", "webp",
                 "--device", "cpu", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed0007-00000.webp", "seed0007-00001.webp"]
    with Image.open(out / "seed0007-00000.webp") as image:
        assert image.format == "WEBP" and image.size == (28, 28)


@pytest.mark.parametrize("name, image_format, frames", [("m.gif", "GIF", 5), ("m.webp", "WEBP", 5),
                                                         ("m.jpg", "JPEG", 1)])
def test_interpolations_format_follows_its_extension(tmp_path, name, image_format, frames):
    from PIL import Image

    assert main(["interpolate", "--seeds", "0", "1", "--frames", "4", "--stage", "lr", "--device", "cpu",
                 "--out", str(tmp_path / name)]) == 0
    with Image.open(tmp_path / name) as picture:
        assert picture.format == image_format and getattr(picture, "n_frames", 1) >= frames


@pytest.mark.parametrize("extra, message", [
    (["--seed", str(2**43 + 1)], "seed must be <= 8796093022208"),
    (["--set", "g_width=1000000000"], "g_width must be <= 65536"),
    (["--lr-g", "inf"], "lr_g must be <= 1, got inf"),
    (["--set", "lr_d=1e308"], "lr_d must be <= 1, got 1e+308"),
    (["--device", "cudafoo"], "device must be auto, cpu, cuda or cuda:N"),
    (["--workers", "0"], "--workers must be between 1 and 64"),
])
def test_absurd_train_options_are_one_line_errors(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--preset", "seed-mlp", "--data", str(tmp_path), "--out", "run", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_taken_out_fails_before_the_data_is_read(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    # --data does not exist: the --out check must come first and name --out's problem
    assert main(["train", "--preset", "seed-mlp", "--data", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "run")]) == 2
    assert "already holds files" in capsys.readouterr().err
