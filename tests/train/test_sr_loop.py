"""Stage 2 through the shared trainer: exact resume across the pre-training boundary.

Small 8 -> 32 pixel pairs keep this fast; the trainer and the model do not care about the size.
"""

import numpy as np
import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.errors import ConfigError
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.train.loop import Trainer


def _data(count=16):
    rng = np.random.default_rng(0)
    return {"lr": rng.integers(0, 256, (count, 8, 8, 3), dtype=np.uint8),
            "hr": rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)}


def _config(epochs):
    return load_preset("seed-srgan").replace(image_size=32, g_width=8, d_width=8, sr_blocks=1, batch_size=8,
                                             epochs=epochs, pretrain_epochs=1, n_samples=3, log_every=2,
                                             device="cpu", data="unused")


def _train(root, cfg, resume=False):
    run = RunDir(root) if resume else RunDir.create(root, cfg)
    trainer = Trainer(cfg, run, _data(), progress=False)
    if resume:
        trainer.resume()
    trainer.fit()
    return trainer


def test_resume_continues_exactly_across_the_pretraining_boundary(tmp_path):
    straight = _train(tmp_path / "straight", _config(2))
    _train(tmp_path / "split", _config(1))
    resumed = _train(tmp_path / "split", _config(2), resume=True)
    assert resumed.step == straight.step == 4
    for name in ("generator", "discriminator"):
        a, b = getattr(straight.model, name).state_dict(), getattr(resumed.model, name).state_dict()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}.{key} differs after resume"
    for name in ("opt_g", "opt_d"):
        a, b = getattr(straight.model, name).state_dict(), getattr(resumed.model, name).state_dict()
        for index, values in a["state"].items():
            for key, tensor in values.items():
                assert torch.equal(tensor, b["state"][index][key])
    records = read_jsonl(tmp_path / "split" / "metrics.jsonl")
    assert [r["step"] for r in records] == sorted({r["step"] for r in records})
    assert all(("d_loss" in r) == (r["epoch"] > 1) for r in records)


def test_the_trainer_checks_the_data_against_the_task(tmp_path):
    cfg = _config(1)
    run = RunDir.create(tmp_path / "run", cfg)
    with pytest.raises(ConfigError, match="trains on hr, lr"):
        Trainer(cfg, run, _data()["lr"], progress=False)
    with pytest.raises(ConfigError, match="hr images are 8x8, the model needs 32x32"):
        Trainer(cfg, run, {"lr": _data()["lr"], "hr": _data()["lr"]}, progress=False)
