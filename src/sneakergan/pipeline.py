"""The two-stage pipeline: stage 1's 28x28 images, super-resolved 4x by a stage-2 run.

Stage 2 sees exactly what stage 1 saves (uint8, converted back with the trainer's /127.5 - 1),
so `generate --sr-run` applies the same model to generated images as `eval-sr` scores on real ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.data import PreprocessSettings
from sneakergan.errors import ConfigError, RunDirError, one_line
from sneakergan.train.checkpoint import load_checkpoint
from sneakergan.train.loop import resolve_device
from sneakergan.train.run_dir import RunDir
from sneakergan.train.sr_model import SCALE, build_sr_generator
from sneakergan.viz.grid import nearest_upscale, to_uint8

BATCH = 64  # SR activations at 112x112 are large; this bounds memory
FULL_SIZE = PreprocessSettings().hr_size  # what the pipeline makes; a stage 1 this large needs no stage 2


def open_run(run_dir: str | Path, task: str, option: str):
    """(RunDir, config) of a run that must be of `task`; the error names the option to use instead."""
    run = RunDir.open(run_dir)
    cfg = run.read_config()
    if cfg.task != task:
        other = "--sr-run" if option == "--run" else "--run"
        raise RunDirError(f"{run_dir} is a task {cfg.task!r} run, {option} needs a task {task!r} run "
                          f"(pass it as {other}?)")
    return run, cfg


def load_stage_generator(run_dir: str | Path | None, stage: str, task: str, option: str,
                         build: Callable[[TrainConfig], torch.nn.Module], ema: bool = True
                         ) -> tuple[torch.nn.Module, TrainConfig]:
    """A stage's generator (eval mode, CPU) and its config: from a run's checkpoint (its EMA weights
    where it keeps them, unless `ema` is False), or the bundled model of `stage` when `run_dir` is None."""
    from sneakergan.bundle import load_bundled

    if run_dir is None:
        state, cfg = load_bundled(stage)
        origin = f"the bundled {stage} model"
    else:
        run, cfg = open_run(run_dir, task, option)
        checkpoint = load_checkpoint(run.checkpoint)
        origin = f"checkpoint {run.checkpoint}"
    generator = build(cfg)
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


def load_sr_generator(run_dir: str | Path | None, device: torch.device) -> torch.nn.Module:
    """Stage 2's generator from a run's checkpoint, or the bundled one when `run_dir` is None."""
    generator, _ = load_stage_generator(run_dir, "stage2", "sr", "--sr-run", build_sr_generator)
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
        chunk = torch.from_numpy(np.ascontiguousarray(lr[start:start + BATCH])).permute(0, 3, 1, 2)
        chunk = chunk.to(device).float().div_(127.5).sub_(1.0).contiguous(memory_format=torch.channels_last)
        outputs.append(to_uint8(generator(chunk, noise=detail_noise(seed, first + start, len(chunk)))))
    return np.concatenate(outputs) if outputs else np.empty((0, lr.shape[1] * SCALE, lr.shape[2] * SCALE, 3), np.uint8)


def needs_stage2(image_size: int, stage2_options: dict[str, bool]) -> bool:
    """Whether a stage-1 model making `image_size` pixels needs stage 2. A single-stage model (full
    size, preset sngan-112) has none to choose: it refuses the stage-2 options given (name -> used)."""
    if image_size < FULL_SIZE:
        return True
    given = [name for name, used in stage2_options.items() if used]
    if given:
        raise ConfigError(f"the stage-1 model makes {image_size}x{image_size} images in one stage: "
                          f"{' and '.join(given)} {'does' if len(given) == 1 else 'do'} not apply")
    return False


def apply_stage2(sr_run: str | Path | None, lr: np.ndarray, device: str = "auto", show_lr: bool = False,
                 seed: int = 0) -> np.ndarray:
    """Super-resolve stage-1 images; with `show_lr` each result is [input nearest-upscaled | output];
    `seed`: of the details of a stage 2 with noise inputs. Images already at full size come from a
    single-stage generator: returned as they are."""
    if not needs_stage2(lr.shape[1], {"--sr-run": sr_run is not None, "--show-lr": show_lr}):
        return lr
    target = resolve_device(device)
    sr = super_resolve_images(load_sr_generator(sr_run, target), lr, target, seed=seed)
    if show_lr:
        sr = np.concatenate([nearest_upscale(lr, sr.shape[1] // lr.shape[1]), sr], axis=2)
    return sr
