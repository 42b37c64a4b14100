import pytest

from sneakergan.errors import ConfigError
from sneakergan.registry import Registry


def test_registry_finds_by_name_and_names_the_alternatives():
    registry: Registry[int] = Registry("widget")
    registry.register("b", 2)
    registry.register("a", 1)
    assert registry.get("a") == 1 and registry.names() == ["a", "b"] and registry.values() == [1, 2]
    with pytest.raises(ConfigError, match="unknown widget 'c'; known: a, b"):
        registry.get("c")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a", 3)
