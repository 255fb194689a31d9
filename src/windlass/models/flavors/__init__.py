"""The flavor registry: every flavor registered through the ``register_model_flavors`` hook.

Built-in flavors (scikit-learn, XGBoost, LightGBM, PyTorch, ONNX, Python function) register
through :mod:`windlass.models.plugin`, the same way a third-party package does. Importing a
flavor module never imports its framework.
"""

from __future__ import annotations

from typing import Any

from windlass.exceptions import InvalidInput
from windlass.models.flavor import Flavor


def all_flavors() -> dict[str, Flavor]:
    """Return every registered flavor by name (a later registration of a name wins)."""
    from windlass.plugins import collect

    flavors: dict[str, Flavor] = {}
    # pluggy calls the most recently registered plugin first: keep the first one seen.
    for (flavor,) in collect("register_model_flavors"):
        flavors.setdefault(flavor.name, flavor)
    return flavors


def get_flavor(name: str) -> Flavor:
    """Return the flavor called ``name``, or InvalidInput listing the known ones."""
    flavors = all_flavors()
    try:
        return flavors[name]
    except KeyError:
        raise InvalidInput(
            f"unknown model flavor {name!r}; known flavors: {', '.join(sorted(flavors))}",
            flavor=name,
        ) from None


def flavor_for(model: Any) -> Flavor:
    """Return the flavor that saves ``model``, or InvalidInput naming the model's class."""
    for flavor in all_flavors().values():
        if flavor.handles(model):
            return flavor
    cls = type(model)
    raise InvalidInput(
        f"no flavor saves a {cls.__module__}.{cls.__qualname__}; pass flavor= explicitly, or "
        "wrap it in a windlass.PythonModel (the 'python' flavor)",
        model_class=f"{cls.__module__}.{cls.__qualname__}",
    )
