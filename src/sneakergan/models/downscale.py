"""The data pipeline's 112 -> 28 downscale (PIL's antialiased BICUBIC, data/preprocess.py) as a
differentiable operator, so stage 2 can be asked that its output downscales back to its input.

PIL resamples separably: each output pixel is a normalised sum of input pixels weighted by the
bicubic kernel (a = -0.5) stretched by the scale factor (support 2 * scale). The same weights as a
matrix W (out x in) give down(x) = W x W^T per channel. PIL rounds (and clamps) to uint8 between its two
passes and at the end; in float the operator clamps alike and matches PIL to within one uint8 step
(tests/models/test_downscale.py). Written
here because no installed library reproduces PIL's antialiasing weights (torch's antialiased
bicubic interpolate uses a = -0.75).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn

_A = -0.5  # PIL's bicubic kernel parameter


def _bicubic(x: float) -> float:
    x = abs(x)
    if x < 1.0:
        return ((_A + 2.0) * x - (_A + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * _A
    return 0.0


@lru_cache(maxsize=8)
def pil_bicubic_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """[out_size, in_size] float64 weights of PIL's antialiased bicubic resize (ImagingResample's
    precompute_coeffs with the whole image as the box)."""
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 2.0 * filter_scale
    # device="cpu" explicitly: the cached matrix must not be made under a caller's torch.device("meta") context
    weights = torch.zeros(out_size, in_size, dtype=torch.float64, device="cpu")
    for out in range(out_size):
        center = (out + 0.5) * scale
        low = max(int(center - support + 0.5), 0)
        high = min(int(center + support + 0.5), in_size)
        row = [_bicubic((x - center + 0.5) / filter_scale) for x in range(low, high)]
        total = math.fsum(row)
        weights[out, low:high] = torch.tensor([w / total for w in row], dtype=torch.float64, device="cpu")
    return weights


class PILDownscale(nn.Module):
    """[N, C, H, W] -> [N, C, H/factor, W/factor] as the data pipeline downscales, in float: the
    horizontal pass, then the vertical one, each clamped to the pixel range as PIL clamps to uint8
    (bicubic overshoots at sharp edges: a white background beside a dark sole)."""

    def __init__(self, in_size: int, out_size: int, value_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__()
        self.register_buffer("weights", pil_bicubic_matrix(in_size, out_size).float(), persistent=False)
        self.low, self.high = value_range

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        weights = self.weights.to(images.dtype)
        rows = (images @ weights.T).clamp(self.low, self.high)
        return (weights @ rows).clamp(self.low, self.high)
