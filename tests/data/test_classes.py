"""The classes of a class-conditional run, derived from a dataset (training and evaluation share them)."""

from types import SimpleNamespace

import numpy as np
import pytest

from sneakergan.data.classes import class_labels
from sneakergan.data.colour import COLOUR_NAMES
from sneakergan.errors import ConfigError


def _dataset(class_names, labels, hr=None):
    return SimpleNamespace(class_names=tuple(class_names), labels=np.array(labels, np.int64), source="/data", hr=hr)


def test_price_labels_are_the_class_folders():
    labels, names = class_labels(_dataset(("cheap", "expensive"), [0, 1, 1]), "price")
    assert names == ("cheap", "expensive") and labels.tolist() == [0, 1, 1]
    with pytest.raises(ConfigError, match="every image in a class folder; 2 lie directly in /data"):
        class_labels(_dataset(("", "cheap"), [0, 0, 1]), "price")
    with pytest.raises(ConfigError, match="two or more class folders; /data has 1 \\(cheap\\)"):
        class_labels(_dataset(("cheap",), [0, 0]), "price")


def test_colour_labels_come_from_the_112_images():
    hr = np.full((2, 112, 112, 3), 255, np.uint8)
    hr[0, 20:90, 20:90] = (200, 20, 20)
    labels, names = class_labels(_dataset(("cheap", "expensive"), [0, 1], hr=hr), "colour")
    assert names == COLOUR_NAMES and [names[i] for i in labels] == ["red", "white"]
