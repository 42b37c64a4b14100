"""Refuse a config whose training cannot fit in memory before anything is allocated.

The networks are built on PyTorch's "meta" device (shapes, no storage), so the estimate costs
milliseconds at any width: `--set g_width=65536` is a one-line error naming the estimate (about
178 GB for seed-mlp), not an allocator traceback and a run folder without a checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from sneakergan.config import TrainConfig
from sneakergan.errors import ConfigError

META = torch.device("meta")


@dataclass(frozen=True)
class MemoryEstimate:
    parameters: int  # G's and D's
    state_bytes: int  # weights, gradients, Adam moments, G's EMA, a checkpoint being written
    activation_bytes: int  # one training step's forward activations, kept for the backward pass

    @property
    def total(self) -> int:
        return self.state_bytes + self.activation_bytes


def estimate_training_memory(cfg: TrainConfig) -> MemoryEstimate:
    """A rough upper estimate of what one training process holds for its networks (not the data)."""
    from sneakergan.train.tasks import task_for

    if cfg.condition and not cfg.class_names:  # the classes come from the data later; two is the least
        cfg = dataclasses.replace(cfg, class_names=("a", "b"))
    # A stage 2 training on stage-1 samples holds that frozen generator too: small, and loading it is slow.
    cfg = dataclasses.replace(cfg, stage1_run="", stage1_share=0.0)
    with torch.device(META):
        model = task_for(cfg).model(cfg, META)
    params = [*model.generator.parameters(), *model.discriminator.parameters()]
    weights = sum(p.numel() * p.element_size() for p in params)
    g_weights = sum(p.numel() * p.element_size() for p in model.generator.parameters())
    # checkpoint_bytes() is weights + buffers + Adam's two moments; saving one clones it and serialises
    # the clone (two more copies); gradients and the EMA add a copy of the weights and of G's.
    state = 3 * model.checkpoint_bytes() + weights + (g_weights if cfg.ema_decay else 0)
    g_outputs, d_outputs = _forward_bytes(model, cfg)
    # A step holds G's activations and D's on a real and a fake batch; backward about doubles them.
    return MemoryEstimate(sum(p.numel() for p in params), state, 2 * (g_outputs + 2 * d_outputs))


def _forward_bytes(model, cfg: TrainConfig) -> tuple[int, int]:
    """Bytes of all layer outputs of G's and of D's forward pass on one batch (shapes only)."""
    batch = cfg.batch_size
    if cfg.task == "sr":  # D's "labels" are the LR inputs (sr_model.d_logits)
        g_inputs = [torch.empty(batch, 3, cfg.image_size // 4, cfg.image_size // 4, device=META)]
        labels = g_inputs[0]
    else:
        labels = torch.zeros(batch, dtype=torch.long, device=META) if cfg.condition else None
        g_inputs = [torch.empty(batch, cfg.z_dim, device=META), *([] if labels is None else [labels])]
    g_bytes, fake = _output_bytes(model.generator, model.generator, *g_inputs)
    d_bytes, _ = _output_bytes(model.discriminator, model.d_logits, fake, labels)
    return g_bytes, d_bytes


def _output_bytes(module: torch.nn.Module, call, *inputs) -> tuple[int, torch.Tensor]:
    """(bytes of the outputs of all of `module`'s layers, the result) of `call(*inputs)`."""
    total = 0

    def count(_module, _inputs, output) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    hooks = [leaf.register_forward_hook(count) for leaf in leaves]
    try:
        output = call(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total, output


def available_bytes(device: torch.device) -> int | None:
    """Memory this process may still use on `device`: the GPU's free memory, or on the CPU the lesser of
    the system's MemAvailable and the cgroup's remaining limit (a container's cap); None when unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    limits = [_meminfo_available(), _cgroup_remaining()]
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_remaining() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None


def check_training_memory(cfg: TrainConfig, device: torch.device, processes: int = 1) -> MemoryEstimate:
    """Raise a ConfigError when `processes` training processes of `cfg` would not fit on `device`."""
    estimate = estimate_training_memory(cfg)
    available = available_bytes(device)
    needed = estimate.total * (processes if device.type == "cpu" else 1)
    if available is not None and needed > available:
        share = f" ({processes} processes)" if processes > 1 and device.type == "cpu" else ""
        raise ConfigError(
            f"training this config needs about {_gb(needed)}{share} ({estimate.parameters:,} parameters: "
            f"{_gb(estimate.state_bytes)} of weights, gradients and optimiser state; {_gb(estimate.activation_bytes)} "
            f"of activations at batch size {cfg.batch_size}), but {device} has {_gb(available)} available; "
            "lower g_width, d_width or the batch size")
    return estimate


def _gb(count: int) -> str:
    return f"{count / 1e9:,.1f} GB"


def local_processes() -> int:
    """Training processes torchrun starts on this machine (1 outside torchrun)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
