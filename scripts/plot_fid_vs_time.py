"""Quick FIDs logged during training (`eval_every`) against training time, several runs on one plot.

    python scripts/plot_fid_vs_time.py runs/seed-dcgan runs/sngan-diffaug --out docs/images/fid-vs-time.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.viz.plots import plot_score_over_time, score_name, training_seconds_at_evaluations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    curves, label = [], "FID"
    for path in args.runs:
        run = RunDir.open(path)
        cfg = run.read_config()
        records = read_jsonl(run.metrics)
        evals = [r["eval"] for r in records if "eval" in r]
        if evals:
            label = score_name(evals[0])  # e.g. fid1000: the score's name says its sample count
        # Quick FIDs are computed at the run's own resolution: the legend says which, as 28x28 and
        # 112x112 scores are not on one scale.
        name = f"{Path(path).name} (at {cfg.image_size}x{cfg.image_size})"
        curves.append((name, training_seconds_at_evaluations(records, cfg.batch_size)))
    plot_score_over_time(curves, args.out, ylabel=label)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
