import io

import numpy as np
import pytest
from PIL import Image

from sneakergan.data.preprocess import PreprocessSettings, UnusableImage, border_colour, preprocess

SETTINGS = PreprocessSettings(hr_size=32, lr_size=8, min_size=8)


def encode(image: Image.Image, fmt: str = "PNG", **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def check_shapes(hr, lr, settings=SETTINGS):
    assert hr.dtype == np.uint8 and hr.shape == (settings.hr_size, settings.hr_size, 3)
    assert lr.dtype == np.uint8 and lr.shape == (settings.lr_size, settings.lr_size, 3)


def gradient(size=(40, 40)) -> np.ndarray:
    width, height = size
    return (np.arange(width * height, dtype=np.uint32).reshape(height, width) * 7 % 256).astype(np.uint8)


def rgba_half_transparent() -> Image.Image:
    pixels = np.zeros((40, 40, 4), np.uint8)
    pixels[..., 0] = 200  # red-ish everywhere, but the left half is fully transparent
    pixels[:, 20:, 3] = 255
    return Image.fromarray(pixels, "RGBA")


def palette_with_transparency() -> bytes:
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    image.paste(1, (20, 0, 40, 40))  # right half blue, left half index 0 = transparent
    return encode(image, transparency=0)


@pytest.mark.parametrize(
    "make_bytes",
    [
        pytest.param(lambda: encode(Image.fromarray(gradient(), "L")), id="L"),
        pytest.param(lambda: encode(Image.fromarray(gradient(), "L").convert("LA")), id="LA"),
        pytest.param(lambda: encode(Image.fromarray(gradient(), "L").convert("P")), id="P"),
        pytest.param(palette_with_transparency, id="P-transparency"),
        pytest.param(lambda: encode(rgba_half_transparent()), id="RGBA"),
        pytest.param(lambda: encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG"), id="CMYK"),
        pytest.param(lambda: encode(Image.fromarray(gradient() > 128).convert("1")), id="1"),
        pytest.param(lambda: encode(Image.new("RGB", (40, 40), (1, 2, 3)), "WEBP"), id="RGB-webp"),
        pytest.param(lambda: encode(Image.new("RGB", (40, 40), (1, 2, 3)), "BMP"), id="RGB-bmp"),
    ],
)
def test_every_mode_becomes_rgb(make_bytes):
    hr, lr = preprocess(make_bytes(), SETTINGS)
    check_shapes(hr, lr)


def test_transparent_pixels_become_white():
    hr, _ = preprocess(encode(rgba_half_transparent()), SETTINGS)
    assert (hr[:, :10] == 255).all()  # left (transparent) half
    assert (hr[:, 22:, 0] == 200).all() and (hr[:, 22:, 1:] == 0).all()


def test_palette_transparency_becomes_white():
    hr, _ = preprocess(palette_with_transparency(), SETTINGS)
    assert (hr[:, :10] == 255).all()
    assert (hr[:, 22:] == (0, 0, 255)).all()


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    values = np.full((40, 40), 257 * 100, np.uint16)
    image = Image.fromarray(values)
    assert image.mode.startswith("I")
    data = encode(image)
    assert Image.open(io.BytesIO(data)).mode in {"I;16", "I;16B", "I"}
    hr, lr = preprocess(data, SETTINGS)
    check_shapes(hr, lr)
    assert (hr == 100).all()


def test_float_image_in_unit_range_is_scaled():
    image = Image.fromarray(np.full((40, 40), 0.5, np.float32))
    assert image.mode == "F"
    hr, _ = preprocess(encode(image, "TIFF"), SETTINGS)
    assert (hr == 128).all()


def test_padding_uses_the_border_colour():
    pixels = np.zeros((80, 40, 3), np.uint8)  # 40 wide, 80 tall, red border, green inside
    pixels[...] = (255, 0, 0)
    pixels[2:-2, 2:-2] = (0, 255, 0)
    hr, _ = preprocess(encode(Image.fromarray(pixels)), SETTINGS)
    # The padded left and right strips are red; the centre column is green.
    assert (hr[:, :6] == (255, 0, 0)).all()
    assert (hr[:, -6:] == (255, 0, 0)).all()
    assert tuple(hr[16, 16]) == (0, 255, 0)


def test_border_colour_is_the_median_of_the_ring():
    pixels = np.full((10, 10, 3), 9, np.uint8)
    pixels[0, 0] = (200, 200, 200)  # one odd corner does not change the median
    pixels[3:7, 3:7] = 100
    assert border_colour(pixels) == (9, 9, 9)


def test_exif_orientation_is_applied():
    # Landscape pixels, left half black and right half white; orientation 6 = rotate 90 deg
    # clockwise on display, which makes it portrait with the black half on top.
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, 40:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(pixels), "JPEG", exif=exif, quality=95)
    hr, _ = preprocess(data, PreprocessSettings(hr_size=80, lr_size=20, min_size=8))
    # Portrait content padded left/right with the border median; top is black, bottom white.
    assert hr[10, 40].mean() < 30
    assert hr[70, 40].mean() > 225


def test_lr_is_the_bicubic_downscale_of_hr():
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)))
    hr, lr = preprocess(data, SETTINGS)
    expected = Image.fromarray(hr).resize((8, 8), Image.Resampling.BICUBIC)
    np.testing.assert_array_equal(lr, np.asarray(expected))


def test_truncated_jpeg_is_rejected():
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(UnusableImage, match="truncated or corrupt"):
        preprocess(data[: len(data) // 2], SETTINGS)


def test_zero_byte_file_is_rejected():
    with pytest.raises(UnusableImage):
        preprocess(b"", SETTINGS)


def test_text_file_is_not_an_image():
    with pytest.raises(UnusableImage, match="not an image"):
        preprocess(b"hello, this is not a jpeg\n" * 10, SETTINGS)


def test_too_small_image_is_rejected():
    data = encode(Image.new("RGB", (20, 30)))
    with pytest.raises(UnusableImage, match=r"too small \(20x30 px, need >= 28\)"):
        preprocess(data, PreprocessSettings())


def test_decompression_bomb_is_rejected(monkeypatch):
    data = encode(Image.new("RGB", (40, 40)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1600 px: above the warning limit
    with pytest.raises(UnusableImage, match="decompression bomb: 1600 pixels exceeds PIL's limit"):
        preprocess(data, SETTINGS)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # above 2x: PIL's own error
    with pytest.raises(UnusableImage, match="decompression bomb"):
        preprocess(data, SETTINGS)


def test_settings_are_validated():
    with pytest.raises(ValueError):
        PreprocessSettings(hr_size=8, lr_size=16)
    with pytest.raises(ValueError):
        PreprocessSettings(min_size=0)
