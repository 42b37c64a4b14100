"""Architectures are found by registered name, so a new family is one file plus one decorator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from sneakergan.registry import Registry


@dataclass(frozen=True)
class ArchitectureFamily:
    """A generator and a discriminator that belong together (same resolution and conventions)."""

    name: str
    generator: Callable[..., nn.Module]
    discriminator: Callable[..., nn.Module]
    # The training task whose builders know this family's constructor arguments: "gan" families
    # take (z_dim, image_size, width); "sr" families take (blocks, width). Config checks it.
    task: str = "gan"
    # Whether both constructors also take n_classes (> 0: class-conditional G(z, y) and D(x, y)).
    conditional: bool = False
    # The family's own check of a config (TrainConfig.validated calls it): raises ConfigError for options or
    # combinations this family cannot train, when the config is made rather than at the first step.
    check: Callable[[Any], None] | None = None

    def check_config(self, cfg: Any) -> None:
        if self.check is not None:
            self.check(cfg)


_FAMILIES: Registry[ArchitectureFamily] = Registry("architecture")


def register_architecture(name: str, *, generator: Callable[..., nn.Module], discriminator: Callable[..., nn.Module],
                          task: str = "gan", conditional: bool = False, check: Callable[[Any], None] | None = None
                          ) -> None:
    _FAMILIES.register(name, ArchitectureFamily(name, generator, discriminator, task, conditional, check))


def get_architecture(name: str) -> ArchitectureFamily:
    return _FAMILIES.get(name)


def architecture_names() -> list[str]:
    return _FAMILIES.names()


def architecture_tasks() -> list[str]:
    """The training tasks some registered family serves (what `TrainConfig.task` may be)."""
    return sorted({family.task for family in _FAMILIES.values()})
