"""The class-conditional stage 1 (condition = "price" or "colour"): its steps, its data, its run."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.config import load_preset
from sneakergan.data.colour import COLOUR_NAMES
from sneakergan.errors import ConfigError
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.train.cgan_model import ConditionalGAN
from sneakergan.train.loop import Trainer
from sneakergan.train.tasks import task_for
from tests.train.test_loop import _config, _images, _train

CPU = torch.device("cpu")
PRICE = ("cheap", "expensive")


def _cgan_config(**changes):
    """sngan-cgan-colour, tiny: widths 8, batch 8 of 40 images (5 steps an epoch), fp32, no quick FID."""
    values = {"g_width": 8, "d_width": 8, "class_names": COLOUR_NAMES, "eval_every": 0, "precision": "fp32",
              **changes}
    return _config("sngan-cgan-colour", **values)


def _data(count=40, classes=10):
    return {"image": _images(count), "label": np.arange(count, dtype=np.int64) % classes}


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("loss", ["hinge", "ragan"])  # ragan: G's loss reads D on the real images too
def test_one_d_step_and_one_g_step_change_their_own_parameters(loss):
    torch.manual_seed(0)
    cfg = _cgan_config(loss=loss, r1_gamma=1.0, r1_every=1)
    model = ConditionalGAN(cfg, CPU)
    real, real_labels = torch.rand(8, 3, 28, 28) * 2 - 1, torch.arange(8) % 10
    fake_labels = torch.tensor([3, 3, 4, 4, 5, 5, 6, 6])
    fake = model.generator(torch.randn(8, 32), fake_labels)
    labels = (real_labels, fake_labels)

    g_before, d_before = _params(model.generator), _params(model.discriminator)
    d_embed = model.discriminator.embed.parametrizations.weight.original.detach().clone()
    d_metrics = model.d_step(real, fake, labels)
    assert _changed(d_before, model.discriminator) and not _changed(g_before, model.generator)
    assert not torch.equal(d_embed, model.discriminator.embed.parametrizations.weight.original)  # the projection learns
    assert "r1_penalty" in d_metrics

    d_before, g_embed = _params(model.discriminator), model.generator.embed.weight.detach().clone()
    g_metrics = model.g_step(fake, real, labels)
    assert _changed(g_before, model.generator) and not _changed(d_before, model.discriminator)
    changed_rows = (g_embed != model.generator.embed.weight).any(dim=1)
    assert changed_rows.tolist() == [i in (3, 4, 5, 6) for i in range(10)]  # only the fake labels' embeddings
    assert model.ema is not None and model.ema.updates == 1
    for value in {**d_metrics, **g_metrics}.values():
        assert torch.isfinite(value)


def test_train_step_asks_g_for_the_real_batchs_classes():
    torch.manual_seed(0)
    model = ConditionalGAN(_cgan_config(class_names=PRICE, condition="price", gp_weight=1.0), CPU)
    seen = []
    forward = model.discriminator.forward
    model.discriminator.forward = lambda x, labels=None: seen.append(labels.clone()) or forward(x, labels)
    batch = {"image": torch.rand(6, 3, 28, 28) * 2 - 1, "label": torch.tensor([1, 1, 1, 0, 0, 1])}
    noise = torch.Generator().manual_seed(5)
    metrics = model.train_step(batch, noise)
    assert {"d_loss", "g_loss", "gp_penalty", "d_real", "d_fake"} <= set(metrics) and metrics["skipped"] is False
    # D step (real, fake), the gradient penalty's points, G step: all with the batch's labels, so
    # fake classes follow the data's class frequencies
    assert len(seen) == 4 and all(torch.equal(labels, batch["label"]) for labels in seen)
    expected = torch.Generator().manual_seed(5)
    torch.randn(6, 32, generator=expected)  # the step's z
    assert torch.equal(noise.get_state(), expected.get_state())  # nothing else drawn from the noise


def test_generate_without_labels_takes_the_classes_in_turn():
    torch.manual_seed(0)
    model = ConditionalGAN(_cgan_config(class_names=PRICE, condition="price"), CPU)
    z = torch.randn(5, 32)
    assert torch.equal(model.generate(z), model.generate(z, torch.tensor([0, 1, 0, 1, 0])))
    assert not torch.equal(model.generate(z, torch.zeros(5, dtype=torch.long)), model.generate(z))


def test_the_task_registry_selects_the_conditional_model():
    assert task_for(_cgan_config()).model is ConditionalGAN and task_for(_cgan_config()).label_key == "label"
    assert task_for(_config("sngan-diffaug")).label_key is None


def test_a_two_epoch_conditional_run_writes_its_artefacts_and_resumes_exactly(tmp_path):
    data = _data()
    cfg = _cgan_config(r1_gamma=0.1, r1_every=3)
    straight = _train(tmp_path, "straight", cfg, data)
    root = tmp_path / "straight"
    assert json.loads((root / "config.json").read_text())["class_names"] == list(COLOUR_NAMES)
    records = read_jsonl(root / "metrics.jsonl")
    assert records[-1]["step"] == straight.step == 10 and {"d_loss", "g_loss", "d_real", "d_fake"} <= set(records[-1])
    with Image.open(root / "samples" / "epoch_0002.png") as grid:  # one row per class, 16 // 10 = 1 column
        assert grid.size == (2 * (1 * 30 + 2), 2 * (10 * 30 + 2))  # 28 px tiles, padding 2, scale 2
    assert (root / "histograms" / "epoch_0002.png").stat().st_size > 0
    assert [h["epoch"] for h in read_jsonl(root / "d_histograms.jsonl")] == [1, 2]
    state = load_checkpoint(root / "checkpoint.safetensors")["model"]
    assert state["generator_ema"]["updates"] == state["d_updates"] == 10

    _train(tmp_path, "split", cfg.replace(epochs=1), data)
    resumed = _train(tmp_path, "split", cfg, data, resume=True)
    for name in ("generator", "discriminator"):
        for (key, a), b in zip(getattr(straight.model, name).state_dict().items(),
                               getattr(resumed.model, name).state_dict().values()):
            assert torch.equal(a, b), f"{name}.{key} differs after resume"
    for a, b in zip(straight.model.ema.model.parameters(), resumed.model.ema.model.parameters()):
        assert torch.equal(a, b)
    for name in ("opt_g", "opt_d"):
        a, b = getattr(straight.model, name).state_dict(), getattr(resumed.model, name).state_dict()
        for index, values in a["state"].items():
            for key, tensor in values.items():
                assert torch.equal(tensor, b["state"][index][key])
    assert (tmp_path / "split" / "samples" / "epoch_0002.png").read_bytes() == \
        (root / "samples" / "epoch_0002.png").read_bytes()


def test_the_sample_grid_has_a_row_per_class_with_the_same_noise_in_every_row(tmp_path):
    cfg = _cgan_config(condition="price", class_names=PRICE, epochs=1)
    trainer = Trainer(cfg, RunDir.create(tmp_path / "run", cfg), _data(classes=2), progress=False)
    figures = trainer.figures
    assert figures.columns == 8 and figures.grid_labels.tolist() == [0] * 8 + [1] * 8
    assert torch.equal(figures.grid_z[:8], figures.grid_z[8:])


@pytest.mark.parametrize("data, message", [
    ({"image": _images()}, "this task trains on image, label, got image"),
    ({"image": _images(), "label": np.arange(40) % 11}, r"class labels must be in 0\.\.9 .*got 0\.\.10"),
    ({"image": _images(), "label": np.zeros((40, 1), np.int64)}, "1-D integer array"),
    ({"image": _images(), "label": np.zeros(39, np.int64)}, "same number"),
])
def test_bad_labels_are_config_errors(tmp_path, data, message):
    cfg = _cgan_config()
    with pytest.raises(ConfigError, match=message):
        Trainer(cfg, RunDir.create(tmp_path / "run", cfg), data, progress=False)


def test_a_conditional_config_needs_its_classes_and_an_unconditional_one_no_labels(tmp_path):
    cfg = _cgan_config(class_names=())
    with pytest.raises(ConfigError, match="needs class_names, which `sneakergan train` fills from the data"):
        Trainer(cfg, RunDir.create(tmp_path / "a", cfg), _data(), progress=False)
    plain = _config("sngan-diffaug", g_width=8, d_width=8, eval_every=0)
    with pytest.raises(ConfigError, match="this task trains on image, got image, label"):
        Trainer(plain, RunDir.create(tmp_path / "b", plain), _data(), progress=False)
    assert load_preset("sngan-cgan-colour").n_classes == 0
