"""Stage-2 runs side by side on stage 1's generated sneakers (no ground truth exists for them).

    python scripts/compare_sr_on_generated.py --sr-run runs/seed-srgan-clean --sr-run runs/seed-srgan-e3 \
        --out docs/images/sr-degradation-generated.png

Writes a figure with one row per generated sneaker: its 28x28 input (nearest) | bicubic | each
run's output, and prints each run's LR-consistency (PSNR-Y of downscale(SR) against the input) on
`--n` generated inputs. FID/KID at 112 come from `sneakergan evaluate --res 112 --sr-run ...`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sneakergan.images import comparison_grid, nearest_upscale, save_png
from sneakergan.inference.pipeline import apply_stage2, generate_images
from sneakergan.metrics.sr_quality import bicubic_upscale, lr_consistency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", "--lr-run", dest="lr_run", help="stage-1 run (default: the bundled model)")
    parser.add_argument("--sr-run", action="append", required=True, help="stage-2 run (repeatable)")
    parser.add_argument("--n", type=int, default=512, help="generated inputs for LR-consistency")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} already exists")
    lr = generate_images(args.lr_run, args.n, args.seed, "cpu")
    bicubic = bicubic_upscale(lr)
    columns = [nearest_upscale(lr[:args.rows], 4), bicubic[:args.rows]]
    print(f"LR-consistency PSNR-Y on {args.n} generated inputs (seed {args.seed}):")
    print(f"  bicubic: {np.mean(lr_consistency(bicubic, lr)):.2f} dB")
    for run in args.sr_run:
        sr = apply_stage2(run, lr, "cpu")
        columns.append(sr[:args.rows])
        print(f"  {run}: {np.mean(lr_consistency(sr, lr)):.2f} dB")
    save_png(comparison_grid(columns), out)
    print(f"wrote {out} (columns: input, bicubic, {', '.join(args.sr_run)})")


if __name__ == "__main__":
    main()
