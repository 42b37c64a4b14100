"""SIGKILL a training process (no handler runs, no checkpoint is saved on the way out) at random
points and in the middle of a checkpoint write; resume it to the end each time, and require the
final state to be bit-identical to an uninterrupted run's: parameters, optimizer moments, RNG
states, kept checkpoints and the metrics log.

Each run is a subprocess on one thread: a tiny seed-mlp (g_width/d_width 32, batch 8) on 80
random uint8 images, 5 epochs of 10 steps, keep_checkpoints 2. The driver can sleep after each
step (to give a kill time to land mid-training; the sleep changes no number) and can pause one
checkpoint write between its complete temporary file and the rename, for the parent to kill it there.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sneakergan.inference.checkpoint import load_checkpoint, read_safetensors
from sneakergan.io import read_jsonl

TOTAL_STEPS = 50
STEP_SLEEP = 0.03  # seconds after each step: a run of n steps lasts at least n * STEP_SLEEP

DRIVER = """
import os, sys, time
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)
import sneakergan.train.loop as loop
from sneakergan.config import load_preset
from sneakergan.inference.run_dir import RunDir

root, mode = Path(sys.argv[1]), sys.argv[2]
step_sleep = float(os.environ.get("DRIVER_STEP_SLEEP", "0"))
pause_at = int(os.environ.get("DRIVER_PAUSE_IN_WRITE", "0"))  # that checkpoint.safetensors write pauses

cfg = load_preset("seed-mlp").replace(g_width=32, d_width=32, batch_size=8, epochs=5, log_every=5, n_samples=16,
                                      sample_every=100, device="cpu", data="unused", keep_checkpoints=2)
images = np.random.default_rng(0).integers(0, 256, size=(80, 28, 28, 3), dtype=np.uint8)
loop.Trainer.write_figures = lambda self, epoch: None  # figures are not what this test is about
loop.plot_loss_curves = lambda *args: None

writes, replace = 0, os.replace

def pausing_replace(src, dst):  # io.atomic_path: temporary written and fsynced -> os.replace
    global writes
    if Path(dst).name == "checkpoint.safetensors":
        writes += 1
        if writes == pause_at:
            print("IN-WRITE", flush=True)
            time.sleep(120)
    replace(src, dst)

os.replace = pausing_replace
run = RunDir.create(root, cfg, replace=True) if mode == "fresh" else RunDir.open(root)
trainer = loop.Trainer(cfg, run, images, progress=False)
step = trainer.model.train_step

def slow_step(*args):
    metrics = step(*args)
    time.sleep(step_sleep)
    return metrics

trainer.model.train_step = slow_step
if mode == "resume":
    trainer.resume()
print("READY", trainer.step, flush=True)
trainer.fit()
print("DONE", trainer.step, flush=True)
"""


def _launch(root: Path, sleep: float = 0.0, pause_in_write: int = 0) -> subprocess.Popen:
    mode = "resume" if (root / "checkpoint.safetensors").exists() else "fresh"  # killed before step 0's: anew
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DRIVER_STEP_SLEEP": str(sleep),
           "DRIVER_PAUSE_IN_WRITE": str(pause_in_write)}
    log = open(root.parent / f"{root.name}.stderr", "a")
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(root), mode], stdout=subprocess.PIPE, stderr=log,
                            text=True, env=env)


def _line(proc: subprocess.Popen, root: Path, expected: str) -> str:
    line = proc.stdout.readline()
    if not line.startswith(expected):
        proc.kill()
        proc.wait()
        pytest.fail(f"driver said {line!r}, expected {expected}: {(root.parent / f'{root.name}.stderr').read_text()}")
    return line


def _kill(proc: subprocess.Popen) -> None:
    assert proc.poll() is None, "the run ended before the kill"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    proc.stdout.close()


def _run_to_end(root: Path) -> None:
    proc = _launch(root)
    _line(proc, root, "READY")
    _line(proc, root, "DONE")
    assert proc.wait(timeout=120) == 0
    proc.stdout.close()


def _assert_latest_checkpoint_loads(root: Path) -> int:
    """After a kill: the latest checkpoint (if any was written yet) is whole; returns its step."""
    path = root / "checkpoint.safetensors"
    return load_checkpoint(path)["step"] if path.exists() else -1


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill") / "straight"
    _run_to_end(root)
    return root


def _assert_identical(root: Path, reference: Path) -> None:
    a, b = load_checkpoint(root / "checkpoint.safetensors"), load_checkpoint(reference / "checkpoint.safetensors")
    assert a["step"] == b["step"] == TOTAL_STEPS
    for name in ("generator", "discriminator"):
        for key, tensor in b["model"][name].items():
            assert torch.equal(a["model"][name][key], tensor), f"{name}.{key} differs"
    for name in ("opt_g", "opt_d"):
        for index, values in b["model"][name]["state"].items():
            for key, tensor in values.items():
                assert torch.equal(a["model"][name]["state"][index][key], tensor), f"{name} {index}.{key} differs"
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"]) and torch.equal(a["rng"]["noise"], b["rng"]["noise"])
    # the latest and the kept checkpoints, every tensor and all metadata (the file bytes differ only
    # in the order safetensors writes its metadata map); nothing lost, nothing extra, no temporaries
    files = sorted(p.relative_to(reference).as_posix() for p in reference.rglob("*.safetensors"))
    assert files == ["checkpoint.safetensors", "checkpoints/step_00000040.safetensors",
                     "checkpoints/step_00000050.safetensors"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.safetensors")) == files
    assert not [p for p in root.rglob(".*") if p.is_file()]
    for name in files:
        (meta_a, tensors_a), (meta_b, tensors_b) = read_safetensors(root / name), read_safetensors(reference / name)
        assert meta_a == meta_b and tensors_a.keys() == tensors_b.keys(), name
        assert all(torch.equal(tensors_a[key], tensors_b[key]) for key in tensors_b), name
    # the log: every line once, the same numbers (throughput aside)
    timing = ("img_per_s", "time")  # when, not what: they differ between any two runs
    strip = [{k: v for k, v in r.items() if k not in timing} for r in read_jsonl(root / "metrics.jsonl")]
    assert strip == [{k: v for k, v in r.items() if k not in timing} for r in read_jsonl(reference / "metrics.jsonl")]


def test_killed_at_random_points_resumes_bit_identically(tmp_path, uninterrupted):
    root, delays, kills = tmp_path / "run", random.Random(7), []
    for _ in range(3):
        proc = _launch(root, sleep=STEP_SLEEP)
        start = int(_line(proc, root, "READY").split()[1])
        # the rest of the run lasts at least (TOTAL_STEPS - start) * STEP_SLEEP: kill well before that
        delay = delays.uniform(0.1, 0.8) * (TOTAL_STEPS - start) * STEP_SLEEP
        time.sleep(delay)
        _kill(proc)
        kills.append((start, round(delay, 2), _assert_latest_checkpoint_loads(root)))
    _run_to_end(root)
    print("kills (resumed from step, seconds after ready, latest checkpoint step):", kills)
    assert len(kills) == 3
    _assert_identical(root, uninterrupted)


def test_killed_mid_checkpoint_write_resumes_bit_identically(tmp_path, uninterrupted):
    root = tmp_path / "run"
    # write 1 is step 0's checkpoint: killed there, the run has no checkpoint yet and starts anew
    proc = _launch(root, pause_in_write=1)
    _line(proc, root, "READY")
    _line(proc, root, "IN-WRITE")
    _kill(proc)
    assert not (root / "checkpoint.safetensors").exists()
    assert len(list(root.glob(".checkpoint.safetensors.*"))) == 1  # the complete, never renamed temporary

    # write 3 is epoch 2's (step 20): its kept copy is written, checkpoint.safetensors not yet replaced
    proc = _launch(root, pause_in_write=3)
    _line(proc, root, "READY")
    _line(proc, root, "IN-WRITE")
    _kill(proc)
    assert _assert_latest_checkpoint_loads(root) == 10  # the previous checkpoint, whole
    assert len(list(root.glob(".checkpoint.safetensors.*"))) == 1
    assert [p.name for p in sorted((root / "checkpoints").iterdir())] == ["step_00000010.safetensors",
                                                                         "step_00000020.safetensors"]
    _run_to_end(root)  # removes the temporary, replaces step 20's copy, ends as if never killed
    _assert_identical(root, uninterrupted)
