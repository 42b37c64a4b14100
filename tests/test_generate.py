"""`generate --label`: sampling one class of a class-conditional stage-1 run."""

import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.cli import main
from sneakergan.data.colour import COLOUR_NAMES
from sneakergan.images import to_uint8
from sneakergan.inference.pipeline import generate_images, load_stage1
from tests.train.test_loop import _config, _images, _train, _train_tiny_cgan


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny colour-conditional run and a tiny unconditional one (one epoch each)."""
    root = tmp_path_factory.mktemp("runs")
    _train_tiny_cgan(root)
    _train(root, "plain", _config("sngan-diffaug", g_width=8, d_width=8, epochs=1, eval_every=0), _images())
    return root


def _png(path):
    with Image.open(path) as image:
        return np.asarray(image)


def test_label_generates_that_class(runs, tmp_path):
    cgan = runs / "cgan"
    red = generate_images(cgan, 6, 3, "cpu", label="red")
    generator, cfg = load_stage1(cgan, torch.device("cpu"))
    z = torch.randn(6, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = generator(z, torch.full((6,), COLOUR_NAMES.index("red")))
    assert np.array_equal(red, to_uint8(expected))
    assert not np.array_equal(red, generate_images(cgan, 6, 3, "cpu", label="blue"))  # same noise, other class

    args = ["generate", "--lr-run", str(cgan), "--stage", "lr", "-n", "4", "--seed", "3"]
    assert main([*args, "--label", "red", "--out", str(tmp_path / "red.png")]) == 0
    assert main([*args, "--label", "red", "--out", str(tmp_path / "again.png")]) == 0
    assert np.array_equal(_png(tmp_path / "red.png"), _png(tmp_path / "again.png"))
    assert main([*args, "--label", "yellow/orange", "--format", "files", "--out", str(tmp_path / "files")]) == 0
    assert len(list((tmp_path / "files").iterdir())) == 4


def test_without_a_label_a_conditional_run_draws_the_classes_from_the_seed(runs):
    cgan = runs / "cgan"
    mixed = generate_images(cgan, 8, 0, "cpu")
    assert np.array_equal(mixed, generate_images(cgan, 8, 0, "cpu"))
    noise = torch.Generator().manual_seed(0)
    torch.randn(8, 32, generator=noise)  # the noise first, then the classes
    classes = torch.randint(10, (8,), generator=noise)
    for index in range(8):
        one = generate_images(cgan, 8, 0, "cpu", label=COLOUR_NAMES[classes[index]])
        assert np.array_equal(one[index], mixed[index])


@pytest.mark.parametrize("args, message", [
    (["--lr-run", "{plain}", "--label", "red"],
     "--label 'red' needs a class-conditional stage-1 model; the stage-1 run {plain} is unconditional"),
    (["--label", "red"],
     "--label 'red' needs a class-conditional stage-1 model; the bundled stage-1 model is unconditional"),
    (["--lr-run", "{cgan}", "--label", "purple"],
     "unknown --label 'purple'; the stage-1 run {cgan} knows " + ", ".join(COLOUR_NAMES)),
    (["--lr-run", "{cgan}", "--label", "Red"], "unknown --label 'Red'"),
])
def test_label_mistakes_are_one_line_errors(runs, args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = {"plain": runs / "plain", "cgan": runs / "cgan"}
    assert main(["generate", *[a.format(**paths) for a in args], "--out", "g.png"]) == 2
    err = capsys.readouterr().err
    assert message.format(**paths) in err and "Traceback" not in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_interpolate_morphs_within_the_label_of_a_conditional_run(runs, capsys, tmp_path):
    cgan, strip = runs / "cgan", tmp_path / "strip.png"
    args = ["interpolate", "--seeds", "0", "1", "--steps", "3", "--lr-run", str(cgan), "--stage", "lr",
            "--precision", "fp32"]
    assert main([*args, "--out", str(strip)]) == 2  # which class to morph within is not guessed
    err = capsys.readouterr().err
    assert f"{cgan} is class-conditional: --label must be one of black, white" in err and "Traceback" not in err
    assert not strip.exists()
    assert main([*args, "--label", "red", "--out", str(strip)]) == 0
    with Image.open(strip) as image:
        frames = np.asarray(image)
    ends = [frames[2:30, 2 + 30 * i:30 + 30 * i] for i in (0, 2)]  # tiles of 28 with 2-pixel gaps
    for end, seed in zip(ends, (0, 1)):  # each end is `generate --seed s --label red`'s first sneaker
        assert np.array_equal(end, generate_images(cgan, 1, seed, "cpu", label="red")[0])
    assert main([*args, "--label", "blue", "--out", str(tmp_path / "blue.png")]) == 0
    with Image.open(tmp_path / "blue.png") as image:
        assert not np.array_equal(np.asarray(image), frames)
