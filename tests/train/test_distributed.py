"""Multi-process training under torchrun (train/distributed.py), on the CPU: gloo, 2 processes of one
thread each, launched as users do (`python -m torch.distributed.run ... -m sneakergan train`), checked
against single-process runs made in this process with the same global batch.

Tolerances: losses within 1e-5 relative, and every tensor of the training state within 1e-5 relative
(measured: at most 7e-7). The runs sum the same numbers in different orders (a global batch vs two
halves and an all-reduce), and Adam turns those rounding differences into slightly different steps,
so bit-identity is not expected. One exception: sngan-diffaug's generator has convolution biases right
before batch norms; BN subtracts each channel's batch mean, so their gradient is zero up to rounding
and Adam moves them by +-lr on rounding noise in either run (measured: up to 1.5 lr apart). They do
not change G's output, and the comparison leaves them out.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sneakergan.cli import main
from sneakergan.config import load_preset
from sneakergan.errors import ConfigError
from sneakergan.inference.checkpoint import flatten_state, load_checkpoint
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.train.augment import diff_augment
from sneakergan.train.degrade import degrade
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed
from sneakergan.train.gan_model import gradient_penalty
from sneakergan.train.schedule import Schedule
from sneakergan.train.tasks import task_for

LAUNCH_TIMEOUT = 300  # seconds for one torchrun job, start-up included (generous: a loaded machine starts slowly)
WORKER = Path(__file__).with_name("distributed_worker.py")
TINY = ["--set", "g_width=8", "--set", "d_width=8", "--precision", "fp32", "--device", "cpu", "--batch-size", "8",
        "--eval-every", "0", "--workers", "1"]  # 48 images: 6 steps of 8 per epoch, 4 per process


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _run_two(args: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(_torchrun("-m", "sneakergan", *args), capture_output=True, text=True, env=_env(),
                            timeout=LAUNCH_TIMEOUT)
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-6000:]}"
    return result


def _losses(root: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("img_per_s", "time")} for r in read_jsonl(root / "metrics.jsonl")]


def _assert_same_losses(records: list[dict], expected: list[dict]) -> None:
    assert [sorted(r) for r in records] == [sorted(r) for r in expected]
    for record, reference in zip(records, expected):
        for key, value in reference.items():
            assert record[key] == pytest.approx(value, rel=1e-5, abs=1e-9), (key, record, reference)


def _assert_same_state(path: Path, reference: Path) -> None:
    """Every tensor of the training state (weights, buffers, Adam moments and steps) within 1e-5 relative."""
    (got_state, got), (expected_state, expected) = (flatten_state(load_checkpoint(p)) for p in (path, reference))
    assert got_state["step"] == expected_state["step"] and got.keys() == expected.keys()
    for key, value in expected.items():
        if value.is_floating_point():
            difference = (got[key].double() - value.double()).norm().item()
            assert difference <= 1e-5 * value.double().norm().item() + 1e-12, (key, difference, value.norm().item())
        else:
            assert torch.equal(got[key], value), key


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_two_processes_train_seed_dcgan_with_a_gradient_penalty_as_one_and_resume_on_one(tmp_path,
                                                                                          tiny_image_folder):
    """BN in G and D (cross-rank BN), the WGAN-GP double backward through DDP's D; a 2-process run
    resumed in one process continues as the uninterrupted single-process run."""
    args = ["train", "--preset", "seed-dcgan", "--data", str(tiny_image_folder), *TINY, "--set", "gp_weight=1",
            "--keep", "3"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*args, "--out", str(one), "--epochs", "2"]) == 0
    _run_two([*args, "--out", str(two), "--epochs", "1"])
    _assert_same_state(two / "checkpoint.safetensors", one / "checkpoints" / "step_00000006.safetensors")
    _assert_same_losses(_losses(two), [r for r in _losses(one) if r["step"] <= 6])
    # written once, by rank 0: the same files as a single process writes, each whole
    assert _files(two) == [f for f in _files(one) if "0002" not in f and "00012" not in f]
    assert len(read_jsonl(two / "d_histograms.jsonl")) == 1

    assert main(["train", "--resume", str(two), "--epochs", "2"]) == 0
    _assert_same_state(two / "checkpoint.safetensors", one / "checkpoint.safetensors")
    _assert_same_losses(_losses(two), _losses(one))
    assert _files(two) == _files(one)


def test_a_run_started_in_one_process_continues_in_two_as_in_one_sngan_with_r1(tmp_path, tiny_image_folder):
    """No BN in D, spectral norm, BN in G (cross-rank BN), the lazy R1 double backward through DDP's D,
    the EMA of G; resumed from a single-process checkpoint in two processes."""
    args = ["train", "--preset", "sngan-diffaug", "--data", str(tiny_image_folder), *TINY, "--set", "augment=",
            "--set", "r1_gamma=1", "--set", "r1_every=2"]
    one, split = tmp_path / "one", tmp_path / "split"
    assert main([*args, "--out", str(one), "--epochs", "2"]) == 0
    assert main([*args, "--out", str(split), "--epochs", "1"]) == 0
    _run_two(["train", "--resume", str(split), "--epochs", "2"])
    _assert_same_losses(_losses(split), _losses(one))
    assert any("r1_penalty" in r for r in _losses(split) if r["step"] > 6)
    assert _files(split) == _files(one)

    cfg = RunDir.open(one).read_config()
    model = task_for(cfg).model(cfg, torch.device("cpu"))  # for the names of its layers
    net = model.generator.net
    rounding_driven = {f"net.{i}.bias" for i in range(len(net) - 1)
                       if isinstance(net[i], torch.nn.Conv2d) and isinstance(net[i + 1], torch.nn.BatchNorm2d)}
    assert rounding_driven == {"net.3.bias", "net.7.bias"}
    got, expected = (load_checkpoint(root / "checkpoint.safetensors")["model"] for root in (split, one))
    for part, module in (("generator", model.generator), ("discriminator", model.discriminator)):
        for name, _ in module.named_parameters():
            if part == "generator" and name in rounding_driven:
                continue
            value = expected[part][name].double()
            assert (got[part][name].double() - value).norm() <= 1e-5 * value.norm() + 1e-12, (part, name)


def test_cross_rank_batch_norm_and_sharded_features_match_one_process():
    result = subprocess.run(_torchrun(str(WORKER)), capture_output=True, text=True, env=_env(),
                            timeout=LAUNCH_TIMEOUT)
    assert result.returncode == 0 and "worker ok" in result.stdout, result.stderr[-4000:]


def _children(pid: int) -> dict[int, int]:
    """torchrun's worker processes by rank (their parent is torchrun; their environment names the rank)."""
    ranks = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nPPid:\t{pid}\n" not in status.read_text():
                continue
            env = (status.parent / "environ").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        rank = [item[5:] for item in env if item.startswith(b"RANK=")]
        if rank:
            ranks[int(rank[0])] = int(status.parent.name)
    return ranks


def _launch_until_training(args: list[str], root: Path, after_step: int, log: Path) -> subprocess.Popen:
    with open(log, "w") as stderr:
        proc = subprocess.Popen(_torchrun("-m", "sneakergan", *args), stdout=subprocess.DEVNULL, stderr=stderr,
                                env=_env(), start_new_session=True)
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while not any(r.get("step", 0) > after_step for r in read_jsonl(root / "metrics.jsonl")):
        if proc.poll() is not None or time.monotonic() > deadline:
            _end(proc)
            pytest.fail(f"the job did not start training: {log.read_text()[-3000:]}")
        time.sleep(0.1)
    return proc


def _end(proc: subprocess.Popen) -> None:
    """Kill a job that is still running: its workers first (torchrun starts each in its own session, so
    they would outlive a killed torchrun), then torchrun."""
    if proc.poll() is None:
        for pid in _children(proc.pid).values():
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds torchrun's workers through /proc")
def test_a_signal_to_one_rank_stops_both_at_one_step_and_a_killed_rank_ends_the_job(tmp_path, tiny_image_folder):
    root = tmp_path / "run"
    args = ["train", "--preset", "seed-dcgan", "--data", str(tiny_image_folder), *TINY, "--epochs", "10000",
            "--sample-every", "10000", "--set", "log_every=1"]
    proc = _launch_until_training([*args, "--out", str(root)], root, 0, tmp_path / "first.log")
    try:
        os.kill(_children(proc.pid)[1], signal.SIGTERM)  # rank 1 only: the ranks agree to stop together
        assert proc.wait(timeout=60) != 0  # the workers exit 130 (interrupted)
    finally:
        _end(proc)
    stopped = load_checkpoint(root / "checkpoint.safetensors")["step"]
    assert f"interrupted: checkpoint saved at step {stopped}" in (tmp_path / "first.log").read_text()
    assert read_jsonl(root / "metrics.jsonl")[-1]["step"] == stopped  # log_every 1: every step, once

    proc = _launch_until_training(["train", "--resume", str(root)], root, stopped, tmp_path / "second.log")
    try:
        os.kill(_children(proc.pid)[1], signal.SIGKILL)
        assert proc.wait(timeout=60) != 0  # not a hang: torchrun notices and ends the other rank
    finally:
        _end(proc)
    log = (tmp_path / "second.log").read_text()
    assert "Signal 9 (SIGKILL)" in log and "rank      : 1" in log, log[-3000:]


def test_sharded_random_draws_equal_the_global_batchs_rows():
    """Every per-image draw under torchrun is the global batch's, sliced: the union of two ranks'
    augmented and degraded images equals one process's bit for bit, and so do the WGAN-GP mix weights
    (the mean of the ranks' penalties is the global one)."""
    x = torch.rand(8, 3, 28, 28) * 2 - 1
    ranks = [Distributed(rank, 2) for rank in range(2)]

    def whole_and_shares(draw):
        torch.manual_seed(3)
        whole = draw(x, SINGLE_PROCESS)
        shares = []
        for share in ranks:
            torch.manual_seed(3)
            shares.append(draw(share.local_share(x), share))
        return whole, shares

    whole, shares = whole_and_shares(lambda images, share: diff_augment(images, ("color", "translation", "cutout"),
                                                                        share))
    assert torch.equal(torch.cat(shares), whole)
    whole, shares = whole_and_shares(lambda images, share: degrade(images, torch.Generator().manual_seed(4), share))
    assert torch.equal(torch.cat(shares), whole)

    class Square(torch.nn.Module):  # |grad D| = 2 |x| per image: the penalty depends on each mix weight
        def forward(self, images):
            return images.flatten(1).pow(2).sum(1)

    whole, shares = whole_and_shares(lambda images, share: gradient_penalty(Square(), images, -images / 2, dist=share))
    assert torch.stack(shares).mean().item() == pytest.approx(whole.item(), rel=1e-6)


def test_the_global_batch_must_divide_among_the_processes():
    cfg = load_preset("seed-mlp").replace(batch_size=6)
    assert Schedule.for_config(cfg, 48, world_size=2).batch_size == 6
    with pytest.raises(ConfigError, match="batch_size 6 is the global batch and must divide evenly among the 4"):
        Schedule.for_config(cfg, 48, world_size=4)
    assert Schedule.for_config(cfg.replace(batch_size=8), 5, world_size=2).batch_size == 4  # fewer images


def test_noise_is_drawn_for_the_global_batch():
    cfg = load_preset("seed-mlp").replace(g_width=8, d_width=8)
    whole = task_for(cfg).model(cfg, torch.device("cpu")).noise_share(8, torch.Generator().manual_seed(0))
    shares = []
    for rank in range(2):
        model = task_for(cfg).model(cfg, torch.device("cpu"))
        model.dist = Distributed(rank, 2)
        shares.append(model.noise_share(4, torch.Generator().manual_seed(0)))
    assert torch.equal(torch.cat(shares), whole)
