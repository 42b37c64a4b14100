"""Mild random degradations of stage 2's low-resolution training inputs.

Stage 2 is applied to stage 1's generated 28x28 images, which are not the clean bicubic
downscales it trains on; slight blur, colour shifts and noise on the input (the HR target stays
clean) make the model tolerate that gap. Every random number comes from the generator passed in,
always in the same amount per batch, so training stays deterministic and resumable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sneakergan.train.distributed import SINGLE_PROCESS, Distributed

NOISE_SIGMA_MAX = 0.03  # Gaussian noise sigma ~ U(0, 0.03) on [0, 1] pixels
BLUR_PROBABILITY = 0.5
BLUR_SIGMA_MAX = 0.8  # 3x3 Gaussian blur, sigma ~ U(0, 0.8)
JITTER = 0.08  # brightness, contrast, saturation factors ~ U(0.92, 1.08)
_LUMA = (0.299, 0.587, 0.114)


def _uniform(count: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(count, generator=generator)


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-image 3x3 Gaussian blur; sigma 0 is the identity."""
    n, c = x.shape[:2]
    offsets = torch.tensor([-1.0, 0.0, 1.0])
    taps = torch.exp(-offsets.pow(2) / (2 * sigma.clamp_min(1e-6).pow(2)[:, None]))  # [n, 3]
    taps = taps / taps.sum(dim=1, keepdim=True)
    kernels = (taps[:, :, None] * taps[:, None, :]).repeat_interleave(c, dim=0)  # [n*c, 3, 3]
    padded = F.pad(x.reshape(1, n * c, *x.shape[2:]), (1, 1, 1, 1), mode="replicate")
    out = F.conv2d(padded, kernels[:, None].to(x.device, x.dtype), groups=n * c)
    return out.reshape(x.shape)


def _jitter(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
            saturation: torch.Tensor) -> torch.Tensor:
    luma = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    x = (x * brightness).clamp(0, 1)
    mean = (x * luma).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean).clamp(0, 1)
    gray = (x * luma).sum(1, keepdim=True)
    return ((x - gray) * saturation + gray).clamp(0, 1)


def degrade(lr: torch.Tensor, generator: torch.Generator, share: Distributed = SINGLE_PROCESS) -> torch.Tensor:
    """A degraded copy of an NCHW batch in [-1, 1]: blur (p=0.5), colour jitter, then noise. `share`:
    whose rows of the global batch `lr` is (the draws are the global batch's, sliced alike)."""
    n, count = lr.shape[0], share.global_count(lr.shape[0])
    # Drawn on the CPU in a fixed order and amount: the same seed gives the same batch anywhere.
    blur_on = torch.rand(count, generator=generator) < BLUR_PROBABILITY
    blur_sigma = share.local_share(_uniform(count, 0.0, BLUR_SIGMA_MAX, generator) * blur_on)
    factors = [share.local_share(_uniform(count, 1 - JITTER, 1 + JITTER, generator)) for _ in range(3)]
    noise_sigma = share.local_share(_uniform(count, 0.0, NOISE_SIGMA_MAX, generator))
    noise = share.local_share(torch.randn((count, *lr.shape[1:]), generator=generator))

    def per_image(values: torch.Tensor) -> torch.Tensor:
        return values.view(n, 1, 1, 1).to(lr.device, lr.dtype)

    x = (lr + 1) / 2
    x = _blur(x, blur_sigma)
    x = _jitter(x, *(per_image(f) for f in factors))
    x = (x + per_image(noise_sigma) * noise.to(lr.device, lr.dtype)).clamp(0, 1)
    return x * 2 - 1
