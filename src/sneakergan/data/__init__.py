"""Image data: find files, preprocess them into HR/LR pairs, cache the decoded arrays."""

from .dataset import load_dataset
from .image_dataset import ImageDataset
from .preprocess import PreprocessSettings
from .sources import list_image_sources

__all__ = ["ImageDataset", "PreprocessSettings", "list_image_sources", "load_dataset"]
