"""How `sneakergan train` turns options into a run: one validation after every override, a preset file of
your own, resuming that always trains (or says why not), and errors that name the options the user typed
while the library names its parameters."""

import json

import pytest

from sneakergan.cli import build_parser, main
from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError
from sneakergan.inference.pipeline import generate_images
from tests.test_cli import _train_args


def _steps_logged(run):
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_resuming_with_more_epochs_trains_past_the_runs_step_limit(tiny_image_folder, tmp_path, capsys):
    run = tmp_path / "run"  # 48 images in batches of 16: 3 steps an epoch
    assert main(_train_args(tiny_image_folder, run, "--steps", "2", "--set", "log_every=1")) == 0
    assert max(_steps_logged(run)) == 2
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 0
    assert max(_steps_logged(run)) == 9 and json.loads((run / "config.json").read_text())["max_steps"] == 0
    assert "replaces the run's step limit" in capsys.readouterr().err


def test_resuming_a_finished_run_without_more_to_do_is_an_error_not_a_silent_success(tiny_image_folder, tmp_path,
                                                                                    capsys):
    run = tmp_path / "run"
    assert main(_train_args(tiny_image_folder, run, "--epochs", "1")) == 0
    before = (run / "checkpoint.safetensors").read_bytes()
    assert main(["train", "--resume", str(run), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "has already trained 3 steps" in err and "pass more --epochs or --steps" in err
    assert (run / "checkpoint.safetensors").read_bytes() == before


def test_a_new_runs_config_is_validated_once_after_every_override(tiny_image_folder, tmp_path, monkeypatch):
    from sneakergan.commands import train as train_command

    calls = []
    original = TrainConfig.validated
    monkeypatch.setattr(TrainConfig, "validated", lambda self: calls.append(1) or original(self))
    args = build_parser().parse_args(_train_args(tiny_image_folder, tmp_path / "run", "--set", "seed=3"))
    cfg, resumed = train_command._resolve_train_config(args)
    assert resumed is None and cfg.seed == 3 and cfg.g_width == 32 and len(calls) == 1


def test_a_preset_file_of_your_own_trains(tiny_image_folder, tmp_path):
    preset = tmp_path / "my-mlp.toml"
    preset.write_text('description = "mine"\narchitecture = "mlp"\nloss = "bce"\ng_width = 16\nd_width = 16\n'
                      "batch_size = 16\nepochs = 1\n")
    run = tmp_path / "run"
    assert main(["train", "--preset", str(preset), "--data", str(tiny_image_folder), "--out", str(run),
                 "--device", "cpu"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["preset"], config["g_width"], config["description"]) == ("my-mlp", 16, "mine")
    assert main(["train", "--preset", str(tmp_path / "missing.toml"), "--data", str(tiny_image_folder),
                 "--out", str(tmp_path / "other")]) == 2


def test_the_library_names_parameters_and_the_command_line_names_options(tmp_path, capsys):
    with pytest.raises(ConfigError) as raised:
        generate_images(None, 1, 0, "cpu", label="red")
    assert str(raised.value).startswith("label 'red' needs a class-conditional stage-1 model")
    assert main(["generate", "--stage", "lr", "--label", "red", "--out", str(tmp_path / "g.png")]) == 2
    assert "error: --label 'red' needs a class-conditional stage-1 model" in capsys.readouterr().err


def test_live_tensorboard_without_the_package_is_one_line_before_any_work(tiny_image_folder, tmp_path, capsys):
    pytest.importorskip("torch")
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed")
    except ImportError:
        pass
    run = tmp_path / "run"
    assert main([*_train_args(tiny_image_folder, run), "--tensorboard", str(tmp_path / "tb")]) == 2
    assert "pip install 'sneakergan[tensorboard]'" in capsys.readouterr().err and not run.exists()
