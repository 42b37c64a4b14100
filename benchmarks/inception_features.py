"""Throughput of the FID feature extractor per mode, side by side in one process.

    python benchmarks/inception_features.py [--n 256] [--size 28] [--batch-size 8] [--compile]

Prints a markdown table: images/s, projected seconds for a 10,000-image pass, the process's peak
resident memory while each mode ran (Linux; it includes the images and the interpreter), the feature
difference of each mode against the plain TorchScript fp32 reference (max|a-b| / max|a| and the
largest per-image relative L2), and the FID each mode gives between two halves of the images
(the second half degraded with noise, like a generator's output) with its relative difference from
the reference mode's FID. With --data, the images are real sneakers from that folder.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def sample_images(count: int, size: int) -> np.ndarray:
    """Smooth random uint8 NHWC images (realistic enough for feature statistics)."""
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.uniform(0, 255, (count, 3, 7, 7)).astype(np.float32))
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return smooth.clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def real_images(data: str, count: int) -> np.ndarray:
    from sneakergan.data import load_dataset

    return load_dataset(data, max_images=count).lr[:count]


def degraded_halves(images: np.ndarray) -> tuple[slice, np.ndarray]:
    """First half as is, second half with Gaussian noise: two sets at a realistic, nonzero FID."""
    half = len(images) // 2
    noisy = images.astype(np.float32)
    noisy[half:] += np.random.default_rng(1).normal(0, 12, noisy[half:].shape)
    return half, noisy.clip(0, 255).astype(np.uint8)


def fid_between_halves(features: np.ndarray, half: int) -> float:
    from sneakergan.metrics.fid import feature_statistics, frechet_distance

    return frechet_distance(*feature_statistics(features[:half]), *feature_statistics(features[half:]))


def reset_peak_memory() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak resident set (VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """Peak resident set since the last reset, in MiB (Linux /proc; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def timed(extractor, images: np.ndarray) -> tuple[np.ndarray, float]:
    extractor(images[: extractor.batch_size])  # warm-up (oneDNN primitive creation)
    start = time.perf_counter()
    out = extractor(images)
    return out, len(images) / (time.perf_counter() - start)


def main() -> None:
    from sneakergan.metrics.features import InceptionFeatureExtractor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="images per mode")
    parser.add_argument("--size", type=int, default=28, help="input image side (resized to 299)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the fp32 model")
    parser.add_argument("--modes", default="torchscript,fp32,bf16")
    parser.add_argument("--data", help="folder of real images (28x28 pipeline) instead of random ones")
    args = parser.parse_args()

    device = torch.device(args.device)
    images = real_images(args.data, args.n) if args.data else sample_images(args.n, args.size)
    half, images = degraded_halves(images)
    rows, reference = [], None
    for mode in args.modes.split(","):
        reset_peak_memory()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        extractor = InceptionFeatureExtractor(device=device, mode=mode, batch_size=args.batch_size)
        feats, rate = timed(extractor, images)
        note = f"peak RSS {peak_memory_mb():.0f} MiB"
        if device.type == "cuda":
            note += f", GPU peak {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
        rows.append((mode, extractor.batch_size, rate, feats, note))
        del extractor
        if mode == "torchscript":
            reference = feats
    if args.compile:
        extractor = InceptionFeatureExtractor(device=device, mode="fp32", batch_size=args.batch_size)
        start = time.perf_counter()
        extractor.model = torch.compile(extractor.model)
        extractor(images[: extractor.batch_size])
        compile_s = time.perf_counter() - start
        feats, rate = timed(extractor, images)
        rows.append(("fp32+compile", extractor.batch_size, rate, feats, f"compile {compile_s:.0f} s"))

    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"\n{args.n} images {args.size}x{args.size} -> 299x299, device {machine}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| mode | batch | images/s | 10k images (s) | max rel diff vs torchscript | max per-image rel L2 "
          "| FID of the halves | FID rel diff | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    reference_fid = fid_between_halves(reference, half) if reference is not None else None
    for mode, batch, rate, feats, note in rows:
        fid = fid_between_halves(feats, half)
        if reference is None:
            diff = l2 = fid_diff = "n/a"
        else:
            diff = f"{np.abs(feats - reference).max() / np.abs(reference).max():.2e}"
            l2 = f"{(np.linalg.norm(feats - reference, axis=1) / np.linalg.norm(reference, axis=1)).max():.2e}"
            fid_diff = f"{abs(fid - reference_fid) / reference_fid:.2e}"
        print(f"| {mode} | {batch} | {rate:.1f} | {10_000 / rate:.0f} | {diff} | {l2} | {fid:.3f} | {fid_diff} "
              f"| {note} |")


if __name__ == "__main__":
    main()
