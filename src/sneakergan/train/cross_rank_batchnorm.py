"""Batch norm over the global batch of a multi-process CPU (gloo) run.

Hand-written because torch's nn.SyncBatchNorm runs on GPUs only (torch 2.13 raises "SyncBatchNorm
expected input tensor to be on GPU" for CPU tensors) and its backward cannot be differentiated again;
CUDA runs use nn.SyncBatchNorm, except in a discriminator under R1 or WGAN-GP. In
training mode the batch mean and variance are summed across ranks with a differentiable all-reduce,
so the forward pass, the gradients and the running statistics (global mean, unbiased global variance)
are those nn.BatchNorm1d/2d compute on the whole global batch in one process. In eval mode it is plain
batch norm on the running statistics: sampling on rank 0 alone needs no other rank. The state-dict
keys are BatchNorm's, so checkpoints load into single-process runs and back.
"""

from __future__ import annotations

import torch
import torch.distributed as torch_dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class _SumAcrossRanks(torch.autograd.Function):
    """all_reduce(SUM) with a gradient: the backward pass sums the ranks' gradients the same way, and is
    itself differentiable (R1 and WGAN-GP backpropagate through a gradient). This is what
    torch.distributed.nn.functional.all_reduce does; torch 2.13 deprecates that (a FutureWarning per call)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone(memory_format=torch.contiguous_format)
        torch_dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _SumAcrossRanks.apply(grad)


class CrossRankBatchNorm(_BatchNorm):
    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        values = x.float()
        # Two passes (mean, then the centred sum of squares), as exact as BatchNorm's own kernel;
        # the one-pass E[x^2] - E[x]^2 loses digits in float32.
        local_count = values.new_tensor([x.numel() // x.shape[1]])
        sums = _SumAcrossRanks.apply(torch.cat([values.sum(dims), local_count]))
        count = sums[-1].detach()
        mean = sums[:-1] / count
        centred = values - mean.view(shape)
        var = _SumAcrossRanks.apply(centred.square().sum(dims)) / count
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None:
            out = out * self.weight.view(shape)
        if self.bias is not None:
            out = out + self.bias.view(shape)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), float(count))
        return out.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: float) -> None:
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(var * (count / max(count - 1, 1)), alpha=factor)


def convert_to_cross_rank(module: nn.Module) -> nn.Module:
    """`module` with every batch norm layer replaced by a CrossRankBatchNorm holding the same parameter
    and buffer tensors (optimisers built on the old layers keep working), as
    nn.SyncBatchNorm.convert_sync_batchnorm does for GPUs."""
    converted = module
    if isinstance(module, _BatchNorm):
        converted = CrossRankBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                       module.track_running_stats, bias=module.bias is not None)
        if module.affine:
            converted.weight, converted.bias = module.weight, module.bias
        converted.running_mean, converted.running_var = module.running_mean, module.running_var
        converted.num_batches_tracked = module.num_batches_tracked
        converted.training = module.training
    for name, child in module.named_children():
        converted.add_module(name, convert_to_cross_rank(child))
    return converted
