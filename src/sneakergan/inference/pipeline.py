"""The two-stage pipeline as one object: stage 1's images from noise (28x28), then stage 2's 4x
super-resolution, loaded once and used by generate, interpolate, evaluate, the studio and the Python API.

Stage 2 sees exactly what stage 1 saves (uint8, converted back with images.to_unit_range), so
`generate` applies the same model to generated images as `eval-sr` scores on real ones. A stage-1 model
that already makes full-size images (preset sngan-112) is a single-stage pipeline: no stage 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.data import PreprocessSettings
from sneakergan.errors import ConfigError, RunDirError, one_line
from sneakergan.images import nearest_upscale, to_uint8, to_unit_range
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.inference.device import autocast, describe, resolve_device, resolve_precision
from sneakergan.inference.generate import class_index, sample_images
from sneakergan.inference.interpolate import path_frames
from sneakergan.inference.run_dir import RunDir
from sneakergan.models.build import build_generator, build_sr_generator
from sneakergan.models.srgan import SCALE

BATCH = 64  # SR activations at 112x112 are large; this bounds memory
FULL_SIZE = PreprocessSettings().hr_size  # what the pipeline makes; a stage 1 this large needs no stage 2
# Each stage: the task its runs have, the parameter that names its run, how its generator is built.
_STAGES = {"stage1": ("gan", "run", build_generator), "stage2": ("sr", "sr_run", build_sr_generator)}


def open_run(run_dir: str | Path, stage: str) -> tuple[RunDir, TrainConfig]:
    """(RunDir, config) of a run that must be of `stage`'s task; the error says which parameter takes it."""
    task, parameter, _ = _STAGES[stage]
    run = RunDir.open(run_dir)
    cfg = run.read_config()
    if cfg.task != task:
        other = next(name for key, (_, name, _) in _STAGES.items() if key != stage)
        raise RunDirError(f"{run_dir} is a task {cfg.task!r} run, {{{parameter}}} needs a task {task!r} run "
                          f"(pass it as {{{other}}}?)", names=(parameter, other))
    return run, cfg


def load_stage_generator(run_dir: str | Path | None, stage: str, ema: bool = True
                         ) -> tuple[torch.nn.Module, TrainConfig]:
    """A stage's generator (eval mode, CPU) and its config: from a run's checkpoint (its EMA weights
    where it keeps them, unless `ema` is False), or the bundled model of `stage` when `run_dir` is None."""
    from sneakergan.inference.bundle import load_bundled

    if run_dir is None:
        state, cfg = load_bundled(stage)
        origin = f"the bundled {stage} model"
    else:
        run, cfg = open_run(run_dir, stage)
        checkpoint = load_checkpoint(run.checkpoint)
        origin = f"checkpoint {run.checkpoint}"
    generator = _STAGES[stage][2](cfg)
    try:
        if run_dir is not None:  # a recipe with an EMA of G samples from the average, in training and here alike
            model = checkpoint["model"]
            state = model["generator_ema"]["weights"] if ema and "generator_ema" in model else model["generator"]
        generator.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise RunDirError(f"{origin} does not match its config: {one_line(exc)}") from None
    broken = next((name for name, tensor in generator.state_dict().items()
                   if tensor.is_floating_point() and not torch.isfinite(tensor).all()), None)
    if broken is not None:  # a diverged run's weights would make blank images and exit 0
        raise RunDirError(f"{origin} holds NaN or infinite weights ({broken}); the run diverged: resume it from an "
                          "earlier kept checkpoint, or use another run")
    return generator.eval(), cfg


def load_stage1(run_dir: str | Path | None, device: torch.device, ema: bool = True
                ) -> tuple[torch.nn.Module, TrainConfig]:
    """Stage 1's generator and config (see `load_stage_generator`); `ema` False: a run's raw G weights."""
    generator, cfg = load_stage_generator(run_dir, "stage1", ema=ema)
    return generator.to(device), cfg


def stage1_config(run_dir: str | Path | None) -> TrainConfig:
    """Stage 1's config without building its generator (the bundled one when `run_dir` is None)."""
    if run_dir is None:
        from sneakergan.inference.bundle import load_bundled

        return load_bundled("stage1")[1]
    return open_run(run_dir, "stage1")[1]


def load_sr_generator(run_dir: str | Path | None, device: torch.device) -> torch.nn.Module:
    """Stage 2's generator from a run's checkpoint, or the bundled one when `run_dir` is None."""
    generator, _ = load_stage_generator(run_dir, "stage2")
    return generator.to(device).to(memory_format=torch.channels_last)


def detail_noise(seed: int, first: int, count: int) -> list[torch.Generator]:
    """One noise generator per image for a stage 2 with noise inputs: image i of a call with `seed` gets
    its own stream, so its details do not depend on the batch it is made in (generate, studio alike)."""
    # SeedSequence mixes (seed, index) into a well-spread 64-bit seed for any seed up to 2**63 - 1
    return [torch.Generator().manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]))
            for index in range(first, first + count)]


@torch.no_grad()
def super_resolve_images(generator: torch.nn.Module, lr: np.ndarray, device: torch.device, seed: int = 0,
                         first: int = 0) -> np.ndarray:
    """uint8 NHWC [N, h, w, 3] -> uint8 NHWC [N, 4h, 4w, 3]. A stage 2 with noise inputs draws image i's
    details from `detail_noise(seed, first + i)`: another `seed` re-rolls them."""
    outputs = []
    for start in range(0, len(lr), BATCH):
        chunk = to_unit_range(lr[start:start + BATCH], device).contiguous(memory_format=torch.channels_last)
        outputs.append(to_uint8(generator(chunk, noise=detail_noise(seed, first + start, len(chunk)))))
    return np.concatenate(outputs) if outputs else np.empty((0, lr.shape[1] * SCALE, lr.shape[2] * SCALE, 3), np.uint8)


def needs_stage2(image_size: int, stage2_parameters: dict[str, bool] | None = None) -> bool:
    """Whether a stage-1 model making `image_size` pixels needs stage 2. A single-stage model (full
    size, preset sngan-112) has none to choose: it refuses the stage-2 parameters given (name -> used)."""
    if image_size < FULL_SIZE:
        return True
    given = [name for name, used in (stage2_parameters or {}).items() if used]
    if given:
        placeholders = " and ".join("{" + name + "}" for name in given)
        raise ConfigError(f"the stage-1 model makes {image_size}x{image_size} images in one stage: {placeholders} "
                          f"{'does' if len(given) == 1 else 'do'} not apply", names=tuple(given))
    return False


def apply_stage2(sr_run: str | Path | None, lr: np.ndarray, device: str = "auto", show_lr: bool = False,
                 seed: int = 0) -> np.ndarray:
    """Super-resolve stage-1 images (already made); with `show_lr` each result is [input nearest-upscaled |
    output]. Images already at full size come from a single-stage generator: returned as they are."""
    if not needs_stage2(lr.shape[1], {"sr_run": sr_run is not None, "show_lr": show_lr}):
        return lr
    target = resolve_device(device)
    sr = super_resolve_images(load_sr_generator(sr_run, target), lr, target, seed=seed)
    return side_by_side(lr, sr) if show_lr else sr


def side_by_side(lr: np.ndarray, sr: np.ndarray) -> np.ndarray:
    """Each stage-1 image (nearest-upscaled) beside its stage-2 version."""
    return np.concatenate([nearest_upscale(lr, sr.shape[1] // lr.shape[1]), sr], axis=2)


class Pipeline:
    """Stage 1 and (for a stage 1 below full size) stage 2, loaded once, run under one device and precision.

    `sample_lr` makes stage 1's images, `upscale` takes them to full size, `generate` does both;
    `frames` walks stage 1's latent space. The same seed gives the same images as `sneakergan generate`
    at the same device and precision, whatever the batch around them."""

    def __init__(self, stage1: torch.nn.Module, cfg: TrainConfig, stage2: torch.nn.Module | None,
                 device: torch.device, dtype: torch.dtype, run: str | Path | None = None,
                 sr_run: str | Path | None = None) -> None:
        self.stage1, self.cfg, self.stage2 = stage1, cfg, stage2
        self.device, self.dtype, self.run, self.sr_run = device, dtype, run, sr_run

    @classmethod
    def load(cls, run: str | Path | None = None, sr_run: str | Path | None = None, device: str = "auto",
             precision: str = "auto", ema: bool = True, stage2: bool = True,
             stage2_parameters: dict[str, bool] | None = None) -> Pipeline:
        """The runs' generators (None: the bundled models); `stage2` False: stage 1 only (no stage-2 load);
        `ema` False: stage 1's raw G weights where its run keeps an EMA; `stage2_parameters`: the caller's
        other stage-2 parameters (name -> used), refused with sr_run for a single-stage model (needs_stage2)."""
        target = resolve_device(device)
        dtype = resolve_precision(precision, target)
        generator, cfg = load_stage1(run, target, ema=ema)
        two_stage = needs_stage2(cfg.image_size, {"sr_run": sr_run is not None, **(stage2_parameters or {})})
        upscaler = load_sr_generator(sr_run, target) if two_stage and stage2 else None
        return cls(generator, cfg, upscaler, target, dtype, run, sr_run)

    # --- what it makes ------------------------------------------------------------------------
    @property
    def z_dim(self) -> int:
        return self.cfg.z_dim

    @property
    def lr_size(self) -> int:
        """Stage 1's image size (the full size for a single-stage model)."""
        return self.cfg.image_size

    @property
    def single_stage(self) -> bool:
        return not needs_stage2(self.cfg.image_size)

    @property
    def image_size(self) -> int:
        """The pipeline's output size: stage 2's, or a single-stage model's own."""
        return self.lr_size if self.single_stage else self.lr_size * SCALE

    @property
    def class_names(self) -> list[str]:
        return list(self.cfg.class_names) if self.cfg.condition else []

    @property
    def stochastic_details(self) -> bool:
        """Whether stage 2 has noise inputs, so that its details can be re-rolled (models/srgan.py)."""
        return getattr(self.stage2, "noise", None) is not None

    @property
    def precision(self) -> str:
        return describe(self.dtype)

    def class_index(self, label: str | None, needed: bool = False) -> int | None:
        """The index of class `label`; a ConfigError saying why it cannot be used (see generate.class_index)."""
        return class_index(self.cfg, label, self.run, needed=needed)

    # --- making images ------------------------------------------------------------------------
    def sample_lr(self, count: int, seed: int, label: str | None = None,
                  class_probs: np.ndarray | None = None) -> np.ndarray:
        """Stage 1's `count` uint8 NHWC images from `seed` (`label`, `class_probs`: generate.sample_images)."""
        with torch.no_grad(), autocast(self.device, self.dtype):
            return sample_images(self.stage1, self.z_dim, count, seed, self.device, n_classes=self.cfg.n_classes,
                                 label=self.class_index(label), class_probs=class_probs)

    def upscale(self, lr: np.ndarray, seed: int = 0, first: int = 0) -> np.ndarray:
        """Stage 1's images at full size (as they are for a single stage); `seed`, `first`: stage 2's
        details (super_resolve_images)."""
        if lr.shape[1] >= FULL_SIZE:
            return lr
        if self.stage2 is None:
            raise ConfigError("this pipeline was loaded without stage 2 (stage2=False)")
        with autocast(self.device, self.dtype):
            return super_resolve_images(self.stage2, lr, self.device, seed=seed, first=first)

    def generate(self, count: int, seed: int, label: str | None = None, sr_seed: int = 0) -> np.ndarray:
        """`count` full-size uint8 NHWC sneakers: stage 1 from `seed`, stage 2's details from `sr_seed`."""
        return self.upscale(self.sample_lr(count, seed, label), seed=sr_seed)

    def frames(self, seeds: list[int], steps: int, label: str | None = None) -> np.ndarray:
        """Stage 1's uint8 NHWC frames from seed to seed (interpolate.latent_path); a class-conditional
        model needs `label` (one class along the path)."""
        index = self.class_index(label, needed=True)
        with torch.no_grad(), autocast(self.device, self.dtype):
            return path_frames(self.stage1, self.z_dim, seeds, steps, self.device, label=index)


def generate_images(run_dir: str | Path | None, count: int, seed: int, device: str = "auto",
                    label: str | None = None, class_probs: np.ndarray | None = None, ema: bool = True,
                    precision: str = "fp32") -> np.ndarray:
    """Stage 1's `count` images as uint8 NHWC (the bundled model's when `run_dir` is None); the same seed
    gives the same images on any device (see generate.sample_images for `label` and `class_probs`)."""
    pipeline = Pipeline.load(run_dir, device=device, precision=precision, ema=ema, stage2=False)
    return pipeline.sample_lr(count, seed, label=label, class_probs=class_probs)
