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
from sneakergan.inference.checkpoint import read_safetensors
from sneakergan.io import atomic_write_bytes, atomic_write_text

FORMAT = "sneakergan-bundle-v1"
# The preset each bundled model was trained with (tests/test_bundle.py checks that their networks and
# recipes agree): `sneakergan presets` marks them.
BUNDLED_PRESETS = {"stage1": "sngan-lsgan-nosn", "stage2": "seed-srgan"}
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


def update_bundle(exports: dict[str, tuple[torch.nn.Module, TrainConfig, str]], folder: Path | None = None) -> dict:
    """Export the given stages (stage -> (generator, config, run name)) into the bundle and rewrite the
    manifest; a stage not given keeps its bundled file, which must still match the manifest (so one
    better stage can be bundled after the other's run folder is gone). Returns the new manifest."""
    folder = folder or bundle_folder()
    unknown = sorted(set(exports) - set(STAGES))
    if unknown or not exports:
        raise ValueError(f"stages to export must be some of {STAGES}, got {sorted(exports)}")
    kept = [stage for stage in STAGES if stage not in exports]
    old = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").exists() else {}
    for stage in kept:
        if stage in old:
            load_bundled(stage, folder)  # raises if the kept file no longer matches its sha256
    manifest = {stage: old[stage] for stage in kept if stage in old}
    for stage, (generator, cfg, run) in exports.items():
        sha = export_generator(generator, cfg, folder / f"{stage}.safetensors")
        manifest[stage] = {"file": f"{stage}.safetensors", "sha256": sha, "run": run}
    manifest = {stage: manifest[stage] for stage in STAGES if stage in manifest}
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


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
