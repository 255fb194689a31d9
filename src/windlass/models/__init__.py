"""Models: the packaging format, flavors, safe loading, the registry and autolog.

``windlass.models`` is also the models' SDK namespace, the same shape as
``windlass.prompts`` for what every versioned kind shares::

    windlass.models.set_alias("churn", "champion", 3)
    windlass.models.delete_alias("churn", "champion")
    windlass.models.get_alias_history("churn")       # every recorded move, oldest first
    windlass.models.list_versions("churn")           # newest first

These load :mod:`windlass.models.fluent` on first use, so ``import windlass.models`` stays
light. The flat names (``windlass.set_alias``...) are the same functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from windlass.models.fluent import delete_alias, get_alias_history, set_alias
    from windlass.models.fluent import list_model_versions as list_versions

__all__ = ["delete_alias", "get_alias_history", "list_versions", "set_alias"]

#: Each SDK name of this namespace and the function of :mod:`windlass.models.fluent` it is.
_SDK = {
    "delete_alias": "delete_alias",
    "get_alias_history": "get_alias_history",
    "list_versions": "list_model_versions",
    "set_alias": "set_alias",
}


def __getattr__(name: str) -> Any:
    """Return an SDK function of the namespace, loading the models SDK on first use."""
    if name not in _SDK:
        raise AttributeError(f"module 'windlass.models' has no attribute {name!r}")
    from windlass.models import fluent

    function = getattr(fluent, _SDK[name])
    globals()[name] = function
    return function


def __dir__() -> list[str]:
    """Return the namespace's names, the SDK functions not yet loaded included."""
    return sorted({*globals(), *__all__})
