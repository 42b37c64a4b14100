"""Time `sneakergan generate -n 64` with the bundled models, inside one process (no interpreter start-up).

    python benchmarks/generate_speed.py [--n 64] [--repeats 5] [--device cpu|cuda]

Prints the seconds to load both bundled generators, and the median seconds to generate n 28x28
sneakers and super-resolve them to 112x112 (the whole `generate` computation), first in fp32 (what
the CLI does) and then under bf16 autocast, with the largest pixel difference bf16 makes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from sneakergan.inference.device import autocast
from sneakergan.inference.generate import sample_images
from sneakergan.inference.pipeline import load_sr_generator, load_stage1, super_resolve_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    args = parser.parse_args()
    device = torch.device(args.device)

    start = time.perf_counter()
    stage1, stage1_cfg = load_stage1(None, device)
    z_dim = stage1_cfg.z_dim
    stage2 = load_sr_generator(None, device)
    load_s = time.perf_counter() - start

    def run(dtype):
        with autocast(device, dtype):
            lr = sample_images(stage1, z_dim, args.n, 0, device)
            return super_resolve_images(stage2, lr, device)

    results, timings = {}, {}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        results[name] = run(dtype)  # warm-up: oneDNN builds its kernels on first use
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run(dtype)
            times.append(time.perf_counter() - start)
        timings[name] = statistics.median(times)
    diff = np.abs(results["fp32"].astype(int) - results["bf16"].astype(int))
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"{machine}, torch {torch.__version__}")
    print(f"load both bundled generators: {load_s:.2f} s")
    for name, seconds in timings.items():
        print(f"{args.n} sneakers at 112x112, {name}: {seconds:.3f} s (median of {args.repeats})")
    print(f"bf16 vs fp32 pixels: max |diff| {diff.max()} uint8 steps, mean {diff.mean():.2f}")


if __name__ == "__main__":
    main()
