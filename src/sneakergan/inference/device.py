"""Where and in what precision networks run: `device = "auto" | "cpu" | "cuda[:n]"`, and
`precision = "fp32" | "bf16" | "fp16" | "auto"` (mixed precision).

bf16 runs the forward and backward passes under autocast; the master weights, the optimiser
states and the losses that autocast keeps in fp32 stay fp32, so no loss scaling is needed (bf16
has fp32's exponent range). fp16, for GPUs without fast bf16 (before Ampere), does need it: each
optimiser then gets a GradScaler (`needs_loss_scaling`). "auto" picks bf16 where the hardware
has fast bf16 arithmetic: a CPU with AMX or AVX-512 BF16 (oneDNN uses them for convolutions and
matmuls), a CUDA GPU that supports bf16 (Ampere and later); fp32 elsewhere.
"""

from __future__ import annotations

import contextlib

import torch

from sneakergan.config import PRECISIONS
from sneakergan.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but no CUDA GPU is available")
    return torch.device(name)


def has_fast_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # torch.cpu's capability probes (private, so guarded): the ones PyTorch's own dispatch uses.
    probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(probe() for probe in probes if probe is not None)


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `name` on `device`, or None for plain fp32."""
    if name == "fp32":
        return None
    if name == "auto":
        return torch.bfloat16 if has_fast_bf16(device) else None
    if name == "bf16":
        return torch.bfloat16
    if name == "fp16":
        return torch.float16
    raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def needs_loss_scaling(name: str) -> bool:
    """fp16 gradients underflow without loss scaling (a 5-bit exponent); fp32 and bf16 do not."""
    return name == "fp16"


def describe(dtype: torch.dtype | None) -> str:
    """How a run computes, for its log line."""
    return {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast with loss scaling"}[dtype]
