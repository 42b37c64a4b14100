"""Export trained generators into the package as its bundled default models.

    python scripts/bundle_models.py --lr-run runs/seed-dcgan --sr-run runs/seed-srgan

Writes src/sneakergan/bundled/{stage1,stage2}.safetensors (fp16 generator weights + config) and
manifest.json (sha256 of each), and prints how far fp16 moves the outputs from fp32.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from sneakergan.bundle import bundle_folder, export_generator, load_bundled
from sneakergan.generate import load_generator
from sneakergan.io import atomic_write_text
from sneakergan.pipeline import load_sr_generator
from sneakergan.train.run_dir import RunDir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr-run", required=True)
    parser.add_argument("--sr-run", required=True)
    args = parser.parse_args()
    cpu = torch.device("cpu")
    folder = bundle_folder()
    manifest = {}
    stage1, _ = load_generator(args.lr_run, cpu)
    stage2 = load_sr_generator(args.sr_run, cpu)
    for stage, generator, run in (("stage1", stage1, args.lr_run), ("stage2", stage2, args.sr_run)):
        cfg = RunDir(Path(run)).read_config()
        sha = export_generator(generator, cfg, folder / f"{stage}.safetensors")
        manifest[stage] = {"file": f"{stage}.safetensors", "sha256": sha, "run": Path(run).name}
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=1) + "\n")

    # How much does fp16 storage change the images? (max abs difference in [-1, 1] units)
    z = torch.randn(64, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = stage1(z)
        state, _ = load_bundled("stage1")
        stage1.load_state_dict(state)
        half = stage1(z)
        lr = full.contiguous(memory_format=torch.channels_last)
        sr_full = stage2(lr)
        state, _ = load_bundled("stage2")
        stage2.load_state_dict(state)
        sr_half = stage2(lr)
    for name, a, b in (("stage1", full, half), ("stage2", sr_full, sr_half)):
        diff = (a - b).abs()
        print(f"{name}: fp16 vs fp32 max |diff| {diff.max():.2e}, mean {diff.mean():.2e} "
              f"(uint8 steps: {np.ceil(float(diff.max()) * 127.5):.0f} max)")
    for path in sorted(folder.glob("*")):
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
