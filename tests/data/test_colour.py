import numpy as np
import pytest

from sneakergan.data import colour
from sneakergan.data.colour import COLOUR_NAMES, colour_labels


def _shoe(*colours, size=28, background=255, rows=(6, 22)):
    """A product on a plain background: a block of rows (6..22 of 28: 57% of the image), split into
    equal vertical bands of `colours`."""
    image = np.full((size, size, 3), background, np.uint8)
    top, bottom = rows
    edges = np.linspace(2, size - 2, len(colours) + 1).round().astype(int)
    for rgb, left, right in zip(colours, edges, edges[1:]):
        image[top:bottom, left:right] = rgb
    return image


def _name(image):
    return COLOUR_NAMES[colour_labels(image[None])[0]]


@pytest.mark.parametrize("rgb, expected", [
    ((200, 20, 20), "red"),
    ((220, 20, 60), "red"),  # hue 348: red wraps around 360
    ((20, 20, 20), "black"),
    ((50, 10, 10), "black"),  # value under 0.22 wins over saturation
    ((128, 128, 128), "grey"),
    ((222, 222, 226), "white"),  # light, unsaturated, yet not background (min 222 <= 230)
    ((30, 60, 200), "blue"),
    ((30, 160, 40), "green"),
    ((250, 140, 0), "yellow/orange"),  # bright orange: hue 34, but saturated and light
    ((240, 220, 20), "yellow/orange"),
    ((120, 70, 30), "brown/beige"),  # orange hue, dark
    ((220, 200, 160), "brown/beige"),  # orange hue, pale: beige
    ((230, 80, 180), "pink/purple"),
    ((120, 40, 200), "pink/purple"),
])
def test_a_solid_shoe_on_white_gets_its_colour(rgb, expected):
    assert _name(_shoe(rgb)) == expected


def test_near_white_pixels_are_background():
    assert _name(np.full((28, 28, 3), 255, np.uint8)) == "white"  # blank
    assert _name(_shoe((240, 236, 250))) == "white"  # all min > 230: no foreground at all
    assert _name(_shoe((200, 20, 20), background=235)) == "red"  # an off-white background is still background


def test_almost_no_foreground_is_white():
    image = np.full((28, 28, 3), 255, np.uint8)
    image[10:13, 10:13] = (200, 20, 20)  # 9 of 784 pixels: 1.1% < 2%
    assert _name(image) == "white"
    image[10:14, 10:14] = (200, 20, 20)  # 16 pixels: 2.04%
    assert _name(image) == "red"


def test_several_colours_without_a_dominant_one_are_multi():
    assert _name(_shoe((200, 20, 20), (30, 60, 200), (30, 160, 40))) == "multi"  # a third each
    # one colour holding 40% or more is dominant, whatever the second holds
    assert _name(_shoe((200, 20, 20), (200, 20, 20), (30, 60, 200), (30, 160, 40), (20, 20, 20))) == "red"
    # a black shoe with a white sole: black dominates
    assert _name(_shoe((20, 20, 20), (20, 20, 20), (20, 20, 20), (222, 222, 226))) == "black"


def test_the_multi_thresholds():
    shares = np.array([[39, 26, 35, 0, 0, 0, 0, 0, 0], [40, 30, 30, 0, 0, 0, 0, 0, 0],
                       [39, 25, 36, 0, 0, 0, 0, 0, 0]]) * 10  # foreground pixel counts per palette bin
    assert [COLOUR_NAMES[i] for i in colour._classify(shares, pixels=2000)] == ["multi", "black", "multi"]
    shares = np.array([[39, 25, 25, 11, 0, 0, 0, 0, 0]]) * 10
    assert [COLOUR_NAMES[i] for i in colour._classify(shares, pixels=2000)] == ["black"]  # second only 25%


def test_batches_of_any_size_and_resolution_match_one_by_one(monkeypatch):
    rng = np.random.default_rng(0)
    palette = [(200, 20, 20), (20, 20, 20), (128, 128, 128), (30, 60, 200), (120, 70, 30), (230, 80, 180)]
    images = np.stack([_shoe(*[palette[i] for i in rng.choice(len(palette), size=rng.integers(1, 4))], size=112,
                             rows=(20, 90)) for _ in range(12)])
    one_by_one = [colour_labels(image[None])[0] for image in images]
    monkeypatch.setattr(colour, "_CHUNK_PIXELS", 5 * 112 * 112)  # chunks of 5 images: 3 passes
    labels = colour_labels(images)
    assert labels.dtype == np.int64 and labels.shape == (12,) and list(labels) == one_by_one
    assert len(set(one_by_one)) > 2


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="uint8 NHWC"):
        colour_labels(np.zeros((2, 28, 28, 3), np.float32))
    with pytest.raises(ValueError, match="uint8 NHWC"):
        colour_labels(np.zeros((28, 28, 3), np.uint8))
