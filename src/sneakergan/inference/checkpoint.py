"""Checkpoints as one safetensors file: tensors in the body, everything else as JSON metadata.

No pickle: loading a checkpoint someone handed you cannot execute code. A nested training state
(model and optimizer state dicts, step counters, RNG states) is split into a flat dict of tensors
and a JSON skeleton in which each tensor is replaced by a reference to its key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from sneakergan.errors import RunDirError
from sneakergan.io import atomic_write_bytes

FORMAT = "sneakergan-checkpoint-v1"
_TENSOR = "__tensor__"
_DICT = "__dict__"  # dicts whose keys are not all strings (optimizer state is keyed by int)


def flatten_state(obj: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = value.detach().cpu().contiguous().clone()
            return {_TENSOR: key}
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                return {k: walk(v) for k, v in value.items()}
            return {_DICT: [[k, walk(v)] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")

    return walk(obj), tensors


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(skeleton, dict):
        if set(skeleton) == {_TENSOR}:
            return tensors[skeleton[_TENSOR]]
        if set(skeleton) == {_DICT}:
            return {k: unflatten_state(v, tensors) for k, v in skeleton[_DICT]}
        return {k: unflatten_state(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def checkpoint_bytes(state: dict[str, Any]) -> bytes:
    """The checkpoint file's contents: serialised once, written to as many paths as needed."""
    skeleton, tensors = flatten_state(state)
    return safetensors_bytes(tensors, metadata={"format": FORMAT, "state": json.dumps(skeleton)})


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    atomic_write_bytes(path, checkpoint_bytes(state))


def read_safetensors(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of a safetensors file; SafetensorError / OSError when it is unreadable."""
    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata() or {}, {key: handle.get_tensor(key) for key in handle.keys()}


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"no checkpoint at {path}")
    try:
        metadata, tensors = read_safetensors(path)
        if metadata.get("format") != FORMAT:
            raise RunDirError(f"{path} is not a sneakergan checkpoint (format {metadata.get('format')!r})")
        state = unflatten_state(json.loads(metadata["state"]), tensors)
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        if _looks_pickled(path):
            raise RunDirError(f"{path} is a pickle (torch.save) file, not a safetensors checkpoint; sneakergan "
                              "never unpickles files, since unpickling can run any code") from None
        raise RunDirError(f"checkpoint {path} is truncated or corrupt ({exc})") from None
    return state


def _looks_pickled(path: Path) -> bool:
    """Pickle protocol 2+ starts with 0x80, torch.save's zip with PK: only asked of files safetensors refused."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head[:1] == b"\x80" or head == b"PK\x03\x04"
