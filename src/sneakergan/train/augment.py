"""DiffAugment (Zhao et al. 2020): differentiable augmentations of everything D sees.

With 6,792 training images D memorises the data and its feedback to G collapses. Augmenting both
the real and the generated images that enter D (in D's and in G's update, differentiably, so G
learns through them) keeps D from overfitting without teaching G the augmentations: G's own
samples are never augmented, so nothing leaks into them.

Policies are comma-separated names: color (brightness, saturation, contrast), translation (up to
1/8 of the side, zero fill), cutout (a zeroed square of half the side). Images are in [-1, 1].
Random numbers come from torch's global generator, whose state every checkpoint saves. Under torchrun
they are drawn for the whole global batch (in the same state on every rank) and each rank takes its
rows, so every image gets the augmentation it would get in one process.
Written here (about 60 lines) rather than imported: the authors' code is not a package on PyPI.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sneakergan.train.distributed import SINGLE_PROCESS, Distributed

Tensor = torch.Tensor


def _rand(x: Tensor, share: Distributed) -> Tensor:
    """U(0, 1) per image of `x`, [n, 1, 1, 1]."""
    count = share.global_count(x.shape[0])
    return share.local_share(torch.rand(count, 1, 1, 1, device=x.device, dtype=x.dtype))


def _randint(low: int, high: int, x: Tensor, share: Distributed) -> Tensor:
    """An integer in [low, high) per image of `x`, [n, 1, 1]."""
    return share.local_share(torch.randint(low, high, (share.global_count(x.shape[0]), 1, 1), device=x.device))


def _color(x: Tensor, share: Distributed = SINGLE_PROCESS) -> Tensor:
    x = x + (_rand(x, share) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, share) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, share) + 0.5) + mean


def _translation(x: Tensor, ratio: float = 0.125, share: Distributed = SINGLE_PROCESS) -> Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sy, sy + 1, x, share)
    dx = _randint(-sx, sx + 1, x, share)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + sy).expand(n, h, w)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + sx).expand(n, h, w)
    padded = F.pad(x, (sx, sx, sy, sy))  # zeros enter where the image moved away
    flat = rows * padded.shape[3] + cols  # index into each padded image's H*W plane
    gathered = padded.flatten(2).gather(2, flat.flatten(1).unsqueeze(1).expand(-1, x.shape[1], -1))
    return gathered.view_as(x)


def _cutout(x: Tensor, ratio: float = 0.5, share: Distributed = SINGLE_PROCESS) -> Tensor:
    _, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h + (1 - ch % 2), x, share)
    cx = _randint(0, w + (1 - cw % 2), x, share)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2  # a ch x cw square around the centre, clipped at the edges
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTATIONS = {"color": _color, "translation": _translation, "cutout": _cutout}  # config.AUGMENTATIONS' names


def diff_augment(x: Tensor, names: tuple[str, ...], share: Distributed = SINGLE_PROCESS) -> Tensor:
    """`x` through the named augmentations, returned in x's memory layout (channels_last for D's
    convolutions stays channels_last; the gathers in between produce plain NCHW). `share`: whose
    rows of the global batch `x` is."""
    if not names:
        return x
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    for name in names:
        x = AUGMENTATIONS[name](x, share=share)
    return x.contiguous(memory_format=layout)
