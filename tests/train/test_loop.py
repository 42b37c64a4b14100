import json

import numpy as np
import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.errors import RunDirError
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.train.loop import Trainer


def _images(count=40, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(count, 28, 28, 3), dtype=np.uint8)


def _config(preset="seed-mlp", **changes):
    small = {"g_width": 32, "d_width": 32, "batch_size": 8, "epochs": 2, "log_every": 2, "n_samples": 16,
             "device": "cpu", "data": "unused"}
    return load_preset(preset).replace(**{**small, **changes})


def _train_tiny_cgan(root, name="cgan"):
    """A tiny colour-conditional stage-1 run (one epoch on 40 random images, 4 per colour class)."""
    from sneakergan.data.colour import COLOUR_NAMES

    cfg = _config("sngan-cgan-colour", g_width=8, d_width=8, epochs=1, eval_every=0, precision="fp32",
                  class_names=COLOUR_NAMES)
    _train(root, name, cfg, {"image": _images(), "label": np.arange(40, dtype=np.int64) % len(COLOUR_NAMES)})
    return root / name


def _train(tmp_path, name, cfg, images, resume=False):
    run = RunDir(tmp_path / name) if resume else RunDir.create(tmp_path / name, cfg)
    if resume:
        run.write_config(cfg)
    trainer = Trainer(cfg, run, images, progress=False)
    if resume:
        trainer.resume()
    trainer.fit()
    return trainer


@pytest.mark.parametrize("preset", ["seed-mlp", "seed-dcgan"])
def test_two_epochs_write_every_artefact(tmp_path, preset):
    trainer = _train(tmp_path, "run", _config(preset), _images())
    root = tmp_path / "run"
    config = json.loads((root / "config.json").read_text())
    assert config["preset"] == preset and config["epochs"] == 2
    records = read_jsonl(root / "metrics.jsonl")
    assert records and {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "img_per_s"} <= set(records[0])
    assert records[-1]["step"] == trainer.step == 10 and records[-1]["epoch"] == 2
    for epoch in (1, 2):
        assert (root / "samples" / f"epoch_{epoch:04d}.png").stat().st_size > 0
        assert (root / "histograms" / f"epoch_{epoch:04d}.png").stat().st_size > 0
    hist = read_jsonl(root / "d_histograms.jsonl")
    assert [h["epoch"] for h in hist] == [1, 2] and sum(hist[0]["real"]) == 40
    assert (root / "loss_curve.png").stat().st_size > 0
    state = load_checkpoint(root / "checkpoint.safetensors")
    assert state["step"] == 10 and set(state["model"]) == {"generator", "discriminator", "opt_g", "opt_d", "d_updates"}


def test_same_seed_gives_the_same_first_epoch_losses(tmp_path):
    cfg = _config(epochs=1)
    first = read_jsonl(_train(tmp_path, "a", cfg, _images()).run.metrics)
    second = read_jsonl(_train(tmp_path, "b", cfg, _images()).run.metrics)
    strip = [{k: v for k, v in r.items() if k not in ("img_per_s", "time")} for r in first]
    assert strip == [{k: v for k, v in r.items() if k not in ("img_per_s", "time")} for r in second]
    other = read_jsonl(_train(tmp_path, "c", cfg.replace(seed=1), _images()).run.metrics)
    assert other[0]["d_loss"] != first[0]["d_loss"]


@pytest.mark.parametrize("preset", ["seed-mlp", "seed-dcgan"])
def test_resume_continues_exactly(tmp_path, preset):
    images = _images()
    straight = _train(tmp_path, "straight", _config(preset, epochs=3), images)
    _train(tmp_path, "split", _config(preset, epochs=1), images)
    resumed = _train(tmp_path, "split", _config(preset, epochs=3), images, resume=True)
    assert resumed.step == straight.step == 15
    for name in ("generator", "discriminator"):
        for (key, a), b in zip(getattr(straight.model, name).state_dict().items(),
                               getattr(resumed.model, name).state_dict().values()):
            assert torch.equal(a, b), f"{name}.{key} differs after resume"
    for name in ("opt_g", "opt_d"):
        a, b = getattr(straight.model, name).state_dict(), getattr(resumed.model, name).state_dict()
        for index, values in a["state"].items():
            for key, tensor in values.items():
                assert torch.equal(tensor, b["state"][index][key])
    steps = [r["step"] for r in read_jsonl(tmp_path / "split" / "metrics.jsonl")]
    assert steps == sorted(set(steps)) and steps[-1] == 15  # no duplicated log lines


def test_resume_truncates_log_lines_written_after_the_checkpoint(tmp_path):
    images = _images()
    trainer = _train(tmp_path, "run", _config(epochs=1), images)
    with open(trainer.run.metrics, "a") as handle:  # as if killed after logging past the checkpoint
        handle.write(json.dumps({"step": 99, "epoch": 9}) + "\n")
    _train(tmp_path, "run", _config(epochs=2), images, resume=True)
    steps = [r["step"] for r in read_jsonl(trainer.run.metrics)]
    assert 99 not in steps and steps[-1] == 10


def test_run_folder_is_never_silently_overwritten(tmp_path):
    cfg = _config()
    RunDir.create(tmp_path / "run", cfg)
    (tmp_path / "run" / "keep.txt").write_text("x")
    with pytest.raises(RunDirError, match="continue it with resume"):  # the CLI spells it --resume
        RunDir.create(tmp_path / "run", cfg)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("x")
    with pytest.raises(RunDirError, match="not a sneakergan run folder"):
        RunDir.create(tmp_path / "other", cfg, replace=True)
    assert (tmp_path / "other" / "thesis.tex").exists()
    # --replace deletes only what training wrote: a run folder holding anything else is refused
    with pytest.raises(RunDirError, match="files that training did not write .keep.txt"):
        RunDir.create(tmp_path / "run", cfg, replace=True)
    assert (tmp_path / "run" / "keep.txt").exists()
    (tmp_path / "run" / "keep.txt").unlink()
    RunDir.create(tmp_path / "run", cfg, replace=True)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "histograms", "samples"]


def test_sigint_saves_a_checkpoint_and_the_run_resumes(tmp_path):
    import os
    import signal

    from sneakergan.train.loop import TrainingInterrupted

    images = _images()
    cfg = _config(epochs=2)
    run = RunDir.create(tmp_path / "run", cfg)
    trainer = Trainer(cfg, run, images, progress=False)
    step = trainer.model.train_step

    def step_then_interrupt(*args):
        metrics = step(*args)
        if trainer.step == 2:  # the third step: as if the user pressed Ctrl-C during it
            os.kill(os.getpid(), signal.SIGINT)
        return metrics

    trainer.model.train_step = step_then_interrupt
    # A background job (CI under nohup) may start with SIGINT ignored; a terminal user has Python's default.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(TrainingInterrupted) as stopped:
            trainer.fit()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    finally:
        signal.signal(signal.SIGINT, outer)
    assert stopped.value.step == 3 and load_checkpoint(run.checkpoint)["step"] == 3

    resumed = Trainer(cfg, run, images, progress=False)
    resumed.resume()
    resumed.fit()
    straight = _train(tmp_path, "straight", cfg, images)
    for a, b in zip(straight.model.generator.parameters(), resumed.model.generator.parameters()):
        assert torch.equal(a, b)


def test_evaluation_logs_and_keeps_the_best_checkpoint(tmp_path):
    scores = iter([5.0, 3.0, 4.0])
    calls = []

    def evaluator(model):
        calls.append(model.generator.training)
        return {"fid2000": next(scores)}

    cfg = _config(epochs=3, eval_every=1)
    run = RunDir.create(tmp_path / "run", cfg)
    trainer = Trainer(cfg, run, _images(), progress=False, evaluator=evaluator)
    trainer.fit()
    evals = [r for r in read_jsonl(run.metrics) if "eval" in r]
    assert [(r["epoch"], r["eval"]["fid2000"], r["best"]) for r in evals] == [(1, 5.0, True), (2, 3.0, True),
                                                                               (3, 4.0, False)]
    assert load_checkpoint(run.best_checkpoint)["step"] == 10  # epoch 2 of 5 steps each
    assert load_checkpoint(run.checkpoint)["best_score"] == 3.0
    assert (run.root / "loss_curve.png").exists()
