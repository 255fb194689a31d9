"""Optional dependencies: what the pip extras of windlass bring, and an import naming one.

``pip install windlass`` (the core) is the SDK, the tracking server, tracing and prompts.
``windlass[ml]`` adds the libraries of models, serving and monitoring (numpy, pandas,
pyarrow, scipy, scikit-learn, skops); ``windlass[genai]`` the openai SDK; ``windlass[all]``
everything. A feature that needs an extra imports through :func:`require`, so a core
install gets a :class:`~windlass.exceptions.MissingDependency` naming the extra to
install instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from windlass.exceptions import MissingDependency

# The import names windlass[ml] brings. The core install needs none of them (a test and
# bench/core_install.py check that a fresh core install has none).
ML_MODULES = ("numpy", "pandas", "pyarrow", "scipy", "sklearn", "skops")

# pip names of modules whose distribution is named otherwise.
_PACKAGES = {"sklearn": "scikit-learn"}


def installed(module: str) -> bool:
    """Tell whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Return the imported ``module``, or raise MissingDependency naming ``extra``.

    ``feature`` says what needs it, for the message: ``"log_model"``, ``"Parquet export"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing(module, extra=extra, feature=feature, reason=str(exc)) from None


def require_ml(feature: str) -> None:
    """Raise MissingDependency naming ``windlass[ml]`` unless numpy and pandas import."""
    for module in ("numpy", "pandas"):
        require(module, extra="ml", feature=feature)


def missing(module: str, *, extra: str, feature: str, reason: str = "") -> MissingDependency:
    """Return the MissingDependency for ``feature`` lacking ``module`` (from ``extra``)."""
    package = _PACKAGES.get(module.split(".")[0], module.split(".")[0])
    because = f" ({reason})" if reason else ""
    return MissingDependency(
        f"{feature} needs {package}, which is not installed{because}; "
        f'install it with: pip install "windlass[{extra}]"',
        package=package,
        extra=extra,
    )
