"""The Python-function flavor: a user class with ``load_context`` and ``predict``.

The class is saved by reference (``module:QualName``) together with its code: the module
that defines it (when it is a file of the user's, not an installed package) and any
``code_paths`` are copied under ``code/``; ``artifacts`` (files or folders) under
``artifacts/<name>``; ``model_config`` goes into the manifest. Loading puts ``code/`` on
``sys.path``, imports the class, makes an instance with no arguments and calls
``load_context`` — that runs the packaged code, so it needs trust.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from windlass.artifacts.paths import clean_artifact_path
from windlass.exceptions import InvalidInput, UntrustedModel
from windlass.models.flavor import Flavor, Predictor

CODE_FOLDER = "code"
ARTIFACTS_FOLDER = "artifacts"


@dataclass
class ModelContext:
    """What a :class:`PythonModel` gets: its artifacts' local paths and its config."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class of custom models: override :meth:`predict` (and :meth:`load_context`).

    The class must be defined in a module file (not in ``__main__``) and take no
    constructor arguments: loading imports the module and calls ``cls()``.
    """

    def load_context(self, context: ModelContext) -> None:
        """Load what :meth:`predict` needs from ``context.artifacts`` (called once at load)."""

    def predict(self, context: ModelContext, model_input: Any) -> Any:
        """Return predictions for ``model_input``."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement predict()")


class PythonPredictor(Predictor):
    """A loaded :class:`PythonModel` with its context."""

    def __init__(self, native: PythonModel, context: ModelContext) -> None:
        self.native = native
        self.context = context

    def predict(self, data: Any) -> Any:
        """Return ``model.predict(context, data)``."""
        return self.native.predict(self.context, data)


def _is_user_file(path: Path) -> bool:
    """Tell whether ``path`` is a user's source file (not the stdlib or an installed package)."""
    resolved = path.resolve()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        root = sysconfig.get_paths().get(key)
        if root and resolved.is_relative_to(Path(root).resolve()):
            return False
    return "site-packages" not in resolved.parts


def _copy(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(
            source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True
        )
    elif source.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    else:
        raise InvalidInput(f"no such file or folder: {source}", path=str(source))


class PythonFlavor(Flavor):
    """Custom models written as a :class:`PythonModel` subclass."""

    name = "python"

    def handles(self, model: Any) -> bool:
        """Tell whether ``model`` is a :class:`PythonModel`."""
        return isinstance(model, PythonModel)

    def requirements(self) -> list[str]:
        """Return nothing extra: the user lists their code's requirements."""
        return []

    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Copy the model's code and artifacts into ``folder``; return the class reference."""
        if not isinstance(model, PythonModel):
            raise InvalidInput(
                "the python flavor saves windlass.PythonModel instances, not "
                f"{type(model).__qualname__}"
            )
        if serialization not in (None, "code"):
            raise InvalidInput(
                "the python flavor saves the class by reference with its code; "
                f"serialization {serialization!r} is not supported"
            )
        options = dict(options or {})
        cls = type(model)
        if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
            raise InvalidInput(
                f"{cls.__qualname__} is defined in a script or a function; define it in a "
                "module file so that loading can import it (and pass code_paths=[that file] "
                "if it is not next to your script)"
            )
        code = folder / CODE_FOLDER
        code_paths = [Path(p) for p in options.pop("code_paths", None) or []]
        module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
        top = cls.__module__.split(".")[0]
        if not code_paths and module_file and _is_user_file(Path(module_file)):
            top_module = sys.modules.get(top)
            top_file = Path(getattr(top_module, "__file__", module_file) or module_file)
            # A package is copied whole; a single module as its file.
            code_paths = [top_file.parent if top_file.name == "__init__.py" else top_file]
        for path in code_paths:
            _copy(path, code / clean_artifact_path(path.name))
        artifacts: dict[str, str] = {}
        for name, source in (options.pop("artifacts", None) or {}).items():
            rel = f"{ARTIFACTS_FOLDER}/{clean_artifact_path(name)}"
            source_path = Path(source)
            _copy(
                source_path,
                folder / rel / source_path.name if source_path.is_dir() else folder / rel,
            )
            artifacts[name] = rel + (f"/{source_path.name}" if source_path.is_dir() else "")
        model_config = options.pop("model_config", None) or {}
        if options:
            raise InvalidInput(f"unknown python-flavor option(s): {sorted(options)}")
        return {
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "code": CODE_FOLDER if code_paths else None,
            "artifacts": artifacts,
            "model_config": model_config,
            "needs_trust": "loading imports and runs the model's packaged Python code",
        }

    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Import the class from the packaged code, instantiate it and call load_context."""
        if not trust:
            raise UntrustedModel(
                "a python-flavor model runs its packaged code when loaded; "
                "pass trust=True if you trust its source"
            )
        try:
            module_name, qualname = str(config["class"]).split(":", 1)
        except (KeyError, ValueError):
            raise InvalidInput("python flavor config needs 'class' as module:QualName") from None
        if config.get("code"):
            code = str((folder / clean_artifact_path(config["code"])).resolve())
            if code not in sys.path:
                sys.path.insert(0, code)
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidInput(
                f"cannot import {module_name!r} for the python model: {exc}; "
                "was it saved with its code?"
            ) from None
        for part in qualname.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise InvalidInput(f"{module_name} has no class {qualname!r}")
        if not (isinstance(target, type) and issubclass(target, PythonModel)):
            raise InvalidInput(f"{module_name}:{qualname} is not a windlass.PythonModel")
        artifacts = {
            name: str(folder / clean_artifact_path(rel))
            for name, rel in (config.get("artifacts") or {}).items()
        }
        context = ModelContext(artifacts, dict(config.get("model_config") or {}))
        instance = target()
        instance.load_context(context)
        return PythonPredictor(instance, context)
