"""The LightGBM flavor: boosters and scikit-learn wrappers as LightGBM's text model (no pickle).

The booster is written with ``Booster.save_model`` to ``model.txt``: trees, parameters,
feature names and pandas categories, nothing executable. LightGBM cannot rebuild a
scikit-learn wrapper from that file, so every model loads as a ``lightgbm.Booster``. For an
``LGBMClassifier`` the config records ``classes_`` (and their dtype), and the predictor
turns the booster's probabilities into what the wrapper gives: ``predict_proba`` stacks
``1 - p, p`` for two classes, and ``predict`` picks the class with the highest probability
(``p > 0.5`` for two), exactly as ``LGBMClassifier`` does. Regressors and rankers predict
with the booster directly. A wrapper stopped early is saved at its best iteration, which is
what its ``predict`` used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from windlass.exceptions import InvalidInput
from windlass.models.flavor import Flavor, Predictor, class_path, mro_modules

MODEL_FILE = "model.txt"
_LABEL_TYPES = (str, int, float, bool)


class LightGBMPredictor(Predictor):
    """A loaded LightGBM booster; with ``classes``, it answers as the classifier it was."""

    def __init__(self, native: Any, classes: Any = None) -> None:
        self.native = native
        # numpy array of the classifier's labels, or None for regressors and raw boosters.
        self.classes = classes

    def _probabilities(self, data: Any) -> Any:
        import numpy as np

        proba = self.native.predict(data)
        if proba.ndim == 1:  # binary objectives give P(classes[1]) only
            proba = np.vstack((1.0 - proba, proba)).transpose()
        return proba

    def predict(self, data: Any) -> Any:
        """Return class labels for a classifier, the booster's prediction otherwise."""
        if self.classes is None:
            return self.native.predict(data)
        import numpy as np

        return self.classes[np.argmax(self._probabilities(data), axis=1)]

    def predict_proba(self, data: Any) -> Any:
        """Return class probabilities, one column per class (classifiers only)."""
        if self.classes is None:
            return super().predict_proba(data)
        return self._probabilities(data)


def _classes_config(model: Any) -> dict[str, Any]:
    """Return a classifier's labels as JSON-safe values with their numpy dtype."""
    import numpy as np

    classes = np.asarray(model.classes_)
    labels = classes.tolist()
    if not all(isinstance(label, _LABEL_TYPES) for label in labels):
        kinds = sorted({type(label).__name__ for label in labels})
        raise InvalidInput(
            f"the LGBMClassifier's class labels must be text, numbers or "
            f"booleans to be saved without pickle; they are {kinds}"
        )
    return {"classes": labels, "classes_dtype": classes.dtype.str}


class LightGBMFlavor(Flavor):
    """LightGBM boosters and scikit-learn wrappers, saved as LightGBM's text model."""

    name = "lightgbm"
    extra = "lightgbm"
    module = "lightgbm"
    package = "lightgbm"

    def handles(self, model: Any) -> bool:
        """Tell whether ``model`` is a LightGBM Booster or scikit-learn wrapper."""
        if "lightgbm" not in mro_modules(model):
            return False
        paths = {f"{c.__module__}.{c.__qualname__}" for c in type(model).__mro__}
        return bool(paths & {"lightgbm.basic.Booster", "lightgbm.sklearn.LGBMModel"})

    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``model.txt``; return the model kind and, for classifiers, the classes."""
        if serialization not in (None, "text"):
            raise InvalidInput(
                f"the lightgbm flavor saves LightGBM's text model ('text'), not {serialization!r}",
                serialization=serialization,
            )
        if options:
            raise InvalidInput(f"unknown lightgbm-flavor option(s): {sorted(options)}")
        lgb = self.require()
        config: dict[str, Any] = {
            "file": MODEL_FILE,
            "format": "text",
            "model_class": class_path(model),
        }
        if isinstance(model, lgb.Booster):
            booster, config["kind"] = model, "booster"
        elif isinstance(model, lgb.LGBMModel):
            if not model.__sklearn_is_fitted__():
                raise InvalidInput(
                    f"the {type(model).__name__} is not fitted; fit it before saving"
                )
            booster = model.booster_
            config["kind"] = "classifier" if isinstance(model, lgb.LGBMClassifier) else "sklearn"
            if config["kind"] == "classifier":
                config.update(_classes_config(model))
        else:
            raise InvalidInput(
                f"the lightgbm flavor saves Boosters and scikit-learn wrappers, "
                f"not {class_path(model)}"
            )
        booster.save_model(str(folder / MODEL_FILE))
        config["feature_names"] = [str(name) for name in booster.feature_name()]
        return config

    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Load the booster from ``model.txt``; a bad file is InvalidInput naming it."""
        lgb = self.require()
        path = folder / MODEL_FILE
        if not path.is_file():
            raise InvalidInput(f"the LightGBM model file {path} is missing", path=str(path))
        classes = None
        if config.get("kind") == "classifier":
            import numpy as np

            try:
                classes = np.asarray(config["classes"], dtype=config.get("classes_dtype"))
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"the lightgbm config of {folder} has no usable 'classes': {exc}"
                ) from None
        try:
            booster = lgb.Booster(model_file=str(path))
        except (lgb.basic.LightGBMError, ValueError, OSError) as exc:
            raise InvalidInput(
                f"{path} is not a readable LightGBM text model: {exc}", path=str(path)
            ) from None
        if classes is not None and len(classes) != max(2, booster.num_model_per_iteration()):
            raise InvalidInput(
                f"{path} predicts {booster.num_model_per_iteration()} class "
                f"score(s) but its config lists {len(classes)} classes",
                path=str(path),
            )
        return LightGBMPredictor(booster, classes)
