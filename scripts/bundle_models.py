"""Export trained generators into the package as its bundled default models.

    python scripts/bundle_models.py --run runs/seed-dcgan --sr-run runs/seed-srgan
    python scripts/bundle_models.py --run runs/sngan-lsgan-nosn   # keeps the bundled stage 2

Writes src/sneakergan/bundled/{stage1,stage2}.safetensors (fp16 generator weights + config) for the
stages given (a stage not given keeps its bundled file) and manifest.json (sha256 of each), and
prints how far fp16 moves the outputs from fp32.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sneakergan.inference.bundle import bundle_folder, load_bundled, update_bundle
from sneakergan.inference.pipeline import load_sr_generator, load_stage1
from sneakergan.inference.run_dir import RunDir


def _report(name: str, full: torch.Tensor, half: torch.Tensor) -> None:
    diff = (full - half).abs()
    print(f"{name}: fp16 vs fp32 max |diff| {diff.max():.2e}, mean {diff.mean():.2e} "
          f"(uint8 steps: {np.ceil(float(diff.max()) * 127.5):.0f} max)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", "--lr-run", dest="lr_run",
                        help="stage-1 run folder (default: keep the bundled stage 1)")
    parser.add_argument("--sr-run", help="stage-2 run folder (default: keep the bundled stage 2)")
    args = parser.parse_args()
    if not (args.lr_run or args.sr_run):
        parser.error("give --run, --sr-run or both")
    cpu = torch.device("cpu")
    # fp32 generators: from the runs given, else the bundled ones (whose fp32 and fp16 outputs agree).
    stage1, _ = load_stage1(args.lr_run, cpu)
    stage2 = load_sr_generator(args.sr_run, cpu)
    exports = {stage: (generator, RunDir(Path(run)).read_config(), Path(run).name)
               for stage, generator, run in (("stage1", stage1, args.lr_run), ("stage2", stage2, args.sr_run)) if run}
    z = torch.randn(64, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        lr_full = stage1(z).contiguous(memory_format=torch.channels_last)
        sr_full = stage2(lr_full)
        update_bundle(exports)
        stage1.load_state_dict(load_bundled("stage1")[0])
        stage2.load_state_dict(load_bundled("stage2")[0])
        lr_half = stage1(z).contiguous(memory_format=torch.channels_last)
        sr_half = stage2(lr_half)
    # How much does fp16 storage change the images? (max abs difference in [-1, 1] units)
    _report("stage1", lr_full, lr_half)
    _report("pipeline (stage 2 of stage 1)", sr_full, sr_half)
    for path in sorted(bundle_folder().glob("*")):
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
