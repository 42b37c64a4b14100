"""Training on several processes (`torchrun`): the process group and one frozen context, passed
explicitly, that says which share of each global batch this process computes and offers the few
collectives the trainer needs. Without torchrun's variables (WORLD_SIZE unset or 1) the context is
SINGLE_PROCESS, whose methods are identities or local checks: a plain run computes what it always did.

The scheme, which makes the union of the ranks' work equal to the single-process step:
* `batch_size` is the global batch; every rank computes the same seeded epoch order and takes its
  contiguous share of each global batch (rows rank*b .. (rank+1)*b - 1, b = batch / world size);
* every per-image random draw (noise, DiffAugment, the WGAN-GP mix, stage 2's degradations) is made
  for the whole global batch from a generator in the same state on every rank, then sliced alike;
* DistributedDataParallel averages the gradients; batch norm normalises with the global batch's
  statistics (nn.SyncBatchNorm on CUDA, train/cross_rank_batchnorm.py on the CPU);
* control flow is agreed: a step is skipped when any rank saw a non-finite value, training stops
  when any rank got SIGINT/SIGTERM, so the ranks never diverge.
Checkpoints hold the plain modules' state, so a run resumes on any number of processes.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.distributed as torch_dist

from sneakergan.config import DEFAULT_TIMEOUT_S
from sneakergan.errors import ConfigError


def check_global_batch(batch_size: int, world_size: int) -> None:
    if batch_size % world_size:
        raise ConfigError(f"batch_size {batch_size} is the global batch and must divide evenly among the "
                          f"{world_size} processes (torchrun --nnodes x --nproc-per-node)")


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""  # "nccl" (CUDA) or "gloo" (CPU); "" in a single process

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes samples, logs, metrics, evaluations and checkpoints."""
        return self.rank == 0

    # --- shares of a global batch --------------------------------------------------------
    def global_count(self, local: int) -> int:
        return local * self.world_size

    def local_share(self, rows: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch (dimension 0); all of it in one process."""
        if not self.enabled:
            return rows
        size = rows.shape[0] // self.world_size
        return rows[self.rank * size:(self.rank + 1) * size]

    # --- devices and modules ----------------------------------------------------------------
    def device_for(self, device: torch.device) -> torch.device:
        """Under torchrun each process uses the GPU of its local rank, whatever index was asked for."""
        return torch.device("cuda", self.local_rank) if self.enabled and device.type == "cuda" else device

    def sync_batch_norm(self, module: torch.nn.Module, twice_differentiable: bool = False) -> torch.nn.Module:
        """`module` with its batch norm layers normalising over the global batch (same state-dict keys).
        `twice_differentiable`: the module is in a double backward (R1, WGAN-GP); nn.SyncBatchNorm's
        backward is not differentiable ("derivative for batch_norm_backward_elemt is not implemented",
        pytorch/pytorch#61222), the hand-written layer's is, on GPUs too."""
        if not self.enabled:
            return module
        if self.backend == "nccl" and not twice_differentiable:
            return torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        from sneakergan.train.cross_rank_batchnorm import convert_to_cross_rank

        return convert_to_cross_rank(module)

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module | None:
        """`module` in DistributedDataParallel, which averages its gradients during backward; None in one process."""
        if not self.enabled:
            return None
        from torch.nn.parallel import DistributedDataParallel

        # No buffer sync before each forward pass: BN running statistics (global-batch ones) and spectral
        # norm's u, v (a function of the weights) are updated identically on every rank anyway.
        return DistributedDataParallel(module, device_ids=[self.local_rank] if self.backend == "nccl" else None,
                                       forward_sync_buffers=False)

    # --- collectives: all ranks call them at the same points; no-ops in one process ---------
    def on_comm_device(self, values: torch.Tensor) -> torch.Tensor:
        """`values` where the backend communicates from: this rank's GPU for NCCL, the CPU for gloo."""
        return values.to(f"cuda:{self.local_rank}" if self.backend == "nccl" else "cpu")

    def barrier(self) -> None:
        if self.enabled:
            torch_dist.barrier()

    def all_finite(self, value: torch.Tensor) -> bool:
        """Whether `value` (a scalar) is finite on every rank: NaN and inf survive a sum."""
        if self.enabled:
            value = self.on_comm_device(value.detach().float().reshape(1))
            torch_dist.all_reduce(value)
        return bool(torch.isfinite(value).all())

    def any_rank(self, flag: bool) -> bool:
        """Whether `flag` is set on any rank."""
        if not self.enabled:
            return flag
        value = self.on_comm_device(torch.tensor([float(flag)]))
        torch_dist.all_reduce(value, op=torch_dist.ReduceOp.MAX)
        return bool(value.item())

    def from_main(self, flag: bool) -> bool:
        """Rank 0's `flag`, on every rank (e.g. whether its evaluation found a new best)."""
        if not self.enabled:
            return flag
        value = self.on_comm_device(torch.tensor([float(flag)]))
        torch_dist.broadcast(value, src=0)
        return bool(value.item())

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean over ranks of `values` (1-D): each rank's batch means -> the global batch's."""
        if not self.enabled:
            return values
        total = self.on_comm_device(values.detach().clone())
        torch_dist.all_reduce(total)
        return total.cpu() / self.world_size

    def quiet_unless_main(self, logger: logging.Logger) -> None:
        """Rank 0 logs; the others say only what goes wrong."""
        if not self.is_main:
            logger.setLevel(logging.ERROR)


SINGLE_PROCESS = Distributed()


@contextlib.contextmanager
def join_from_env(device: torch.device, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[Distributed]:
    """The context of this process: joins the process group torchrun's variables (RANK, WORLD_SIZE,
    LOCAL_RANK, MASTER_ADDR, MASTER_PORT) describe, NCCL for a CUDA device and gloo for the CPU, with
    `timeout_s` as the longest any collective waits; SINGLE_PROCESS without them. On a normal exit
    every rank waits for the others (rank 0 may still be writing), then the group is torn down."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield SINGLE_PROCESS
        return
    if timeout_s <= 0:
        raise ConfigError(f"{{dist_timeout}} must be > 0 seconds, got {timeout_s:g}", names=("dist_timeout",))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.type == "cuda" else "gloo"
    options = {}
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        options["device_id"] = torch.device("cuda", local_rank)
    try:
        torch_dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s), **options)
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot join the {backend} process group as rank {rank} of {world}: {exc}") from None
    context = Distributed(rank, world, local_rank, backend)
    finished = False
    try:
        yield context
        finished = True
    finally:
        if finished:
            context.barrier()
        torch_dist.destroy_process_group()
