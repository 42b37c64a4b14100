"""Stage 2 end to end through the command line: train-sr, resume, generate --sr-run, eval-sr."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.cli import main
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.io import read_jsonl

TINY = ["--set", "g_width=8", "--set", "sr_blocks=1", "--set", "d_width=8", "--set", "n_samples=4",
        "--set", "pretrain_epochs=1", "--set", "log_every=2", "--batch-size", "16", "--max-images", "32",
        "--device", "cpu"]


def _train_sr(data, out, epochs=2, *extra):
    return main(["train-sr", "--preset", "seed-srgan", "--data", str(data), "--out", str(out),
                 "--epochs", str(epochs), *TINY, *extra])


def _stage1(data, out):
    return main(["train", "--preset", "seed-mlp", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--batch-size", "16", "--set", "g_width=16", "--set", "d_width=16", "--device", "cpu"])


def test_train_sr_writes_every_artefact_and_resumes(tiny_image_folder, tmp_path):
    run = tmp_path / "sr"
    assert _train_sr(tiny_image_folder, run, 1) == 0  # epoch 1: pixel-only pre-training
    assert main(["train-sr", "--resume", str(run), "--epochs", "2"]) == 0  # epoch 2: adversarial
    config = json.loads((run / "config.json").read_text())
    assert (config["task"], config["g_width"], config["sr_blocks"], config["degrade"]) == ("sr", 8, 1, True)
    assert config["epochs"] == 2
    records = read_jsonl(run / "metrics.jsonl")
    pretrain = [r for r in records if r["epoch"] == 1]
    adversarial = [r for r in records if r["epoch"] == 2]
    assert pretrain and all("d_loss" not in r and "pixel_loss" in r for r in pretrain)
    assert adversarial and {"d_loss", "g_loss", "pixel_loss", "feature_loss", "adv_loss", "d_real", "d_fake",
                            "img_per_s"} <= set(adversarial[-1])
    for epoch in (1, 2):
        with Image.open(run / "samples" / f"epoch_{epoch:04d}.png") as grid:
            assert grid.size == (4 * 114 + 2, 4 * 114 + 2)  # rows of LR | bicubic | SR | HR at 112x112
        assert (run / "histograms" / f"epoch_{epoch:04d}.png").stat().st_size > 0
    assert [h["epoch"] for h in read_jsonl(run / "d_histograms.jsonl")] == [1, 2]
    assert (run / "loss_curve.png").stat().st_size > 0
    state = load_checkpoint(run / "checkpoint.safetensors")
    assert state["step"] == 4 and set(state["model"]) == {"generator", "discriminator", "opt_g", "opt_d", "d_updates"}


def test_generate_with_sr_run_makes_112_pixel_tiles(tiny_image_folder, tmp_path):
    assert _stage1(tiny_image_folder, tmp_path / "gan") == 0
    assert _train_sr(tiny_image_folder, tmp_path / "sr", 1) == 0
    base = ["generate", "--run", str(tmp_path / "gan"), "--sr-run", str(tmp_path / "sr"), "-n", "4", "--seed", "1"]
    assert main([*base, "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.size == (2 * 114 + 2, 2 * 114 + 2)
    assert main([*base, "--show-lr", "--out", str(tmp_path / "pairs.png")]) == 0
    with Image.open(tmp_path / "pairs.png") as grid:
        assert grid.size == (2 * (224 + 2) + 2, 2 * 114 + 2)  # each tile: input (nearest) | output
    assert main([*base, "--format", "files", "--out", str(tmp_path / "files")]) == 0
    files = sorted((tmp_path / "files").iterdir())
    assert len(files) == 4 and Image.open(files[0]).size == (112, 112)
    # --stage lr stops at stage 1 (28x28)
    assert main(["generate", "--run", str(tmp_path / "gan"), "--stage", "lr", "-n", "4",
                 "--out", str(tmp_path / "s.png")]) == 0
    with Image.open(tmp_path / "s.png") as grid:
        assert grid.size == (2 * 30 + 2, 2 * 30 + 2)


def test_eval_sr_reports_against_bicubic_and_refuses_to_overwrite(tiny_image_folder, tmp_path, capsys):
    assert _train_sr(tiny_image_folder, tmp_path / "sr", 1) == 0
    out = tmp_path / "report.json"
    args = ["eval-sr", "--sr-run", str(tmp_path / "sr"), "--data", str(tiny_image_folder), "--out", str(out),
            "--rows", "3", "--device", "cpu"]
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert report["images"] == 48 and set(report["psnr_y"]) == set(report["ssim_y"]) == {"sr", "bicubic"}
    assert np.isfinite(report["psnr_y"]["bicubic"]) and -1 <= report["ssim_y"]["sr"] <= 1
    with Image.open(out.with_suffix(".png")) as figure:
        assert figure.size == (4 * 114 + 2, 3 * 114 + 2)
    assert "PSNR-Y" in capsys.readouterr().out
    assert main(args) == 2
    assert "--replace" in capsys.readouterr().err
    assert main([*args, "--replace"]) == 0


@pytest.mark.parametrize("args, message", [
    (["train", "--preset", "seed-srgan", "--data", ".", "--out", "x"], "train it with `sneakergan train-sr`"),
    (["train-sr", "--preset", "seed-mlp", "--data", ".", "--out", "x"], "train it with `sneakergan train`"),
    (["train-sr", "--preset", "seed-srgan", "--data", ".", "--out", "x", "--set", "pixel_loss=l3"],
     "pixel_loss must be l1 or l2"),
    (["train-sr", "--preset", "seed-srgan", "--data", ".", "--out", "x", "--eval-every", "1"], "eval-sr"),
    (["generate", "--run", "/no/such/run", "--stage", "lr", "--show-lr", "--out", "g.png"], "need --stage sr"),
])
def test_sr_mistakes_are_one_line_errors(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_runs_of_the_wrong_stage_are_refused(tiny_image_folder, tmp_path, capsys):
    assert _stage1(tiny_image_folder, tmp_path / "gan") == 0
    assert main(["generate", "--run", str(tmp_path / "gan"), "--sr-run", str(tmp_path / "gan"),
                 "--out", str(tmp_path / "g.png")]) == 2
    assert "--sr-run needs a task 'sr' run" in capsys.readouterr().err
    assert main(["train-sr", "--resume", str(tmp_path / "gan")]) == 2
    assert "train it with `sneakergan train`" in capsys.readouterr().err


def test_a_stage_2_run_fine_tunes_from_another_with_other_loss_weights(tiny_image_folder, tmp_path):
    source, tuned = tmp_path / "source", tmp_path / "tuned"
    assert _train_sr(tiny_image_folder, source, 1) == 0
    assert _train_sr(tiny_image_folder, tuned, 1, "--init-from", str(source), "--set", "pretrain_epochs=0",
                     "--set", "adv_weight=0.05", "--steps", "1", "--lr-g", "1e-12", "--lr-d", "1e-12") == 0
    start, after = (load_checkpoint(run / "checkpoint.safetensors")["model"] for run in (source, tuned))
    for part in ("generator", "discriminator"):
        for name, value in start[part].items():
            if value.is_floating_point() and "running" not in name:
                assert torch.allclose(after[part][name], value, atol=1e-6), (part, name)
    assert any("adv_loss" in r for r in read_jsonl(tuned / "metrics.jsonl"))  # adversarial from its first step


def test_the_perceptual_preset_starts_from_the_bundled_stage2_and_resumes(tiny_image_folder, tmp_path):
    run = tmp_path / "perceptual"
    args = ["train-sr", "--preset", "sr-perceptual", "--data", str(tiny_image_folder), "--out", str(run),
            "--steps", "2", "--max-images", "32", "--device", "cpu", "--precision", "fp32", "--set", "n_samples=2"]
    assert main(args) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["init_from"] == config["stage1_run"] == "bundled"  # names, not paths made absolute
    state = load_checkpoint(run / "checkpoint.safetensors")
    assert {"generator_ema", "d_updates"} <= set(state["model"]) and state["model"]["d_updates"] == 2
    records = [r for r in read_jsonl(run / "metrics.jsonl") if "img_per_s" in r]
    assert records and {"consistency_loss", "adv_loss", "d_loss"} <= set(records[-1])
    assert main(["train-sr", "--resume", str(run), "--steps", "3"]) == 0
    out = tmp_path / "g.png"
    assert main(["generate", "--sr-run", str(run), "-n", "2", "--sr-seed", "7", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
