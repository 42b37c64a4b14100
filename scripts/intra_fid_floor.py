"""What a perfect class-conditional model would score: per-class FID and label accuracy of REAL held-out
images (e.g. the test split) against the reference (the train split), by the same code `evaluate` uses
for a conditional run's samples. Small classes have few images on both sides, so their FIDs are biased
upwards; this floor says by how much.

    python scripts/intra_fid_floor.py --data ../shared/data/sneakers/train --held-out ../shared/data/sneakers/test \
        --condition colour --out runs/eval-floor-colour.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sneakergan.data import load_dataset
from sneakergan.data.classes import class_labels
from sneakergan.io import atomic_write_text
from sneakergan.metrics.conditional import conditional_scores
from sneakergan.metrics.features import InceptionFeatureExtractor
from sneakergan.metrics.reference import reference_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the reference (train split)")
    parser.add_argument("--held-out", required=True, help="real images standing in for samples (test split)")
    parser.add_argument("--condition", choices=("colour", "price"), default="colour")
    parser.add_argument("--res", type=int, default=28)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    extractor = InceptionFeatureExtractor()
    reference_set, held_out = load_dataset(args.data), load_dataset(args.held_out)
    labels, names = class_labels(reference_set, args.condition)
    held_labels, held_names = class_labels(held_out, args.condition)
    assert names == held_names, (names, held_names)
    reference = reference_stats(reference_set.images_at(args.res), extractor)
    images = held_out.images_at(args.res)
    scores = conditional_scores(lambda index: images[held_labels == index], names, reference, labels,
                                reference_set.images_at(28), extractor)
    report = {"reference": str(Path(args.data).resolve()), "held_out": str(Path(args.held_out).resolve()),
              "condition": args.condition, "resolution": args.res, **scores}
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    print(f"label accuracy {scores['label_accuracy']:.3f}, intra-class FID mean {scores['intra_fid_mean']:.2f}")
    for entry in scores["classes"]:
        fid = "n/a" if entry["fid"] is None else f"{entry['fid']:.1f}"
        print(f"{entry['name']:14s} {entry['n_generated']:5d} held-out vs {entry['n_reference']:5d} reference: "
              f"FID {fid}, label accuracy {entry['label_accuracy']:.3f}")
    print(f"mean over classes: {np.mean([e['label_accuracy'] for e in scores['classes']]):.3f}")


if __name__ == "__main__":
    main()
