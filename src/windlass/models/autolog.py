"""Autologging for scikit-learn: every top-level ``fit`` logs params, training metrics, model.

``windlass.autolog()`` wraps the ``fit`` method of every scikit-learn estimator class. A
``fit`` called inside another one (a pipeline fitting its steps, a subclass calling
``super().fit``) is not logged again. Without an active run, each fit gets a run of its own.
A failure to log is reported on the ``windlass.autolog`` logger and never breaks the fit.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from windlass.extras import require
from windlass.tracking import fluent as tracking_fluent

logger = logging.getLogger("windlass.autolog")

_originals: dict[type, Any] = {}
_local = threading.local()
_settings: dict[str, Any] = {}
_SIMPLE = (str, int, float, bool, type(None))


def _estimator_classes() -> list[type]:
    require("sklearn", extra="ml", feature="autolog")
    from sklearn.base import BaseEstimator
    from sklearn.utils import all_estimators

    classes = {cls for _name, cls in all_estimators()}
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline

    classes |= {Pipeline, GridSearchCV, RandomizedSearchCV}
    # Patch the class that defines ``fit`` (often a private base such as BaseForest).
    owners = {
        next(k for k in c.__mro__ if "fit" in vars(k))
        for c in classes
        if issubclass(c, BaseEstimator) and hasattr(c, "fit")
    }
    return sorted(owners, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _params(estimator: Any) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in estimator.get_params(deep=True).items():
        if len(key) > 250:
            continue
        if isinstance(value, _SIMPLE):
            params[key] = str(value)
        else:
            params[key] = type(value).__name__
    return params


def _metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    if y is None or not hasattr(estimator, "predict"):
        return {}
    predicted = estimator.predict(X)
    if is_classifier(estimator):
        found = {
            "training_accuracy": metrics.accuracy_score(y, predicted),
            "training_precision": metrics.precision_score(
                y, predicted, average="weighted", zero_division=0
            ),
            "training_recall": metrics.recall_score(
                y, predicted, average="weighted", zero_division=0
            ),
            "training_f1": metrics.f1_score(y, predicted, average="weighted", zero_division=0),
        }
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            found["training_log_loss"] = metrics.log_loss(y, proba, labels=estimator.classes_)
            if proba.shape[1] == 2:
                found["training_roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
        return {k: float(v) for k, v in found.items()}
    if is_regressor(estimator):
        mse = metrics.mean_squared_error(y, predicted)
        return {
            "training_mse": float(mse),
            "training_rmse": float(mse) ** 0.5,
            "training_mae": float(metrics.mean_absolute_error(y, predicted)),
            "training_r2": float(metrics.r2_score(y, predicted)),
        }
    return {}


def _log_fit(estimator: Any, X: Any, y: Any) -> None:
    from windlass.models.fluent import log_model

    tracking_fluent.log_params(_params(estimator))
    tracking_fluent.set_tag(
        "estimator_class", f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    )
    for key, value in _metrics(estimator, X, y).items():
        tracking_fluent.log_metric(key, value)
    if _settings.get("log_models", True):
        example = X[:5] if hasattr(X, "__getitem__") else None
        log_model(
            estimator,
            "model",
            input_example=example,
            registered_model_name=_settings.get("registered_model_name"),
        )


def _wrap(original: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "depth", 0):
            return original(self, *args, **kwargs)
        _local.depth = 1
        own_run = tracking_fluent.active_run() is None
        try:
            if own_run:
                tracking_fluent.start_run(name=type(self).__name__)
            result = original(self, *args, **kwargs)
            X = args[0] if args else kwargs.get("X")
            y = args[1] if len(args) > 1 else kwargs.get("y")
            try:
                _log_fit(self, X, y)
            except Exception:
                logger.exception(
                    "windlass autolog could not log the fit of %s", type(self).__name__
                )
            if own_run:
                tracking_fluent.end_run()
            return result
        except BaseException:
            if own_run and tracking_fluent.active_run() is not None:
                tracking_fluent.end_run("failed")
            raise
        finally:
            _local.depth = 0

    fit._windlass_autolog = True  # type: ignore[attr-defined]
    return fit


def autolog(
    *, log_models: bool = True, registered_model_name: str | None = None, disable: bool = False
) -> None:
    """Log params, training metrics and the fitted model of every scikit-learn ``fit``.

    ``disable=True`` restores the original methods. ``registered_model_name`` also
    registers each logged model as a new version of that name.
    """
    _settings.update(log_models=log_models, registered_model_name=registered_model_name)
    if disable:
        for cls, original in _originals.items():
            cls.fit = original  # type: ignore[attr-defined]
        _originals.clear()
        return
    for cls in _estimator_classes():
        if cls in _originals:
            continue
        original = vars(cls)["fit"]
        _originals[cls] = original
        cls.fit = _wrap(original)  # type: ignore[attr-defined]
