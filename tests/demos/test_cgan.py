import numpy as np
import pytest
import torch

from sneakergan.cli import main
from sneakergan.data.colour import COLOUR_NAMES
from sneakergan.demos.cgan import (
    class_samples,
    label_and_noise_effect,
    measure_row,
    open_conditional_run,
    plot_class_grid,
)
from sneakergan.errors import ConfigError
from tests.train.test_loop import _config, _images, _train, _train_tiny_cgan


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    return _train_tiny_cgan(tmp_path_factory.mktemp("demo-cgan"))


def test_one_labelled_row_per_class_in_class_order(colour_run, tmp_path):
    generator, cfg = open_conditional_run(colour_run, torch.device("cpu"))
    samples = class_samples(generator, cfg, 6, 3, torch.device("cpu"))
    assert len(samples) == len(COLOUR_NAMES) and all(s.shape == (6, 28, 28, 3) for s in samples)
    drawn = plot_class_grid([s[:4] for s in samples], list(cfg.class_names), "t", tmp_path / "grid.png")
    assert drawn == list(COLOUR_NAMES)
    # every row starts from the same noise: only the label differs between rows
    assert not all(np.array_equal(samples[0], other) for other in samples[1:])
    assert np.array_equal(samples[2], class_samples(generator, cfg, 6, 3, torch.device("cpu"))[2])


def test_match_share_is_the_share_of_samples_of_the_rows_colour():
    red, blue = np.zeros((1, 28, 28, 3), np.uint8), np.zeros((1, 28, 28, 3), np.uint8)
    red[..., 0], blue[..., 2] = 200, 200
    row = measure_row("red", np.concatenate([red, red, red, blue]), colour_condition=True)
    assert row.match == 0.75 and row.top_colour == "red" and row.top_share == 0.75
    assert row.mean_rgb == pytest.approx((150, 0, 50))
    assert measure_row("cheap", red, colour_condition=False).match is None


def test_label_and_noise_effects_tell_a_collapsed_model_from_one_that_ignores_its_label():
    rng = np.random.default_rng(0)
    varied = rng.integers(0, 256, size=(5, 8, 8, 3)).astype(np.uint8)
    ignores_label = [varied, varied.copy()]  # each row the same: only the noise matters
    label, noise = label_and_noise_effect(ignores_label)
    assert label == 0 and noise > 50
    collapsed = [np.full((5, 8, 8, 3), 40, np.uint8), np.full((5, 8, 8, 3), 200, np.uint8)]
    assert label_and_noise_effect(collapsed) == (80.0, 0.0)


def test_command_prints_one_finding_per_class_in_label_order(colour_run, tmp_path, capsys):
    out = tmp_path / "cgan.png"
    assert main(["demo", "cgan", "--run", str(colour_run), "--samples", "20", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = lines[1:1 + len(COLOUR_NAMES)]
    assert [line[:14].strip() for line in rows] == list(COLOUR_NAMES)
    assert all("matches its label" in line and "(data" not in line for line in rows)  # its data is gone
    shares = [int(line.rsplit(" ", 1)[1].rstrip("%")) for line in rows]
    assert lines[1 + len(COLOUR_NAMES)].startswith(f"mean share of samples whose derived colour matches their "
                                                   f"row's label: {round(sum(shares) / len(shares))}%")
    brightness = {line[:14].strip(): float(line.split("brightness ")[1].split()[0]) for line in rows}
    order = lines[2 + len(COLOUR_NAMES)].removeprefix("rows by brightness: ").split(" > ")
    assert sorted(order) == sorted(COLOUR_NAMES) and [brightness[n] for n in order] == sorted(brightness.values(),
                                                                                                reverse=True)
    assert lines[-1].startswith("the label moves a pixel by ")
    assert out.stat().st_size > 5_000


def test_an_unconditional_run_is_refused_in_one_line(tmp_path, capsys):
    _train(tmp_path, "plain", _config("seed-mlp", epochs=1), _images())
    out = tmp_path / "cgan.png"
    assert main(["demo", "cgan", "--run", str(tmp_path / "plain"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "unconditional" in err and "\n" not in err
    assert not out.exists()
    with pytest.raises(ConfigError, match="unconditional"):
        open_conditional_run(tmp_path / "plain", torch.device("cpu"))
    assert main(["demo", "cgan", "--out", str(out)]) == 2  # neither --run nor --data
    assert main(["demo", "cgan", "--run", str(tmp_path / "plain"), "--epochs", "2", "--out", str(out)]) == 2
    assert "--workdir and --epochs are for training" in capsys.readouterr().err


def test_with_data_it_trains_a_tiny_price_run_beside_the_figure(tiny_image_folder, tmp_path, capsys):
    out = tmp_path / "figs" / "price.png"
    args = ["demo", "cgan", "--data", str(tiny_image_folder), "--epochs", "1", "--samples", "8", "--out", str(out)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"run {tmp_path / 'figs' / 'price-run'} (condition price)")
    assert [line.split()[0] for line in lines[1:3]] == ["cheap", "expensive"]
    # the folder's random pixels average about 127.5 in both classes
    assert all(120 < float(line.split("(data ")[1].split(")")[0]) < 135 for line in lines[1:3])
    assert lines[4].startswith("data by brightness: ")
    assert (tmp_path / "figs" / "price-run" / "checkpoint.safetensors").is_file() and out.is_file()
    out.unlink()
    assert main(args) == 2  # the run folder is there: --replace or --run, never overwritten silently
    assert "already holds files" in capsys.readouterr().err
