"""End to end through the command line, as a user runs it."""

import json

import numpy as np
import pytest
from PIL import Image

from sneakergan.cli import main


def _train_args(data, out, *extra):
    return ["train", "--preset", "seed-mlp", "--data", str(data), "--out", str(out), "--epochs", "2",
            "--batch-size", "16", "--set", "g_width=32", "--set", "d_width=32", "--device", "cpu", *extra]


def test_train_then_generate_grid_and_files(tiny_image_folder, tmp_path):
    run = tmp_path / "run"
    assert main(_train_args(tiny_image_folder, run)) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["g_width"] == 32 and config["batch_size"] == 16 and config["data"] == str(tiny_image_folder)

    lr_only = ["generate", "--run", str(run), "--stage", "lr"]
    assert main([*lr_only, "-n", "9", "--seed", "3", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.size == (3 * 30 + 2, 3 * 30 + 2)
    assert main([*lr_only, "-n", "5", "--format", "files", "--out", str(tmp_path / "f")]) == 0
    files = sorted((tmp_path / "f").iterdir())
    assert len(files) == 5 and Image.open(files[0]).size == (28, 28)

    # same seed, same images
    main([*lr_only, "-n", "9", "--seed", "3", "--out", str(tmp_path / "h.png")])
    assert np.array_equal(np.asarray(Image.open(tmp_path / "g.png")), np.asarray(Image.open(tmp_path / "h.png")))


def test_resume_extends_a_run(tiny_image_folder, tmp_path):
    run = tmp_path / "run"
    assert main(_train_args(tiny_image_folder, run)) == 0
    assert main(["train", "--resume", str(run), "--epochs", "3", "--precision", "bf16"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["epoch"] == 3 and (run / "samples" / "epoch_0003.png").exists()
    config = json.loads((run / "config.json").read_text())
    assert config["epochs"] == 3 and config["precision"] == "bf16"  # a resumable choice, recorded


@pytest.mark.parametrize("args, message", [
    (["train", "--preset", "seed-mlp", "--data", "/no/such/folder", "--out", "x"], "/no/such/folder"),
    (["train", "--preset", "nope", "--data", ".", "--out", "x"], "unknown preset 'nope'"),
    (["train", "--preset", "seed-mlp"], "needs --preset, --data and --out"),
    (["train", "--resume", "/no/such/run"], "not a sneakergan run folder"),
    (["generate", "--run", "/no/such/run", "--out", "g.png"], "not a sneakergan run folder"),
    (["train", "--preset", "seed-mlp", "--data", ".", "--out", "x", "--set", "colour=red"], "unknown config field"),
    (["train", "--preset", "seed-mlp", "--data", ".", "--out", "x", "--set", "precision=fp8"], "precision must be"),
])
def test_user_mistakes_are_one_line_errors(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_empty_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--preset", "seed-mlp", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    assert "no usable images" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing created for a failed start


def test_existing_outputs_are_not_overwritten(tiny_image_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_train_args(tiny_image_folder, run)) == 0
    assert main(_train_args(tiny_image_folder, run)) == 2
    assert "--resume" in capsys.readouterr().err
    (tmp_path / "g.png").write_bytes(b"precious")
    assert main(["generate", "--run", str(run), "--stage", "lr", "--out", str(tmp_path / "g.png")]) == 2
    assert (tmp_path / "g.png").read_bytes() == b"precious"


def test_presets_lists_the_seed_models(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "seed-mlp" in out and "seed-dcgan" in out


@pytest.mark.shared_data
@pytest.mark.parametrize("preset", ["seed-mlp", "seed-dcgan"])
def test_two_epochs_on_the_real_sneakers(shared_data, tmp_path, preset):
    run = tmp_path / preset
    args = ["train", "--preset", preset, "--data", str(shared_data / "sneakers" / "train"), "--out", str(run),
            "--epochs", "2", "--max-images", "512", "--device", "cpu"]
    assert main(args) == 0
    for name in ("config.json", "metrics.jsonl", "d_histograms.jsonl", "loss_curve.png", "checkpoint.safetensors",
                 "samples/epoch_0001.png", "samples/epoch_0002.png",
                 "histograms/epoch_0001.png", "histograms/epoch_0002.png"):
        assert (run / name).stat().st_size > 0, name
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 2 * (512 // 128)
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in records)


def test_files_output_onto_an_existing_file_is_a_clear_error(tiny_image_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_train_args(tiny_image_folder, run)) == 0
    (tmp_path / "taken").write_text("not a folder")
    assert main(["generate", "--run", str(run), "--stage", "lr", "--format", "files",
                 "--out", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert "exists and is not a folder" in err and "Traceback" not in err
