"""What stage 2 can reach with a perfect stage 1: real held-out 28x28 images (the test split's, which
no model trained on) through stage 2, scored at 112x112 against the train split under the standard
protocol, beside the same images upscaled bicubically and the real 112x112 originals (the floor at
this sample size: small held-out sets bias FID upwards, so compare rows, not these with n=10,000).

    python scripts/stage2_ceiling.py --data ../shared/data/sneakers/train --held-out ../shared/data/sneakers/test \
        --sr-run runs/seed-srgan-e3 --sr-run runs/seed-srgan-e12 --out runs/eval112/ceiling
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from sneakergan.data import load_dataset
from sneakergan.inference.pipeline import load_sr_generator, super_resolve_images
from sneakergan.io import atomic_write_text
from sneakergan.metrics.evaluate import evaluate_images, summary_line
from sneakergan.metrics.features import InceptionFeatureExtractor
from sneakergan.metrics.reference import reference_stats
from sneakergan.metrics.sr_quality import bicubic_upscale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the reference (train split)")
    parser.add_argument("--held-out", required=True, help="real images standing in for stage 1's (test split)")
    parser.add_argument("--sr-run", action="append", default=[], help="a stage-2 run (repeatable)")
    parser.add_argument("--out", required=True, help="folder for one report per row and summary.json")
    parser.add_argument("--no-baselines", action="store_true", help="stage-2 runs only: no real-112 and bicubic rows")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extractor = InceptionFeatureExtractor()
    reference = reference_stats(load_dataset(args.data).images_at(112), extractor)
    held_out = load_dataset(args.held_out)
    rows = {} if args.no_baselines else {"real-112": held_out.hr, "bicubic": bicubic_upscale(held_out.lr, 4)}
    for run in args.sr_run:
        rows[Path(run).name] = super_resolve_images(load_sr_generator(run, torch.device("cpu")), held_out.lr,
                                                    torch.device("cpu"))
    summary = {}
    for name, images in rows.items():
        provenance = {"held_out": str(Path(args.held_out).resolve()), "reference": str(Path(args.data).resolve())}
        report = evaluate_images(images, reference, extractor, out / f"{name}.json", name, provenance)
        print(summary_line(report))
        summary[name] = {key: report[key] for key in ("fid", "kid_mean", "kid_std", "precision", "recall")}
    previous = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    atomic_write_text(out / "summary.json", json.dumps({**previous, **summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
