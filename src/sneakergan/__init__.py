"""sneakergan: train and evaluate GANs that generate sneaker images.

    import sneakergan
    pipeline = sneakergan.load_pipeline()        # the bundled models; or load_pipeline("runs/my-run")
    sneakers = pipeline.generate(16, seed=0)     # uint8 array [16, 112, 112, 3], as `sneakergan generate`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Pipeline", "load_pipeline", "__version__"]

if TYPE_CHECKING:
    from pathlib import Path

    from sneakergan.inference.pipeline import Pipeline


def load_pipeline(run: str | Path | None = None, sr_run: str | Path | None = None, device: str = "auto",
                  precision: str = "auto") -> Pipeline:
    """Both stages, loaded once: stage 1 from the run folder `run` and stage 2 from `sr_run` (None: the
    bundled models; a full-size stage 1 needs no stage 2). `device`: "auto", "cpu", "cuda", "cuda:N";
    `precision`: "auto" (bf16 where the hardware is fast at it, as the command line does), "fp32", "bf16",
    "fp16". The result's `generate(n, seed, label=None, sr_seed=0)` gives what `sneakergan generate` gives
    at the same settings, pixel for pixel; `stage1`, `stage2` are the networks, `z_dim` the latent size."""
    from sneakergan.inference.pipeline import Pipeline

    return Pipeline.load(run, sr_run, device=device, precision=precision)


def __getattr__(name: str):
    if name == "Pipeline":  # imported on first use: `import sneakergan` alone loads no torch
        from sneakergan.inference.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'sneakergan' has no attribute {name!r}")
