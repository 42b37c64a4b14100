"""The layering of docs/architecture.md: a module may import its own layer and those below it, never one
above; and sampling (generate, the studio) loads nothing of the trainer and no matplotlib."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sneakergan

PACKAGE = Path(sneakergan.__file__).parent
# Lowest first: each layer may import the ones before it (docs/architecture.md).
LAYERS = [
    ("errors", "io", "registry", "images"),
    ("data",),
    ("models", "losses"),
    ("config",),
    ("inference",),
    ("viz",),
    ("metrics",),
    ("train",),
    ("report",),
    ("serve", "demos"),
    ("commands",),
    ("cli", "__main__", "__init__"),  # __init__: the public API (load_pipeline), over everything
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _layer(module: str) -> str:
    """sneakergan.inference.pipeline -> inference; sneakergan -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(tree: ast.AST) -> list[str]:
    """Every sneakergan module a file imports, at any depth, except under `if TYPE_CHECKING:` (types only)."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sneakergan":
            found.extend([node.module] if node.module != "sneakergan" else
                         [f"sneakergan.{alias.name}" for alias in node.names if alias.name in RANK])
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if alias.name.split(".")[0] == "sneakergan")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def test_every_module_belongs_to_a_layer():
    assert {_layer(module) for module, _ in _modules()} <= set(RANK)


def test_no_module_imports_a_higher_layer():
    upward = [f"{module} imports {target}" for module, path in _modules()
              for target in _imports(ast.parse(path.read_text()))
              if RANK[_layer(target)] > RANK[_layer(module)]]
    assert upward == []


def test_the_layer_check_catches_an_upward_import():
    tree = ast.parse("def f():\n    from sneakergan.train.loop import Trainer\n")
    assert RANK[_layer(_imports(tree)[0])] > RANK[_layer("sneakergan.inference.pipeline")]
    typed = ast.parse("if TYPE_CHECKING:\n    from sneakergan.train.loop import Trainer\n")
    assert _imports(typed) == []


@pytest.mark.parametrize("module", ["sneakergan.inference.pipeline", "sneakergan.inference.generate",
                                    "sneakergan.serve.app", "sneakergan.commands.generate", "sneakergan.cli"])
def test_sampling_loads_no_trainer_and_no_matplotlib(module):
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in sys.modules if m.startswith(('sneakergan.train', 'matplotlib'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_config_and_the_trainer_know_the_same_augmentations():
    from sneakergan.config import AUGMENTATIONS
    from sneakergan.train.augment import AUGMENTATIONS as OPERATIONS

    assert tuple(OPERATIONS) == AUGMENTATIONS


def _module_level_imports(tree: ast.Module, package: str) -> list[str]:
    """The sneakergan modules a file of `package` imports when it is loaded (top-level statements, not inside
    functions or `if TYPE_CHECKING:`), relative imports resolved."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            found.append(f"{base}.{node.module}" if node.module else base)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sneakergan"):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if alias.name.startswith("sneakergan"))
    return found


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each import cycle found by a depth-first walk, as the path that closes it."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in graph.get(module, ()):
            if state.get(target) == "open":
                return [*path, module, target]
            if target not in state and (cycle := visit(target, [*path, module])):
                return cycle
        state[module] = "done"
        return None

    return [cycle for module in graph if module not in state and (cycle := visit(module, []))]


def test_no_import_cycles():
    graph = {module: [target for target in _module_level_imports(ast.parse(path.read_text()), _package(module, path))
                      if target != module] for module, path in _modules()}
    assert _cycles(graph) == []
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"]}) == [["a", "b", "c", "a"]]  # the check can fail
