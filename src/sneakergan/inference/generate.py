"""Stage 1's images from seeds (noise, and labels for a class-conditional G), and writing images out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError, RunDirError
from sneakergan.images import IMAGE_FORMATS, make_grid, save_png, to_uint8
from sneakergan.models.build import sample_labels, sample_noise

BATCH = 256


def class_index(cfg: TrainConfig, label: str | None, run_dir: str | Path | None, needed: bool = False) -> int | None:
    """The index of class `label` in a stage-1 config (of `run_dir`, None: the bundled model); a
    ConfigError saying why `label` cannot be used. `needed`: a class-conditional model must be given
    one (an interpolation keeps one class along its path)."""
    model = "the bundled stage-1 model" if run_dir is None else f"the stage-1 run {run_dir}"
    if label is None:
        if needed and cfg.condition:
            raise ConfigError(f"{model} is class-conditional: {{label}} must be one of {', '.join(cfg.class_names)}",
                              names=("label",))
        return None
    if not cfg.condition:
        raise ConfigError(f"{{label}} {label!r} needs a class-conditional stage-1 model; {model} is unconditional",
                          names=("label",))
    if label not in cfg.class_names:
        raise ConfigError(f"unknown {{label}} {label!r}; {model} knows {', '.join(cfg.class_names)}",
                          names=("label",))
    return cfg.class_names.index(label)


@torch.no_grad()
def sample_images(generator: torch.nn.Module, z_dim: int, count: int, seed: int, device: torch.device,
                  n_classes: int = 0, label: int | None = None, class_probs: np.ndarray | None = None) -> np.ndarray:
    """`n_classes` > 0 (a class-conditional G): class `label` for all, or classes drawn from the seed
    after the noise (so a seed's noise is the same with and without a label), uniformly or with
    probabilities `class_probs`."""
    noise = torch.Generator().manual_seed(seed)
    z = sample_noise(count, z_dim, noise, device)
    if not n_classes:
        return np.concatenate([to_uint8(generator(chunk)) for chunk in z.split(BATCH)])
    if label is not None:
        labels = torch.full((count,), label, device=device)
    elif class_probs is not None:
        labels = torch.multinomial(torch.as_tensor(class_probs, dtype=torch.float64), count, replacement=True,
                                   generator=noise).to(device)
    else:
        labels = sample_labels(count, n_classes, noise, device)
    return np.concatenate([to_uint8(generator(chunk, classes))
                           for chunk, classes in zip(z.split(BATCH), labels.split(BATCH))])


def check_output(out: Path, fmt: str, replace: bool) -> None:
    """Refuse an --out that would overwrite something (unless `replace`) or cannot take `fmt`."""
    if fmt == "grid":
        if out.suffix.lower() not in IMAGE_FORMATS:
            raise RunDirError(f"{{out}} {out} must end in {', '.join(IMAGE_FORMATS)} for a grid (or use {{format}} "
                              "files)", names=("out", "format"))
        occupied = out.exists()
    else:
        if out.exists() and not out.is_dir():
            raise RunDirError(f"{out} exists and is not a folder")
        occupied = out.is_dir() and any(out.iterdir())
    if occupied and not replace:
        raise RunDirError(f"{out} already exists; pass {{replace}} to overwrite it", names=("replace",))


def write_grid(images: np.ndarray, out: Path, nrow: int | None = None, scale: int = 1, replace: bool = False) -> None:
    check_output(out, "grid", replace)
    save_png(make_grid(images, nrow=nrow), out, scale=scale)


def file_name(seed: int, index: int, suffix: str = ".png") -> str:
    """Image `index` of the batch drawn from `seed`: seed0007-00003.png (the seed first, as StyleGAN's tools
    name their files, so that a file says how to make it again)."""
    return f"seed{seed:04d}-{index:05d}{suffix}"


def write_files(images: np.ndarray, out: Path, seed: int = 0, suffix: str = ".png", replace: bool = False) -> None:
    """One file per image, named by `file_name`, in the format `suffix` names."""
    check_output(out, "files", replace)
    if replace and out.is_dir():
        # Replaced means: only these samples. A previous, larger -n must not leave extra images behind
        # to be scored together with these (this command's names, and the sample_*.png of older versions).
        for stale in [*out.glob("seed*-*.*"), *out.glob("sample_*.png")]:
            if stale.suffix.lower() in IMAGE_FORMATS:
                stale.unlink()
    for index, image in enumerate(images):
        save_png(image, out / file_name(seed, index, suffix))
