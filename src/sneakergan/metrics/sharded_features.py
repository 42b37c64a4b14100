"""Inception features shared out among torchrun's processes (`torchrun ... -m sneakergan evaluate`).

Rank 0 runs the evaluation as in one process; its extractor is a ShardedFeatures, which sends each
batch of images to every rank (a broadcast), has each compute the features of its contiguous share,
and gathers them back in order (a padded all_gather: shares differ by at most one image). The other
ranks only serve feature passes (`serve_feature_shares`) until rank 0 says it is done; rank 0 alone
scores and writes. Features are per image, so the result equals one process's up to float rounding.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch
import torch.distributed as torch_dist

from sneakergan.metrics.features import _as_nchw_uint8

if TYPE_CHECKING:  # a type only: metrics sit below train, which owns the process group
    from sneakergan.train.distributed import Distributed

_STOP, _FEATURES = 0, 1
FEATURE_DIM = 2048


class ShardedFeatures:
    """Rank 0's extractor: called like InceptionFeatureExtractor (its other attributes, e.g. sha256,
    mode and features_64, are the local extractor's)."""

    def __init__(self, extractor, dist: Distributed):
        self.extractor = extractor
        self.dist = dist

    def __getattr__(self, name: str):
        return getattr(self.extractor, name)

    def __call__(self, images) -> np.ndarray:
        batch = _as_nchw_uint8(images).contiguous()
        _broadcast_header(self.dist, _FEATURES, tuple(batch.shape))
        torch_dist.broadcast(self.dist.on_comm_device(batch), src=0)
        return _features_of_share(self.extractor, self.dist, batch)

    def close(self) -> None:
        """Tell the other ranks that no more feature passes come."""
        _broadcast_header(self.dist, _STOP, (0, 0, 0, 0))


def serve_feature_shares(extractor, dist: Distributed) -> int:
    """The ranks other than 0: compute their share of each of rank 0's feature passes until it stops."""
    while True:
        header = dist.on_comm_device(torch.zeros(5, dtype=torch.int64))
        torch_dist.broadcast(header, src=0)
        op, *shape = header.tolist()
        if op == _STOP:
            return 0
        batch = dist.on_comm_device(torch.empty(shape, dtype=torch.uint8))
        torch_dist.broadcast(batch, src=0)
        _features_of_share(extractor, dist, batch.cpu())


@contextlib.contextmanager
def features_across_ranks(extractor, dist: Distributed) -> Iterator:
    """Rank 0's extractor for the evaluation (the plain one in a single process)."""
    if not dist.enabled:
        yield extractor
        return
    sharded = ShardedFeatures(extractor, dist)
    try:
        yield sharded
    finally:
        sharded.close()


def _broadcast_header(dist: Distributed, op: int, shape: tuple[int, ...]) -> None:
    torch_dist.broadcast(dist.on_comm_device(torch.tensor([op, *shape], dtype=torch.int64)), src=0)


def _features_of_share(extractor, dist: Distributed, batch: torch.Tensor) -> np.ndarray:
    """This rank's share of `batch` through the extractor; all ranks' features, in order."""
    count = batch.shape[0]
    per_rank = -(-count // dist.world_size)
    mine = torch.from_numpy(extractor(batch[dist.rank * per_rank:(dist.rank + 1) * per_rank]))
    padded = torch.zeros(per_rank, FEATURE_DIM, dtype=torch.float32)
    padded[:len(mine)] = mine
    gathered = [dist.on_comm_device(torch.empty_like(padded)) for _ in range(dist.world_size)]
    torch_dist.all_gather(gathered, dist.on_comm_device(padded))
    return torch.cat(gathered).cpu()[:count].numpy()
