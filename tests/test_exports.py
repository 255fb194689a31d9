"""``windlass.__all__`` is curated and honest."""

from __future__ import annotations

import windlass


def test_all_names_exist_and_are_sorted() -> None:
    for name in windlass.__all__:
        assert hasattr(windlass, name), name
    assert windlass.__all__ == sorted(windlass.__all__)


def test_every_public_attribute_is_exported() -> None:
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
