"""The command line as a newcomer meets it: fast help with every default and an example, one spelling of
each option, suggestions for misspelt fields, and the package as `pip install .` installs it."""

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sneakergan.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]


def _subcommands(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subcommands(sub, f"{prefix}{name} ")


def test_every_subcommands_help_shows_its_defaults_and_an_example():
    missing = []
    for name, parser in _subcommands(build_parser()):
        text = parser.format_help()
        if "example: sneakergan" not in text:
            missing.append(f"{name}: no example")
        for action in parser._actions:
            default = action.default
            if action.option_strings and action.help != argparse.SUPPRESS and default not in (None, False, []) \
                    and default is not argparse.SUPPRESS and not isinstance(action, argparse._HelpAction):
                formatter = parser._get_formatter()
                if "default" not in formatter._expand_help(action):
                    missing.append(f"{name} {action.option_strings[0]}: default {default!r} not shown")
    assert missing == []


def test_help_needs_no_torch():
    code = ("import sys\nfrom sneakergan.cli import build_parser\nparser = build_parser()\nparser.format_help()\n"
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"


def test_one_name_per_concept_with_the_old_spellings_hidden(tmp_path):
    parser = build_parser()
    for command in (["generate"], ["interpolate", "--seeds", "0", "1"], ["serve"]):
        new = parser.parse_args([*command, "--run", "r", "--out", "o.png"] if command[0] != "serve"
                                else [*command, "--run", "r"])
        old = parser.parse_args([*command, "--lr-run", "r", "--out", "o.png"] if command[0] != "serve"
                                else [*command, "--lr-run", "r"])
        assert new.run == old.run == "r"
    help_text = dict(_subcommands(parser))["generate"].format_help()
    assert "--run RUN_DIR" in help_text and "--lr-run" not in help_text
    interpolate = parser.parse_args(["interpolate", "--seeds", "0", "1", "--steps", "5", "--out", "o.gif"])
    assert interpolate.frames == 5 and parser.parse_args(["report", "--run", "x"]).run == "x"


def test_a_misspelt_field_gets_the_closest_name(tiny_image_folder, tmp_path, capsys):
    assert main(["train", "--preset", "seed-mlp", "--data", str(tiny_image_folder), "--out", str(tmp_path / "r"),
                 "--set", "g_widht=8"]) == 2
    assert "unknown config field 'g_widht' (did you mean 'g_width'?)" in capsys.readouterr().err


def test_presets_say_which_command_trains_each_and_which_are_bundled(capsys):
    assert main(["presets"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert " train-sr " in lines["seed-srgan"] and "[bundled stage2]" in lines["seed-srgan"]
    assert " train " in lines["sngan-lsgan-nosn"] and "[bundled stage1]" in lines["sngan-lsgan-nosn"]


def test_the_package_as_pip_installs_it_generates(tmp_path):
    """A wheel built from the checkout holds the bundled models, presets and page; installed alone (its
    dependencies are this environment's), `sneakergan generate` runs from it."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(tmp_path / "wheel"), str(REPO)], check=True, capture_output=True)
    wheel = next((tmp_path / "wheel").glob("sneakergan-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("sneakergan/bundled/stage1.safetensors", "sneakergan/presets/sngan-lsgan-nosn.toml",
                   "sneakergan/serve/studio.html"):
        assert needed in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tmp_path / "site"),
                    str(wheel)], check=True, capture_output=True)
    out = tmp_path / "sneakers.png"
    result = subprocess.run([sys.executable, "-m", "sneakergan", "generate", "-n", "2", "--device", "cpu", "--out",
                             str(out)], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin",
                                 "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0 and str(tmp_path / "site") in subprocess.run(
        [sys.executable, "-c", "import sneakergan; print(sneakergan.__file__)"], capture_output=True, text=True,
        env={"PYTHONPATH": str(tmp_path / "site")}).stdout


@pytest.mark.parametrize("n, reference, biased, constant_kid", [(100, 6792, True, False), (2048, 6792, False, False),
                                                                 (500, 500, True, True)])
def test_a_small_evaluation_says_what_its_numbers_cannot_show(caplog, n, reference, biased, constant_kid):
    from sneakergan.metrics.evaluate import warn_small_samples
    from sneakergan.metrics.kid import kernel_inception_distance

    with caplog.at_level("WARNING", logger="sneakergan.metrics"):
        warn_small_samples(n, reference, 1000)
    assert ("biased upwards" in caplog.text) == biased and ("KID's std will be 0" in caplog.text) == constant_kid
    rng = np.random.default_rng(0)
    _, kid_std = kernel_inception_distance(rng.normal(size=(reference, 8)), rng.normal(size=(n, 8)), num_subsets=5)
    assert (kid_std < 1e-12) == constant_kid  # the warning says what KID then does (0 up to the sums' rounding)
