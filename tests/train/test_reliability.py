"""Training survives bad numbers and full disks: kept checkpoints, non-finite steps, disk checks."""

import copy
import errno
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
import torch

from sneakergan.errors import RunDirError, TrainingError
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.train.loop import Trainer
from sneakergan.train.nonfinite import MAX_ROLLBACKS
from tests.train.test_loop import _config, _images, _train


def _trainer(tmp_path, cfg, name="run"):
    return Trainer(cfg, RunDir.create(tmp_path / name, cfg), _images(), progress=False)


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if p.is_file()]


def _same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- keep_checkpoints --------------------------------------------------------------------------
def test_keep_rotates_the_epoch_checkpoints(tmp_path):
    trainer = _train(tmp_path, "run", _config(epochs=5, keep_checkpoints=3), _images())  # 5 steps an epoch
    kept = trainer.run.step_checkpoints()
    assert [step for step, _ in kept] == [15, 20, 25]
    assert [p.name for _, p in kept] == ["step_00000015.safetensors", "step_00000020.safetensors",
                                         "step_00000025.safetensors"]
    assert all(load_checkpoint(path)["step"] == step for step, path in kept)
    assert kept[-1][1].read_bytes() == trainer.run.checkpoint.read_bytes()  # the newest is the latest
    assert not _temporaries(trainer.run.root)

    # resumed with --keep 2: the next epoch checkpoint prunes to two
    resumed = _train(tmp_path, "run", _config(epochs=6, keep_checkpoints=2), _images(), resume=True)
    assert [step for step, _ in resumed.run.step_checkpoints()] == [25, 30]


def test_keep_one_writes_only_the_latest_checkpoint(tmp_path):
    trainer = _train(tmp_path, "run", _config(epochs=2), _images())
    assert trainer.cfg.keep_checkpoints == 1
    assert not trainer.run.checkpoints.exists()
    assert sorted(p.name for p in trainer.run.root.glob("*.safetensors")) == ["checkpoint.safetensors"]


def test_old_checkpoints_are_deleted_only_after_the_new_one_is_written(tmp_path, monkeypatch):
    cfg = _config(epochs=4, keep_checkpoints=2)
    trainer = _trainer(tmp_path, cfg)
    _fail_checkpoint_writes(monkeypatch, "step_00000015", after=0)  # the epoch-3 kept checkpoint
    with pytest.raises(RunDirError, match="No space left on device"):
        trainer.fit()
    assert [step for step, _ in trainer.run.step_checkpoints()] == [5, 10]  # none deleted
    assert load_checkpoint(trainer.run.checkpoint)["step"] == 10
    assert not _temporaries(trainer.run.root)


def test_keep_is_a_resumable_cli_flag(tmp_path):
    from sneakergan.cli import build_parser
    from sneakergan.commands.train import _resolve_train_config
    from sneakergan.errors import ConfigError

    _train(tmp_path, "run", _config(epochs=1), _images())
    args = build_parser().parse_args(["train", "--resume", str(tmp_path / "run"), "--keep", "4"])
    cfg, _ = _resolve_train_config(args)
    assert cfg.keep_checkpoints == 4
    with pytest.raises(ConfigError, match="keep_checkpoints must be >= 1"):
        _resolve_train_config(build_parser().parse_args(["train", "--resume", str(tmp_path / "run"), "--keep", "0"]))
    with pytest.raises(ConfigError, match="only epochs, steps, device, precision, compile, data, keep"):
        _resolve_train_config(build_parser().parse_args(["train", "--resume", str(tmp_path / "run"), "--lr-g", "1"]))


# --- non-finite losses and gradients -----------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    ({"on_nonfinite": "ignore"}, "on_nonfinite must be rollback or stop"),
    ({"max_bad_steps": 0}, "max_bad_steps must be >= 1"),
    ({"rollback_lr_factor": 0.0}, r"rollback_lr_factor must be in \(0, 1\]"),
    ({"rollback_lr_factor": 1.5}, r"rollback_lr_factor must be in \(0, 1\]"),
])
def test_the_non_finite_policy_is_validated(change, message):
    from sneakergan.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        _config(**change)
    defaults = _config()
    assert (defaults.on_nonfinite, defaults.max_bad_steps, defaults.rollback_lr_factor) == ("rollback", 20, 0.5)


def _poison(trainer, bad_steps):
    """Feed a NaN batch (as a broken image or an overflow would) at each 0-based step listed in
    `bad_steps`; each entry is used once, so a step listed once is clean when replayed after a rollback."""
    step = trainer.model.train_step
    pending = list(bad_steps)

    def poisoned(batch, noise, epoch):
        if trainer.step in pending:
            pending.remove(trainer.step)
            batch = {key: images * float("nan") for key, images in batch.items()}
        return step(batch, noise, epoch)

    trainer.model.train_step = poisoned


def test_non_finite_steps_are_skipped_counted_and_checkpointed(tmp_path):
    cfg = _config(epochs=2)  # 10 steps, a metrics line every 2
    trainer = _trainer(tmp_path, cfg)
    _poison(trainer, [2, 5])  # the 3rd and the 6th steps
    trainer.fit()
    lines = read_jsonl(trainer.run.metrics)
    assert [(r["step"], r["skipped_steps"]) for r in lines] == [(2, 0), (4, 1), (5, 0), (6, 1), (8, 0), (10, 0)]
    assert "d_loss" not in lines[3]  # step 6 alone, skipped: no loss to average, and no NaN written
    assert all(torch.isfinite(torch.tensor(r["d_loss"])) for r in lines if r["step"] != 6)
    assert all(torch.isfinite(p).all() for p in trainer.model.discriminator.parameters())
    state = load_checkpoint(trainer.run.checkpoint)
    assert state["nonfinite"] == {"skipped": 2, "streak": 0, "rollbacks": 0, "lr_scale": 1.0}

    resumed = _train(tmp_path, "run", _config(epochs=3), _images(), resume=True)
    assert resumed.nonfinite.skipped == 2  # the total survives resume


def test_a_run_stuck_on_nans_rolls_back_with_lower_learning_rates(tmp_path):
    cfg = _config(epochs=3, log_every=1, max_bad_steps=3)
    trainer = _trainer(tmp_path, cfg)
    _poison(trainer, [6, 7, 8])  # steps 7-9; the checkpoint before them is epoch 1's, step 5
    recover, seen = trainer.recover, {}

    def checked_recover():
        seen["checkpoint"] = load_checkpoint(trainer.run.checkpoint)
        seen["step"] = trainer.step
        recover()
        seen["restored"] = copy.deepcopy({"step": trainer.step, "model": trainer.model.state_dict(),
                                          "rng": torch.get_rng_state()})

    trainer.recover = checked_recover
    trainer.fit()
    saved, restored = seen["checkpoint"], seen["restored"]
    assert seen["step"] == 9 and restored["step"] == saved["step"] == 5
    for name in ("generator", "discriminator"):  # the checkpoint's parameters, Adam moments and RNG state
        assert _same_tensors(restored["model"][name], saved["model"][name])
    for name in ("opt_g", "opt_d"):
        for index, values in saved["model"][name]["state"].items():
            assert _same_tensors(restored["model"][name]["state"][index], values)
    assert torch.equal(restored["rng"], saved["rng"]["torch"])
    assert trainer.step == 15
    assert [g["lr"] for g in trainer.model.opt_g.param_groups + trainer.model.opt_d.param_groups] == [5e-4, 5e-4]

    lines = read_jsonl(trainer.run.metrics)
    rollback = [r for r in lines if "rollback" in r]
    assert rollback == [{"step": 5, "epoch": 1, "skipped_steps": 3, "rollback": {
        "from_step": 9, "rollbacks": 1, "lr_scale": 0.5, "lr_g": 5e-4, "lr_d": 5e-4}}]
    steps = [r["step"] for r in lines if "img_per_s" in r]
    assert steps == list(range(1, 16))  # the abandoned steps 6-9 are gone from the log
    assert sum(r["skipped_steps"] for r in lines) == 3

    state = load_checkpoint(trainer.run.checkpoint)
    assert state["nonfinite"] == {"skipped": 3, "streak": 0, "rollbacks": 1, "lr_scale": 0.5}
    assert state["model"]["opt_g"]["param_groups"][0]["lr"] == 5e-4
    resumed = Trainer(cfg, trainer.run, _images(), progress=False)
    resumed.resume()  # resume keeps the lowered rates
    assert [g["lr"] for g in resumed.model.opt_g.param_groups + resumed.model.opt_d.param_groups] == [5e-4, 5e-4]


def test_stop_mode_names_the_step_and_what_to_try(tmp_path):
    trainer = _trainer(tmp_path, _config(epochs=2, on_nonfinite="stop", max_bad_steps=2))
    _poison(trainer, [6, 7])
    with pytest.raises(TrainingError, match=r"stopped at step 8: steps 7-8 all had non-finite .* intact\. "
                                            r"Try lower learning rates \(--lr-g, --lr-d\)"):
        trainer.fit()
    assert load_checkpoint(trainer.run.checkpoint)["step"] == 5  # epoch 1's, untouched


def test_rollbacks_are_limited_then_training_stops(tmp_path):
    trainer = _trainer(tmp_path, _config(epochs=2, max_bad_steps=2))
    _poison(trainer, [1, 2] * (MAX_ROLLBACKS + 1))  # steps 2-3 go bad every time they are replayed
    with pytest.raises(TrainingError, match=f"even after {MAX_ROLLBACKS} rollbacks that lowered the learning "
                                            r"rates to lr_g 0.000125, lr_d 0.000125\. .* intact\. Try a new run"):
        trainer.fit()
    state = load_checkpoint(trainer.run.checkpoint)
    assert state["step"] == 0 and state["nonfinite"]["rollbacks"] == MAX_ROLLBACKS  # the step-0 checkpoint
    assert state["nonfinite"]["lr_scale"] == 0.5 ** MAX_ROLLBACKS
    rollbacks = [r["rollback"]["rollbacks"] for r in read_jsonl(trainer.run.metrics) if "rollback" in r]
    assert rollbacks == list(range(1, MAX_ROLLBACKS + 1))


# --- disk space and failing writes -------------------------------------------------------------
_Usage = namedtuple("_Usage", "total used free")


def test_too_little_free_space_fails_before_any_training(tmp_path, monkeypatch):
    cfg = _config(epochs=1)
    trainer = _trainer(tmp_path, cfg)
    needed = 3 * (trainer.model.checkpoint_bytes() + (1 << 16))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(10**12, 10**12 - needed + 1, needed - 1))
    with pytest.raises(RunDirError, match=r"has .* MB free, but training needs about .* MB for 3 checkpoints"):
        trainer.fit()
    assert trainer.step == 0 and not trainer.run.checkpoint.exists() and not trainer.run.metrics.exists()

    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(10**12, 10**12 - needed, needed))
    trainer.fit()  # exactly enough
    assert trainer.step == 5


def test_the_checkpoint_size_estimate_matches_the_file(tmp_path):
    trainer = _train(tmp_path, "run", _config(preset="seed-dcgan", epochs=1), _images())
    estimate = trainer.model.checkpoint_bytes() + (1 << 16)
    actual = trainer.run.checkpoint.stat().st_size
    assert actual <= estimate <= 1.2 * actual


def test_an_unwritable_run_folder_fails_before_any_training(tmp_path, monkeypatch):
    import tempfile

    trainer = _trainer(tmp_path, _config(epochs=1))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(RunDirError, match="cannot write to run folder .*Read-only file system"):
        trainer.fit()
    assert not trainer.run.checkpoint.exists()


def _fail_checkpoint_writes(monkeypatch, name: str, after: int):
    """Make the (after+1)-th write of a checkpoint called `name` stop halfway with ENOSPC, as a full
    disk does: half the bytes reach the temporary file, then the write raises."""
    original, calls = Path.write_bytes, []

    def write_bytes(path, data):
        if path.name.startswith(f".{name}"):
            calls.append(path)
            if len(calls) == after + 1:
                with open(path, "wb") as handle:
                    handle.write(data[:len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")
        return original(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    return calls


def test_a_checkpoint_write_failing_halfway_keeps_the_previous_one(tmp_path, monkeypatch):
    cfg = _config(epochs=3)
    trainer = _trainer(tmp_path, cfg)
    calls = _fail_checkpoint_writes(monkeypatch, "checkpoint.safetensors", after=2)  # step 0, epoch 1, epoch 2
    with pytest.raises(RunDirError, match=r"could not write to .* at step 10 \(No space left on device\); the "
                                          r"checkpoints written before are intact.*--resume"):
        trainer.fit()
    assert len(calls) == 3 and not calls[-1].exists()  # the half-written temporary was removed
    assert not _temporaries(trainer.run.root)
    assert load_checkpoint(trainer.run.checkpoint)["step"] == 5  # the previous checkpoint, whole

    monkeypatch.undo()  # space freed: the run resumes from it and ends as an uninterrupted one
    resumed = _train(tmp_path, "run", cfg, _images(), resume=True)
    straight = _train(tmp_path, "straight", cfg, _images())
    for a, b in zip(straight.model.generator.parameters(), resumed.model.generator.parameters()):
        assert torch.equal(a, b)


def test_a_full_disk_while_logging_is_the_same_clear_error(tmp_path, monkeypatch):
    import sneakergan.train.loop as loop

    trainer = _trainer(tmp_path, _config(epochs=1))

    def full(path, record):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(loop, "append_jsonl", full)
    with pytest.raises(RunDirError, match=r"could not write to .* at step 2 \(No space left on device\).*--resume"):
        trainer.fit()
    assert load_checkpoint(trainer.run.checkpoint)["step"] == 0


def test_a_full_disk_is_a_one_line_cli_error(tiny_image_folder, tmp_path, monkeypatch, capsys):
    from sneakergan.cli import main

    _fail_checkpoint_writes(monkeypatch, "checkpoint.safetensors", after=1)  # epoch 1's checkpoint
    run = tmp_path / "run"
    args = ["train", "--preset", "seed-mlp", "--data", str(tiny_image_folder), "--out", str(run), "--epochs", "2",
            "--batch-size", "16", "--set", "g_width=32", "--set", "d_width=32", "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: could not write to" in err and "No space left on device" in err and "Traceback" not in err
    assert f"--resume {run}" in err
    assert load_checkpoint(run / "checkpoint.safetensors")["step"] == 0
