"""The XGBoost flavor: boosters and scikit-learn wrappers in XGBoost's own format (no pickle).

The model is written with ``save_model`` as UBJ (``model.ubj``, the default) or JSON
(``serialization="json"``). Both formats hold only trees and parameters: loading them runs
no Python code. A scikit-learn wrapper (``XGBClassifier``, ``XGBRegressor``,
``XGBRanker``...) also stores its wrapper attributes in that file; the config records which
wrapper class it was, and loading makes a fresh instance of that class and calls
``load_model`` on it, so ``predict`` gives class labels and ``predict_proba`` is there. A
subclass of a wrapper is restored as the XGBoost class it derives from. A raw
``xgboost.Booster`` predicts through a ``DMatrix`` built from the DataFrame or array.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from windlass.exceptions import InvalidInput
from windlass.models.flavor import Flavor, Predictor, class_path, mro_modules, pinned

FORMATS = {"ubj": "model.ubj", "json": "model.json"}
DEFAULT_FORMAT = "ubj"


def distribution() -> str:
    """Return the pip name of the installed distribution providing ``xgboost``.

    The CPU-only wheel ``xgboost-cpu`` and the CUDA wheel ``xgboost`` both install the
    ``xgboost`` module; requirements must name the one in use (the CUDA one is ~700 MB).
    """
    from importlib import metadata

    names = metadata.packages_distributions().get("xgboost") or []
    return "xgboost-cpu" if "xgboost-cpu" in names or not names else names[0]


def _wrapper_class(model: Any) -> str | None:
    """Return the name of the nearest XGBoost scikit-learn wrapper class of ``model``."""
    for cls in type(model).__mro__:
        if cls.__module__.split(".")[0] == "xgboost" and "XGBModel" in {
            base.__name__ for base in cls.__mro__
        }:
            return cls.__name__
    return None


def _first_line(exc: BaseException) -> str:
    # XGBoost appends a native stack trace; its first line says what went wrong.
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class XGBoostPredictor(Predictor):
    """A loaded XGBoost model: a scikit-learn wrapper or a raw ``Booster``."""

    def __init__(self, native: Any, xgboost: Any) -> None:
        self.native = native
        self._xgb = xgboost

    def _is_booster(self) -> bool:
        return isinstance(self.native, self._xgb.Booster)

    def _dmatrix(self, data: Any) -> Any:
        """Return ``data`` as a DMatrix the booster accepts (names and categories as saved)."""
        import numpy as np

        from windlass.models.signature import as_frame

        categorical = "c" in (self.native.feature_types or [])
        frame = as_frame(data)
        if frame is not None:
            return self._xgb.DMatrix(frame, enable_categorical=categorical)
        # An array has no column names: give it the booster's, which it would demand.
        return self._xgb.DMatrix(
            np.asarray(data),
            feature_names=self.native.feature_names,
            enable_categorical=categorical,
        )

    def predict(self, data: Any) -> Any:
        """Return predictions: class labels for a classifier, the booster's output otherwise."""
        if self._is_booster():
            return self.native.predict(self._dmatrix(data))
        return self.native.predict(data)

    def predict_proba(self, data: Any) -> Any:
        """Return class probabilities (scikit-learn classifiers only)."""
        if self._is_booster() or not hasattr(self.native, "predict_proba"):
            return super().predict_proba(data)
        return self.native.predict_proba(data)


class XGBoostFlavor(Flavor):
    """XGBoost boosters and scikit-learn wrappers, saved as UBJ or JSON."""

    name = "xgboost"
    extra = "xgboost"
    module = "xgboost"
    package = "xgboost-cpu"

    def handles(self, model: Any) -> bool:
        """Tell whether ``model`` is an XGBoost Booster or scikit-learn wrapper."""
        if "xgboost" not in mro_modules(model):
            return False
        return class_path(model) == "xgboost.core.Booster" or _wrapper_class(model) is not None

    def requirements(self) -> list[str]:
        """Return the installed XGBoost distribution (``xgboost-cpu`` here), pinned."""
        return [pinned(distribution(), self.module)]

    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``model.ubj`` (or ``model.json``); return the format and wrapper class."""
        fmt = serialization or DEFAULT_FORMAT
        if fmt not in FORMATS:
            raise InvalidInput(
                f"the xgboost flavor saves as 'ubj' (default) or 'json', not "
                f"{fmt!r}; pickle is not offered: XGBoost's own formats keep "
                "everything",
                serialization=fmt,
            )
        if options:
            raise InvalidInput(f"unknown xgboost-flavor option(s): {sorted(options)}")
        xgb = self.require()
        if isinstance(model, xgb.Booster):
            kind, wrapper, booster = "booster", None, model
        else:
            wrapper = _wrapper_class(model)
            if wrapper is None:
                raise InvalidInput(
                    f"the xgboost flavor saves Boosters and scikit-learn "
                    f"wrappers, not {class_path(model)}"
                )
            try:
                booster = model.get_booster()
            except Exception:  # NotFittedError (sklearn) or XGBoostError, by version
                raise InvalidInput(f"the {wrapper} is not fitted; fit it before saving") from None
            kind = "sklearn"
        file = FORMATS[fmt]
        model.save_model(str(folder / file))
        return {
            "file": file,
            "format": fmt,
            "kind": kind,
            "wrapper": wrapper,
            "model_class": class_path(model),
            "feature_names": list(booster.feature_names or []) or None,
            "num_features": int(booster.num_features()),
        }

    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Load the booster or wrapper from its file; a bad file is InvalidInput naming it."""
        xgb = self.require()
        fmt = config.get("format", DEFAULT_FORMAT)
        if fmt not in FORMATS:
            raise InvalidInput(
                f"unknown xgboost model format {fmt!r}; expected one of {sorted(FORMATS)}",
                format=fmt,
            )
        path = folder / FORMATS[fmt]
        if not path.is_file():
            raise InvalidInput(f"the XGBoost model file {path} is missing", path=str(path))
        kind = config.get("kind", "booster")
        if kind == "booster":
            native: Any = xgb.Booster()
        elif kind == "sklearn":
            # Only classes XGBoost itself exports: a config must never name code to import.
            wrapper = getattr(xgb, str(config.get("wrapper")), None)
            if not (isinstance(wrapper, type) and issubclass(wrapper, xgb.XGBModel)):
                raise InvalidInput(
                    f"{config.get('wrapper')!r} is not an XGBoost scikit-learn wrapper class",
                    wrapper=config.get("wrapper"),
                )
            native = wrapper()
        else:
            raise InvalidInput(
                f"unknown xgboost model kind {kind!r}; expected 'booster' or 'sklearn'", kind=kind
            )
        try:
            native.load_model(str(path))
        except (xgb.core.XGBoostError, ValueError, TypeError, OSError) as exc:
            raise InvalidInput(
                f"{path} is not a readable XGBoost {fmt.upper()} model: {_first_line(exc)}",
                path=str(path),
            ) from None
        return XGBoostPredictor(native, xgb)
