"""Run by tests/train/test_distributed.py under torchrun (2 processes, gloo): the cross-rank pieces
against their single-process versions, every rank computing its share. Exits non-zero (an assertion's
traceback) on any mismatch; rank 0 prints "worker ok" at the end.

1. CrossRankBatchNorm (2-D and 4-D inputs) vs nn.BatchNorm on the whole global batch: outputs,
   running statistics, eval-mode outputs, and the input and parameter gradients of a loss plus a
   penalty on its input gradient (the double backward of R1 and WGAN-GP).
2. ShardedFeatures: a feature pass shared out and gathered equals the extractor's own, for an uneven
   split and for fewer images than ranks.
"""

import copy

import numpy as np
import torch
import torch.distributed as torch_dist
from torch import nn

from sneakergan.metrics.sharded_features import features_across_ranks, serve_feature_shares
from sneakergan.train.cross_rank_batchnorm import CrossRankBatchNorm, convert_to_cross_rank
from sneakergan.train.distributed import join_from_env

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def loss_and_penalty(module: nn.Module, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """A fixed linear loss of the output plus the squared norm of its gradient w.r.t. the input."""
    loss = (module(x) * weights).sum()
    (grad,) = torch.autograd.grad(loss, x, create_graph=True)
    return loss + grad.pow(2).sum()


def check_batch_norm(dist, make: type, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)  # the same global batch, loss weights and layer on every rank
    reference = make(shape[1], momentum=0.3)
    with torch.no_grad():
        reference.weight.uniform_(0.5, 1.5)
        reference.bias.uniform_(-0.5, 0.5)
    cross_rank = convert_to_cross_rank(copy.deepcopy(reference))
    assert isinstance(cross_rank, CrossRankBatchNorm)
    x, weights = torch.randn(shape) * 3 + 1, torch.randn(shape)

    full = x.clone().requires_grad_(True)
    loss_and_penalty(reference, full, weights).backward()
    mine = dist.local_share(x).clone().requires_grad_(True)
    loss_and_penalty(cross_rank, mine, dist.local_share(weights)).backward()

    torch.testing.assert_close(mine.grad, dist.local_share(full.grad), **TOLERANCE)
    for name in ("weight", "bias"):  # each rank's gradient covers its share's loss: summed, the global one
        grad = getattr(cross_rank, name).grad.clone()
        torch_dist.all_reduce(grad)
        torch.testing.assert_close(grad, getattr(reference, name).grad, **TOLERANCE)
    torch.testing.assert_close(cross_rank.running_mean, reference.running_mean, **TOLERANCE)
    torch.testing.assert_close(cross_rank.running_var, reference.running_var, **TOLERANCE)
    assert int(cross_rank.num_batches_tracked) == int(reference.num_batches_tracked) == 1
    with torch.no_grad():
        torch.testing.assert_close(cross_rank.eval()(mine), dist.local_share(reference.eval()(x)), **TOLERANCE)
    assert set(cross_rank.state_dict()) == set(reference.state_dict())


class FakeExtractor:
    """Deterministic per-image "features" of uint8 NCHW or NHWC images (2048 floats)."""

    sha256, mode = "fake", "fp32"

    def __call__(self, images) -> np.ndarray:
        batch = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images.permute(0, 2, 3, 1)
        flat = batch.flatten(1).float() / 255
        return flat.repeat(1, -(-2048 // flat.shape[1]))[:, :2048].numpy()


def check_sharded_features(dist) -> None:
    extractor = FakeExtractor()
    if not dist.is_main:
        serve_feature_shares(extractor, dist)
        return
    images = np.random.default_rng(0).integers(0, 256, size=(7, 8, 8, 3), dtype=np.uint8)
    with features_across_ranks(extractor, dist) as sharded:
        assert sharded.sha256 == "fake"
        for batch in (images, images[:1]):  # 4 + 3 images; 1 + 0
            np.testing.assert_array_equal(sharded(batch), extractor(batch))


def main() -> None:
    with join_from_env(torch.device("cpu"), timeout_s=60) as dist:
        assert dist.world_size == 2 and dist.backend == "gloo"
        check_batch_norm(dist, nn.BatchNorm2d, (8, 3, 5, 5))
        check_batch_norm(dist, nn.BatchNorm1d, (6, 4))
        check_sharded_features(dist)
        if dist.is_main:
            print("worker ok", flush=True)


if __name__ == "__main__":
    main()
