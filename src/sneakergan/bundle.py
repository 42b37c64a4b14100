"""Bundled pretrained generators: shipped in the package, so `sneakergan generate` works offline.

Each stage is one safetensors file of fp16 generator weights with the run's resolved config in
its metadata; `bundled/manifest.json` pins every file's sha256, checked before loading, so a
tampered or truncated file is a clear error rather than garbage sneakers. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import save as safetensors_bytes

from sneakergan.config import TrainConfig, load_config_json
from sneakergan.errors import RunDirError
from sneakergan.io import atomic_write_bytes
from sneakergan.train.checkpoint import read_safetensors

FORMAT = "sneakergan-bundle-v1"
STAGES = ("stage1", "stage2")


def bundle_folder() -> Path:
    return Path(str(resources.files("sneakergan") / "bundled"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_generator(generator: torch.nn.Module, cfg: TrainConfig, path: Path) -> str:
    """Write fp16 generator weights + config; returns the file's sha256 (for the manifest)."""
    tensors = {key: (value.half() if value.is_floating_point() else value).detach().cpu().contiguous().clone()
               for key, value in generator.state_dict().items()}
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata={"format": FORMAT, "config": cfg.to_json()}))
    return _sha256(path)


def load_bundled(stage: str, folder: Path | None = None) -> tuple[dict[str, torch.Tensor], TrainConfig]:
    """(fp32 state dict, config) of a bundled stage, after checking its sha256 against the manifest."""
    folder = folder or bundle_folder()
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        entry = manifest[stage]
    except (OSError, ValueError, KeyError):
        raise RunDirError(f"no bundled {stage} model in {folder}; pass a trained run instead") from None
    path = folder / entry["file"]
    if not path.is_file() or _sha256(path) != entry["sha256"]:
        raise RunDirError(f"bundled model {path} is missing or altered (sha256 differs from manifest.json); "
                          "reinstall sneakergan")
    try:
        metadata, state = read_safetensors(path)
    except SafetensorError as exc:
        raise RunDirError(f"bundled model {path} is unreadable ({exc}); reinstall sneakergan") from None
    if metadata.get("format") != FORMAT:
        raise RunDirError(f"{path} is not a sneakergan bundled model")
    state = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    return state, load_config_json(metadata["config"], origin=f"{path} metadata")
