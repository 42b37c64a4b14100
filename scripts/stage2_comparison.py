"""The stage-2 comparison figure: real held-out sneakers' 28x28 through each stage 2, beside the original.

    python scripts/stage2_comparison.py --held-out ../shared/data/sneakers/test --new-run runs/sr-perceptual \
        --out docs/images/stage2-perceptual-test.png

One row per image: LR (nearest) | bicubic | the bundled stage 2 | the new stage 2 (--realisations
details seeds, `generate --sr-seed`) | the original 112x112. Also prints each stage 2's LR consistency
(PSNR-Y of the pipeline's downscale of its output against the input) on those rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sneakergan.data import load_dataset
from sneakergan.images import comparison_grid, nearest_upscale, save_png
from sneakergan.inference.pipeline import load_sr_generator, super_resolve_images
from sneakergan.metrics.sr_quality import bicubic_upscale, lr_consistency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", required=True, help="real images the models did not train on (test split)")
    parser.add_argument("--new-run", required=True, help="the stage-2 run to show beside the bundled one")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--realisations", type=int, default=3)
    parser.add_argument("--out", required=True, help="PNG to write (never overwritten)")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} already exists")
    cpu = torch.device("cpu")
    held_out = load_dataset(args.held_out)
    shown = np.sort(np.random.default_rng(0).choice(len(held_out), size=args.rows, replace=False))
    lr, hr = held_out.lr[shown], held_out.hr[shown]
    old = super_resolve_images(load_sr_generator(None, cpu), lr, cpu)
    new_generator = load_sr_generator(args.new_run, cpu)
    new = [super_resolve_images(new_generator, lr, cpu, seed=seed) for seed in range(args.realisations)]
    for name, images in (("bicubic", bicubic_upscale(lr)), ("bundled stage 2", old), ("new stage 2", new[0])):
        print(f"{name}: LR consistency {np.mean(lr_consistency(images, lr)):.2f} dB on {args.rows} test images")
    save_png(comparison_grid([nearest_upscale(lr, 4), bicubic_upscale(lr), old, *new, hr]), out)
    print(f"wrote {out}: LR | bicubic | bundled stage 2 | new stage 2 (details seeds 0..{args.realisations - 1}) "
          "| original")


if __name__ == "__main__":
    main()
