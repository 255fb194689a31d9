"""Imports point down the layers of DESIGN.md (core < storage < domain < faces)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "windlass"

LAYERS = {
    0: {
        "exceptions",
        "entities",
        "principal",
        "config",
        "uris",
        "ids",
        "plugins",
        "extras",
    },
    1: {"store", "artifacts"},
    2: {
        "access",
        "tracking",
        "versioning",
        "models",
        "data",
        "serving",
        "monitoring",
        "genai",
        "pipelines",
    },
    3: {"client", "server", "cli", "demo", "__init__", "__main__"},
}


def layer_of(top: str) -> int:
    for layer, names in LAYERS.items():
        if top in names:
            return layer
    raise AssertionError(f"windlass.{top} is in no layer; add it to DESIGN.md and this test")


def windlass_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("windlass")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "windlass":
                # `from windlass import config` names submodules; `from windlass import x`
                # of an SDK name is the public package (layer 3).
                found += [(node.lineno, f"windlass.{a.name}") for a in node.names]
            elif node.module.startswith("windlass."):
                found.append((node.lineno, node.module))
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_imports_point_down() -> None:
    violations = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        own = rel.parts[0].removesuffix(".py")
        own_layer = layer_of(own)
        for line, module in windlass_imports(path):
            top = _top(module)
            if top not in {n for names in LAYERS.values() for n in names}:
                top = "__init__"  # `from windlass import start_run`: the public SDK
            if top == own:
                continue
            if layer_of(top) > own_layer:
                violations.append(
                    f"{rel}:{line} (layer {own_layer}) imports {module} (layer {layer_of(top)})"
                )
    assert not violations, "imports pointing up:\n" + "\n".join(violations)


def test_every_package_has_a_layer() -> None:
    for path in SRC.iterdir():
        if path.name.startswith((".", "py.typed")) or path.name == "__pycache__":
            continue
        layer_of(path.name.removesuffix(".py"))
