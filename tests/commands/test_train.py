"""`sneakergan train` of a class-conditional stage 1: the labels and class names it takes from the data."""

import json
import shutil

import pytest

from sneakergan.cli import main
from sneakergan.data.colour import COLOUR_NAMES


def _train_args(data, out, condition):
    return ["train", "--preset", "sngan-cgan-colour", "--data", str(data), "--out", str(out), "--epochs", "1",
            "--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8", "--set", f"condition={condition}",
            "--eval-every", "0", "--precision", "fp32", "--device", "cpu", "--workers", "1"]


@pytest.mark.parametrize("condition, classes, label", [("price", ["cheap", "expensive"], "expensive"),
                                                       ("colour", list(COLOUR_NAMES), "brown/beige")])
def test_train_records_the_class_names_then_generate_and_resume_use_them(tiny_image_folder, tmp_path, capsys,
                                                                         condition, classes, label):
    run = tmp_path / "run"
    assert main(_train_args(tiny_image_folder, run, condition)) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["condition"] == condition and config["class_names"] == classes
    assert main(["generate", "--lr-run", str(run), "--stage", "lr", "--label", label, "-n", "4",
                 "--out", str(tmp_path / "g.png")]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert json.loads((run / "config.json").read_text())["class_names"] == classes
    capsys.readouterr()

    if condition == "price":  # other class folders: not the run's classes
        other = tmp_path / "other"
        shutil.copytree(tiny_image_folder / "cheap", other / "budget")
        shutil.copytree(tiny_image_folder / "expensive", other / "premium")
        assert main(["train", "--resume", str(run), "--epochs", "3", "--data", str(other)]) == 2
        err = capsys.readouterr().err
        assert "the data's classes (budget, premium) are not the run's (cheap, expensive)" in err
        assert "Traceback" not in err
