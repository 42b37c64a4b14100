"""Turn one image file's bytes into a square RGB high-resolution image and its low-res twin.

Every step is deterministic, so the dataset cache can be keyed on the settings alone:
decode fully -> apply EXIF orientation -> RGB (alpha over white) -> pad to square with the
border colour -> LANCZOS to hr_size -> antialiased BICUBIC of that to lr_size. Empty, corrupt,
truncated, too small, too elongated and decompression-bomb files raise UnusableImage instead.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Modes that carry 16- or 32-bit grayscale; PIL's own convert("L") clips instead of scaling.
_WIDE_GRAY_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "I;16S", "I;16BS", "I;16LS"}
_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
_WHITE = (255, 255, 255)
# Longest side over shortest side beyond which an image is skipped rather than padded. A tight crop
# of a sneaker's side view is about 3:1; past 4:1 the subject would fill under a quarter of the
# padded square (< 7 of the 28 LR rows): banners, strips and sprite sheets, not training images.
MAX_ASPECT_RATIO = 4


class UnusableImage(Exception):
    """A file that cannot become a training image; ``reason`` is short and meant for a log line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreprocessSettings:
    hr_size: int = 112
    lr_size: int = 28
    min_size: int = 28
    # Bump when the pipeline's output changes, so that old cache entries stop matching.
    # 2: images beyond MAX_ASPECT_RATIO are skipped.
    version: int = 2

    def __post_init__(self):
        for name in ("hr_size", "lr_size", "min_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"PreprocessSettings.{name} must be a positive integer, got {value!r}")
        if self.lr_size > self.hr_size:
            raise ValueError(f"lr_size ({self.lr_size}) must not exceed hr_size ({self.hr_size})")


def preprocess(data: bytes, settings: PreprocessSettings) -> tuple[np.ndarray, np.ndarray]:
    """(hr, lr): uint8 arrays of shape (hr_size, hr_size, 3) and (lr_size, lr_size, 3).

    Raises UnusableImage for anything that is not a decodable image of sufficient size.
    """
    image = _decode(data, settings.min_size)
    rgb = _to_rgb(image)
    square = _pad_to_square(rgb)
    hr_image = square.resize((settings.hr_size, settings.hr_size), Image.Resampling.LANCZOS)
    # LR is derived from HR (not from the original) so the pair is exactly consistent.
    lr_image = hr_image.resize((settings.lr_size, settings.lr_size), Image.Resampling.BICUBIC)
    return np.asarray(hr_image, dtype=np.uint8).copy(), np.asarray(lr_image, dtype=np.uint8).copy()


def _decode(data: bytes, min_size: int) -> Image.Image:
    if not data:
        raise UnusableImage("empty file")
    try:
        with warnings.catch_warnings():
            # PIL only warns between 1x and 2x its pixel limit; treat that as a bomb too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnusableImage(_bomb_reason(exc)) from None
    except UnidentifiedImageError:
        raise UnusableImage("not an image") from None
    except Exception:  # noqa: BLE001 - plugins raise many types on malformed headers
        raise UnusableImage("truncated or corrupt image data") from None

    width, height = image.size
    if min(width, height) < min_size:
        # Checked before decoding the pixels: no need to spend time on an image we reject.
        raise UnusableImage(f"too small ({width}x{height} px, need >= {min_size})")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise UnusableImage(f"extreme aspect ratio ({width}x{height} px, more than {MAX_ASPECT_RATIO}:1)")

    try:
        # Force the full decode now: PIL is lazy and a truncated file would otherwise fail later
        # (or, with LOAD_TRUNCATED_IMAGES, silently come out grey at the bottom).
        image.load()
    except Exception:  # noqa: BLE001 - OSError, SyntaxError, ValueError, zlib errors...
        raise UnusableImage("truncated or corrupt image data") from None

    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block should not cost us the pixels
        pass
    return image


def _bomb_reason(exc: Exception) -> str:
    # PIL's error quotes twice its limit (the point where it stops warning); name the limit itself.
    match = re.search(r"\((\d+) pixels\)", str(exc))
    if match and Image.MAX_IMAGE_PIXELS:
        return f"decompression bomb: {match[1]} pixels exceeds PIL's limit of {Image.MAX_IMAGE_PIXELS}"
    return f"decompression bomb: {exc}"


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in _WIDE_GRAY_MODES:
        return _wide_gray_to_rgb(image)
    if mode == "F":
        return _float_gray_to_rgb(image)
    if mode in _ALPHA_MODES or "transparency" in image.info:
        # Transparent regions become white, the background of product photos.
        try:
            rgba = image.convert("RGBA")
        except (ValueError, OSError):
            raise UnusableImage(f"unsupported colour mode {mode}") from None
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "RGB":
        return image
    try:
        # Covers L, 1, P, CMYK, YCbCr, RGBX, HSV.
        return image.convert("RGB")
    except (ValueError, OSError):
        raise UnusableImage(f"unsupported colour mode {mode}") from None


def _wide_gray_to_rgb(image: Image.Image) -> Image.Image:
    values = np.asarray(image).astype(np.float64)
    # 16-bit full range (0..65535) maps onto 8-bit full range.
    gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def _float_gray_to_rgb(image: Image.Image) -> Image.Image:
    values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    # Float images come either as 0..1 or as 0..255; pick the reading that fits the values.
    if values.size and values.min() >= 0.0 and values.max() <= 1.0:
        values = values * 255.0
    gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def border_colour(rgb: np.ndarray) -> tuple[int, int, int]:
    """Per-channel median of the outermost 1-pixel ring of an HxWx3 array."""
    ring = np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]], axis=0)
    median = np.median(ring, axis=0)
    return tuple(int(v) for v in np.clip(np.rint(median), 0, 255))


def _pad_to_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    # Padding with the border colour (usually the studio background) hides the seam.
    canvas = Image.new("RGB", (side, side), border_colour(np.asarray(image)))
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas
