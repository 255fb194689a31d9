"""The flavor interface: how one framework's models are saved, loaded and asked to predict.

A flavor is registered through the ``register_model_flavors`` hook (the built-ins use the
same hook as a third-party plugin). It must not import its framework at module import:
:meth:`Flavor.handles` looks at the object's class by name, and the framework is imported
inside :meth:`Flavor.save` and :meth:`Flavor.load`.

A flavor writes its files into the model folder it is given and returns a small JSON-ready
config that :meth:`Flavor.load` gets back. If its files can run code when loaded (pickle,
packaged Python), the config says so with ``"needs_trust": "<why>"`` and ``load`` refuses
unless ``trust`` is true: the loader asks the user first (see :mod:`windlass.models.trust`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from windlass.exceptions import MissingDependency


class Predictor(ABC):
    """A loaded model ready to predict. ``native`` is the framework's own object."""

    native: Any

    @abstractmethod
    def predict(self, data: Any) -> Any:
        """Return predictions for ``data``.

        ``data`` has already been checked against the signature: a pandas DataFrame for a
        column signature, a numpy array for a tensor signature, or what the caller passed
        when the model has no signature. Return a numpy array, a pandas DataFrame/Series,
        or a dict of arrays.
        """

    def predict_proba(self, data: Any) -> Any:
        """Return class probabilities, where the model has them."""
        from windlass.exceptions import InvalidInput

        raise InvalidInput(f"{type(self.native).__name__} has no predict_proba")

    def matrix_columns(self) -> list[str] | None:
        """Return the column order in which :meth:`predict_matrix` takes a float array.

        None (the default) means the model wants a DataFrame. A predictor that can score a
        plain 2-D float64 array directly returns its columns, and the model server then
        skips building DataFrames on its hot path.
        """
        return None

    def predict_matrix(self, matrix: Any) -> Any:
        """Return predictions for a 2-D float64 array in :meth:`matrix_columns` order."""
        import pandas as pd

        return self.predict(pd.DataFrame(matrix, columns=self.matrix_columns()))


class Flavor(ABC):
    """Save and load one framework's models."""

    name: ClassVar[str]
    # The pip extra of windlass that installs the framework (None: always installed).
    extra: ClassVar[str | None] = None
    # The module whose absence means the framework is missing, and its pip name.
    module: ClassVar[str] = ""
    package: ClassVar[str] = ""

    @abstractmethod
    def handles(self, model: Any) -> bool:
        """Tell whether this flavor can save ``model`` (without importing its framework)."""

    @abstractmethod
    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``model``'s files into ``folder``; return the flavor config for the manifest.

        ``serialization`` picks a format where the flavor offers several (``"pickle"`` only
        when the user asks for it); an unknown one is InvalidInput naming the choices.
        ``example`` is the input example, for flavors that trace the model (torch).
        """

    @abstractmethod
    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Load the model saved in ``folder``; refuse unsafe files unless ``trust``."""

    def requirements(self) -> list[str]:
        """Return pip requirements for loading this flavor's models (``pkg==version``)."""
        return [pinned(self.package, self.module)] if self.package else []

    def require(self) -> Any:
        """Import and return the framework's module, or raise MissingDependency naming the extra."""
        import importlib

        try:
            return importlib.import_module(self.module)
        except ImportError as exc:
            hint = (
                f'pip install "windlass[{self.extra}]"'
                if self.extra
                else f"pip install {self.package}"
            )
            raise MissingDependency(
                f"the {self.name} flavor needs {self.package}, which is not installed "
                f"({exc}); install it with: {hint}",
                flavor=self.name,
                package=self.package,
            ) from None


def pinned(package: str, module: str | None = None) -> str:
    """Return ``package==<installed version>`` (just ``package`` if it is not installed)."""
    from importlib import metadata

    try:
        return f"{package}=={metadata.version(package)}"
    except metadata.PackageNotFoundError:
        if module:
            import importlib

            try:
                version = getattr(importlib.import_module(module), "__version__", None)
            except ImportError:
                version = None
            if version:
                return f"{package}=={version}"
        return package


def class_path(obj: Any) -> str:
    """Return ``module.QualName`` of ``obj``'s class (never imports anything)."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def mro_modules(obj: Any) -> list[str]:
    """Return the top-level module of every class in ``obj``'s class hierarchy."""
    return [c.__module__.split(".")[0] for c in type(obj).__mro__]
