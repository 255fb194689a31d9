"""``windlass.__all__`` is curated and honest; the lazy name table agrees with it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import windlass

INIT = Path(windlass.__file__)


def test_all_names_exist_and_are_sorted() -> None:
    for name in windlass.__all__:
        assert hasattr(windlass, name), name
    assert windlass.__all__ == sorted(windlass.__all__)


def test_every_public_attribute_is_exported() -> None:
    for name in windlass.__all__:  # the root package is lazy: load every public name first
        getattr(windlass, name)
    public = {n for n in vars(windlass) if not n.startswith("_")}
    # Submodules imported as a side effect of loading the package are not API.
    modules = {n for n in public if type(getattr(windlass, n)).__name__ == "module"}
    # `from windlass import llm` (the LLM client), `windlass.prompts.register(...)`,
    # `windlass.models.set_alias(...)`.
    exported_modules = {"llm", "models", "prompts"}
    assert public - modules == set(windlass.__all__) - {"__version__"} - exported_modules


def test_public_functions_have_docstrings() -> None:
    for name in windlass.__all__:
        obj = getattr(windlass, name)
        if callable(obj):
            assert obj.__doc__, f"windlass.{name} has no docstring"


def test_lazy_table_names_every_public_name() -> None:
    table = set(windlass._EXPORTS) | set(windlass._MODULES)
    assert set(windlass.__all__) - {"__version__"} <= table
    assert table == set(windlass.__all__) - {"__version__"}


def test_type_checking_imports_match_the_lazy_table() -> None:
    """What type checkers see (the TYPE_CHECKING imports) is what run time loads."""
    tree = ast.parse(INIT.read_text())
    block = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING"
    )
    exports: dict[str, str] = {}
    modules: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            if alias.asname:
                modules[alias.asname] = f"{node.module}.{alias.name}"
            else:
                exports[alias.name] = node.module
    assert modules == windlass._MODULES
    assert exports == windlass._EXPORTS


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = windlass.no_such_name  # type: ignore[attr-defined]
    assert "log_metric" in dir(windlass)
