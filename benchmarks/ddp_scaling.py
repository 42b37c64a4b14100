"""Data-parallel scaling on this machine: one training process vs `torchrun --nproc-per-node N`.

    python benchmarks/ddp_scaling.py --data ../shared/data/sneakers/train [--presets seed-dcgan sngan-diffaug]
        [--steps 60] [--nproc 2] [--precision fp32] [--out results.jsonl]

For each preset, the same global batch (the preset's) and the same number of steps, three ways, each
a fresh `sneakergan train` on the CPU:
  1 process x 1 thread        (OMP_NUM_THREADS=1: the per-process baseline)
  1 process x N threads       (OMP_NUM_THREADS=N: what a plain run gets from N cores)
  N processes x 1 thread each (torchrun, gloo: each process computes 1/N of every batch)
img/s is the median of the trainer's own logged intervals (metrics.jsonl, rank 0's clock for the
torchrun run: global images per second), the first interval left out as warm-up. The ratios say what
N processes buy over one process using the same cores, and how close they come to N x one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from sneakergan.io import read_jsonl


def train(preset: str, data: str, out: Path, steps: int, precision: str, processes: int, threads: int) -> float:
    """img/s of one `sneakergan train` run (median logged interval after the first)."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)] \
        if processes > 1 else [sys.executable]
    command = [*launcher, "-m", "sneakergan", "train", "--preset", preset, "--data", data, "--out", str(out),
               "--steps", str(steps), "--device", "cpu", "--precision", precision, "--eval-every", "0",
               "--sample-every", "100000", "--set", "log_every=10", "--set", "checkpoint_every=100000",
               "--workers", "1", "--replace"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    rates = [r["img_per_s"] for r in read_jsonl(out / "metrics.jsonl") if "img_per_s" in r]
    return statistics.median(rates[1:] or rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/sneakers/train")
    parser.add_argument("--presets", nargs="+", default=["seed-dcgan", "sngan-diffaug"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--out", help="append one JSON line per preset here")
    args = parser.parse_args()
    n = args.nproc
    print(f"{'preset':14s} {'1 proc x 1 thr':>15s} {f'1 proc x {n} thr':>15s} {f'{n} proc x 1 thr':>15s} "
          f"{'vs 1xN':>7s} {'vs 1x1':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            rates = {name: train(preset, args.data, Path(tmp) / name, args.steps, args.precision, processes, threads)
                     for name, processes, threads in (("1x1", 1, 1), (f"1x{n}", 1, n), (f"{n}x1", n, 1))}
            versus_threads, versus_one = rates[f"{n}x1"] / rates[f"1x{n}"], rates[f"{n}x1"] / rates["1x1"]
            print(f"{preset:14s} {rates['1x1']:15.0f} {rates[f'1x{n}']:15.0f} {rates[f'{n}x1']:15.0f} "
                  f"{versus_threads:6.2f}x {versus_one:6.2f}x", flush=True)
            if args.out:
                with open(args.out, "a") as handle:
                    handle.write(json.dumps({"preset": preset, "steps": args.steps, "precision": args.precision,
                                             "img_per_s": rates, "ratio_vs_threads": versus_threads,
                                             "ratio_vs_one_thread": versus_one}) + "\n")


if __name__ == "__main__":
    main()
