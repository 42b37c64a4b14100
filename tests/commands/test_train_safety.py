"""`train` never loses a user's files, refuses damaged or busy runs in one line, and writes nothing
before it knows the run can start (issue 21: reliability, round 2)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from sneakergan.cli import main
from sneakergan.inference.checkpoint import load_checkpoint, save_checkpoint
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl

TINY = ["--set", "g_width=16", "--set", "d_width=16", "--batch-size", "16", "--precision", "fp32", "--device", "cpu",
        "--workers", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data folder, a finished one-epoch seed-mlp run) made once; tests work on copies of the run."""
    from PIL import Image

    root = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    data = root / "data"
    data.mkdir()
    for index in range(32):
        Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)).save(data / f"{index:02d}.png")
    run = root / "run"
    assert main(["train", "--preset", "seed-mlp", "--data", str(data), "--out", str(run), "--epochs", "1", *TINY]) == 0
    return data, run


@pytest.fixture
def run_copy(trained, tmp_path):
    shutil.copytree(trained[1], tmp_path / "run")
    return tmp_path / "run"


def _one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0], err
    return errors[0]


def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- 1. --replace deletes only a run's own files -----------------------------------------------------
def test_replace_refuses_a_folder_that_merely_holds_a_config_json(trained, tmp_path, capsys):
    data, _ = trained
    app = tmp_path / "P"
    (app / "src").mkdir(parents=True)
    (app / "config.json").write_text('{"name":"app"}')
    (app / "precious.txt").write_text("x")
    before = _snapshot(app)
    assert main(["train", "--preset", "seed-mlp", "--data", str(data), "--out", str(app), "--replace",
                 "--steps", "1", *TINY]) == 2
    _one_line_error(capsys, "refusing to replace", "not a sneakergan run config")
    assert _snapshot(app) == before and (app / "src").is_dir()


def test_replace_refuses_a_run_holding_other_files_and_replaces_a_clean_one(trained, run_copy, capsys):
    data, _ = trained
    (run_copy / "notes.txt").write_text("mine")
    (run_copy / "samples" / "favourite.png").write_bytes(b"x")
    args = ["train", "--preset", "seed-mlp", "--data", str(data), "--out", str(run_copy), "--replace", "--steps", "2",
            *TINY]
    assert main(args) == 2
    _one_line_error(capsys, "files that training did not write", "notes.txt", "samples/favourite.png")
    assert (run_copy / "notes.txt").read_text() == "mine"

    (run_copy / "notes.txt").unlink()
    (run_copy / "samples" / "favourite.png").unlink()
    assert main(args) == 0
    assert load_checkpoint(run_copy / "checkpoint.safetensors")["step"] == 2
    assert [r["step"] for r in read_jsonl(run_copy / "metrics.jsonl")] == [2]  # the old run's lines are gone


# --- 2, 3, 7. a checkpoint that does not fit: one line, nothing written ------------------------------------
def test_resume_with_a_changed_architecture_is_one_line_and_writes_nothing(run_copy, capsys):
    config = json.loads((run_copy / "config.json").read_text())
    (run_copy / "config.json").write_text(json.dumps({**config, "g_width": 32}))
    before = _snapshot(run_copy)
    assert main(["train", "--resume", str(run_copy), "--epochs", "3"]) == 2
    _one_line_error(capsys, "checkpoint.safetensors does not fit", "size mismatch")
    after = _snapshot(run_copy)
    after.pop("run.lock", None)
    before.pop("run.lock", None)
    assert after == before  # config.json keeps epochs 1, metrics.jsonl its lines


def test_resume_of_a_truncated_checkpoint_leaves_config_json_as_it_was(run_copy, capsys):
    checkpoint = run_copy / "checkpoint.safetensors"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    config = (run_copy / "config.json").read_bytes()
    assert main(["train", "--resume", str(run_copy), "--epochs", "3"]) == 2
    _one_line_error(capsys, "truncated or corrupt")
    assert (run_copy / "config.json").read_bytes() == config


def test_init_from_with_wrong_shaped_tensors_leaves_no_run_folder(trained, run_copy, tmp_path, capsys):
    data, _ = trained
    state = load_checkpoint(run_copy / "checkpoint.safetensors")
    first = next(iter(state["model"]["generator"]))
    state["model"]["generator"][first] = torch.zeros(3, 5)
    save_checkpoint(run_copy / "checkpoint.safetensors", state)
    out = tmp_path / "fine-tuned"
    assert main(["train", "--preset", "seed-mlp", "--data", str(data), "--out", str(out), "--init-from",
                 str(run_copy), "--steps", "1", *TINY]) == 2
    _one_line_error(capsys, "--init-from", "does not fit", "size mismatch")
    assert not out.exists()


# --- 4. damaged log lines ---------------------------------------------------------------------------------
def test_resume_and_report_skip_non_utf8_and_mistyped_log_lines(run_copy, capsys):
    metrics = run_copy / "metrics.jsonl"
    good = metrics.read_bytes()
    metrics.write_bytes(good + b'{"step": 1, "note": "\xff\xfe"}\n' + b'{"step":"x"}\n' + b'[1, 2]\n')
    assert main(["report", str(run_copy)]) == 0
    assert main(["train", "--resume", str(run_copy), "--epochs", "2"]) == 0
    steps = [r["step"] for r in read_jsonl(metrics)]
    assert steps == [2, 4]  # the damaged lines dropped on resume, the new epoch's line appended
    assert b"\xff" not in metrics.read_bytes()
    capsys.readouterr()


# --- 5, 6. impossible configs are refused before anything starts ------------------------------------------
@pytest.mark.parametrize("setting, message", [
    ("g_width=65536", "training this config needs about"),
    ("lr_g=1e308", "lr_g must be <= 1, got 1e+308"),
    ("lr_d=nan", "lr_d must be > 0, got nan"),
    ("adv_weight=inf", "adv_weight must be <= 10000"),
])
def test_absurd_configs_are_refused_before_a_run_folder_exists(trained, tmp_path, capsys, setting, message):
    data, _ = trained
    out = tmp_path / "run"
    preset = "seed-srgan" if setting.startswith("adv_") else "seed-mlp"
    assert main(["train" if preset == "seed-mlp" else "train-sr", "--preset", preset, "--data", str(data),
                 "--out", str(out), "--set", setting, "--steps", "1", "--device", "cpu"]) == 2
    _one_line_error(capsys, message)
    assert not out.exists()


def test_the_memory_estimate_names_the_size(monkeypatch):
    from sneakergan.config import load_preset
    from sneakergan.errors import ConfigError
    from sneakergan.train import memory

    small = memory.estimate_training_memory(load_preset("seed-mlp"))
    wide = memory.estimate_training_memory(load_preset("seed-mlp").replace(g_width=65_536))
    assert 3e6 < small.parameters < 6e6 and small.total < 1e9
    assert wide.parameters > 4e9 and wide.state_bytes >= 40 * wide.parameters  # 4-byte weights, ten copies
    monkeypatch.setattr(memory, "available_bytes", lambda device: 10**9)
    memory.check_training_memory(load_preset("seed-mlp"), torch.device("cpu"))  # fits
    with pytest.raises(ConfigError, match=r"needs about [\d,.]+ GB .* but cpu has 1.0 GB available"):
        memory.check_training_memory(load_preset("seed-mlp").replace(g_width=8192), torch.device("cpu"))


# --- 8. one training process per run folder --------------------------------------------------------------
_HOLDER = """
import sys, time
from pathlib import Path
from sneakergan.inference.run_dir import RunDir
with RunDir(Path(sys.argv[1])).lock():
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_process_on_a_run_is_refused_until_the_first_is_killed(trained, run_copy, capsys):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run_copy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        metrics = (run_copy / "metrics.jsonl").read_bytes()
        assert main(["train", "--resume", str(run_copy), "--epochs", "2"]) == 2
        _one_line_error(capsys, "in use by another sneakergan process", f"pid {holder.pid}")
        assert (run_copy / "metrics.jsonl").read_bytes() == metrics
        assert main(["train", "--replace", "--preset", "seed-mlp", "--data", str(trained[0]), "--out", str(run_copy),
                     *TINY]) == 2  # nor may --replace delete a live run
        _one_line_error(capsys, "in use by another sneakergan process")
        assert (run_copy / "metrics.jsonl").read_bytes() == metrics
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    capsys.readouterr()
    assert main(["train", "--resume", str(run_copy), "--epochs", "2"]) == 0  # the kernel released the lock


# --- 9. hidden temporaries of every atomic write are cleared ---------------------------------------------
def test_resume_removes_the_temporaries_a_killed_write_left(run_copy, capsys):
    stale = [run_copy / "samples" / ".epoch_0002.png.k3j_9a0q.png",
             run_copy / "histograms" / ".epoch_0002.png.zz00aa11.png",
             run_copy / ".config.json.abcdefgh.json", run_copy / ".metrics.jsonl.0123abcd.jsonl",
             run_copy / ".checkpoint.safetensors.qwertyui.safetensors"]
    for path in stale:
        path.write_bytes(b"half")
    assert main(["train", "--resume", str(run_copy), "--epochs", "2"]) == 0
    assert not [p for p in stale if p.exists()]
    assert not [p for p in run_copy.rglob(".*")]
    capsys.readouterr()


# --- 10. non-finite weights are refused when loading --------------------------------------------------------
def test_generate_refuses_nan_weights_naming_the_file(run_copy, tmp_path, capsys):
    state = load_checkpoint(run_copy / "checkpoint.safetensors")
    state["model"]["generator"] = {k: torch.full_like(v, float("nan")) for k, v in state["model"]["generator"].items()}
    save_checkpoint(run_copy / "checkpoint.safetensors", state)
    out = tmp_path / "g.png"
    assert main(["generate", "--lr-run", str(run_copy), "--stage", "lr", "-n", "4", "--out", str(out)]) == 2
    _one_line_error(capsys, "checkpoint.safetensors holds NaN or infinite weights")
    assert not out.exists()


def test_lock_holds_the_pid_and_is_not_a_foreign_file(run_copy):
    run = RunDir(run_copy)
    with run.lock():
        assert (run_copy / "run.lock").read_text().strip() == str(os.getpid())
        assert not run.foreign_files()
    time.sleep(0)  # released on leaving the block: taking it again works
    with run.lock():
        pass
