"""Architectures by family; importing this package registers every family."""

from sneakergan.models import dcgan, mlp, sngan, srgan  # noqa: F401  (import registers the families)
from sneakergan.models.registry import architecture_names, get_architecture, register_architecture

__all__ = ["architecture_names", "get_architecture", "register_architecture"]
