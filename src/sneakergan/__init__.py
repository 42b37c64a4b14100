"""sneakergan: train and evaluate GANs that generate sneaker images."""

__version__ = "0.1.0"
