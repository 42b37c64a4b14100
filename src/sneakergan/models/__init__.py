"""Architectures by family; importing this package registers every family, so a new architecture is one
file here with a `register_architecture(...)` call (and, where it needs them, its own config check)."""

import importlib
import pkgutil

from sneakergan.models.registry import architecture_names, get_architecture, register_architecture

for _module in pkgutil.iter_modules(__path__):  # each module registers its families on import
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["architecture_names", "get_architecture", "register_architecture"]
