"""`train --init-from RUN`: a new run starts from another run's G and D weights (and G's EMA) with fresh
optimizers, under its own config; networks that do not fit are refused before anything is written."""

import json
import os

import pytest
import torch

from sneakergan.cli import main
from sneakergan.inference.checkpoint import load_checkpoint

TINY = ["--set", "g_width=8", "--set", "d_width=8", "--precision", "fp32", "--device", "cpu", "--batch-size", "16",
        "--eval-every", "0", "--workers", "1"]


def _train(data, out, *extra):
    return main(["train", "--preset", "sngan-diffaug", "--data", str(data), "--out", str(out), *TINY, *extra])


def _moves_in_a_forward_pass(name):
    """Batch norm's running statistics and spectral norm's power-iteration vectors."""
    return "running" in name or name.endswith(("._u", "._v"))


def _model(run):
    return load_checkpoint(run / "checkpoint.safetensors")["model"]


def test_a_run_starts_from_another_runs_weights_with_fresh_optimizers(tiny_image_folder, tmp_path):
    source, tuned, fresh = tmp_path / "source", tmp_path / "tuned", tmp_path / "fresh"
    assert _train(tiny_image_folder, source, "--epochs", "2") == 0
    # one step at a learning rate far too small to move a weight visibly: what it starts from shows
    assert _train(tiny_image_folder, tuned, "--init-from", str(source), "--steps", "1", "--lr-g", "1e-12",
                  "--lr-d", "1e-12") == 0
    assert _train(tiny_image_folder, fresh, "--steps", "1", "--lr-g", "1e-12", "--lr-d", "1e-12") == 0
    start, after, scratch = _model(source), _model(tuned), _model(fresh)
    for part in ("generator", "discriminator"):
        for name, value in start[part].items():
            if value.is_floating_point() and not _moves_in_a_forward_pass(name):
                assert torch.allclose(after[part][name], value, atol=1e-6), (part, name)
        assert any(not torch.allclose(scratch[part][name], value, atol=1e-3)
                   for name, value in start[part].items() if value.is_floating_point())
    assert after["generator_ema"]["updates"] == start["generator_ema"]["updates"] + 1  # the average continues
    for name, value in start["generator_ema"]["weights"].items():
        if value.is_floating_point() and not _moves_in_a_forward_pass(name):
            assert torch.allclose(after["generator_ema"]["weights"][name], value, atol=1e-2), name
    assert after["opt_g"]["state"][0]["step"] == 1  # Adam starts afresh
    assert json.loads((tuned / "config.json").read_text())["init_from"] == str(source.resolve())


def test_paths_given_relative_through_set_are_recorded_absolute(tiny_image_folder, tmp_path, monkeypatch):
    source = tmp_path / "source"
    assert _train(tiny_image_folder, source, "--epochs", "1") == 0
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--preset", "sngan-diffaug", "--data", str(tiny_image_folder), "--out", "tuned", *TINY,
                 "--steps", "1", "--set", "init_from=source", "--set",
                 f"data={os.path.relpath(tiny_image_folder, tmp_path)}"]) == 0
    recorded = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert (recorded["init_from"], recorded["data"]) == (str(source.resolve()), str(tiny_image_folder.resolve()))


@pytest.mark.parametrize("extra, message", [
    (["--set", "g_width=16"], "its networks differ from this config's (g_width 8 vs 16)"),
    (["--set", "spectral_norm=false"], "spectral_norm True vs False"),
])
def test_networks_that_do_not_fit_are_refused_before_anything_is_written(tiny_image_folder, tmp_path, capsys, extra,
                                                                          message):
    source = tmp_path / "source"
    assert _train(tiny_image_folder, source, "--epochs", "1") == 0
    capsys.readouterr()
    out = tmp_path / "other"
    assert _train(tiny_image_folder, out, "--init-from", str(source), *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not out.exists()


def test_init_from_a_missing_run_or_when_resuming_is_a_one_line_error(tiny_image_folder, tmp_path, capsys):
    assert _train(tiny_image_folder, tmp_path / "a", "--init-from", str(tmp_path / "nowhere")) == 2
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "a").exists()
    assert _train(tiny_image_folder, tmp_path / "b", "--epochs", "1") == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "b"), "--init-from", str(tmp_path / "b")]) == 2
    assert "cannot change init_from when resuming" in capsys.readouterr().err
