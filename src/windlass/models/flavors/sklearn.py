"""The scikit-learn flavor: estimators and pipelines saved with skops (no pickle).

skops rebuilds an object only from types it trusts. Beyond its defaults, windlass trusts
the reviewed list below: data-holding classes inside common estimators (tree structures,
kernels, optimizers) and a few plain library functions they keep references to. A model
holding any other type (a user's class, an arbitrary function) is refused unless loaded
with ``trust=True``. ``serialization="pickle"`` writes a pickle instead; loading it always
needs trust.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

from windlass.exceptions import InvalidInput, UntrustedModel
from windlass.models.flavor import Flavor, Predictor, class_path, mro_modules, pinned

SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"

# Reviewed: each holds fitted data or is a library function the estimator calls on data.
REVIEWED_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.cluster._bisect_k_means._BisectingTree",
        "sklearn.cluster._kmeans._kmeans_single_lloyd",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        "sklearn.gaussian_process.kernels.ConstantKernel",
        "sklearn.gaussian_process.kernels.DotProduct",
        "sklearn.gaussian_process.kernels.Matern",
        "sklearn.gaussian_process.kernels.Product",
        "sklearn.gaussian_process.kernels.RBF",
        "sklearn.gaussian_process.kernels.Sum",
        "sklearn.gaussian_process.kernels.WhiteKernel",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn._loss.loss.HalfTweedieLossIdentity",
        "scipy.interpolate._bsplines.BSpline",
        "numpy.dtype",
        "numpy.mean",
    }
)

# Frameworks with flavors of their own, though their wrappers subclass BaseEstimator.
_OWN_FLAVOR = {"xgboost", "lightgbm"}


class SklearnPredictor(Predictor):
    """A fitted scikit-learn estimator."""

    def __init__(self, native: Any) -> None:
        self.native = native
        names = getattr(native, "feature_names_in_", None)
        # Estimators that select columns by name (pipelines, column transformers, searches
        # over them) need the DataFrame; a plain estimator can take the array.
        by_name = any(
            hasattr(native, a)
            for a in ("steps", "transformers", "estimator", "best_estimator_", "estimators")
        )
        self._columns = None if names is None or by_name else [str(n) for n in names]

    def _array(self, data: Any) -> Any:
        """Return ``data`` as an array when that is exactly what the estimator would see."""
        columns = self._columns
        if columns is None or not hasattr(data, "columns") or list(data.columns) != columns:
            return None
        if not all(dtype.kind in "biuf" for dtype in data.dtypes):
            return None
        return data.to_numpy()

    def _call(self, method: Any, data: Any) -> Any:
        array = self._array(data)
        if array is None:
            return method(data)
        # Same numbers in the same column order as the fitted feature names: pass the array
        # (about 6x faster for one row) and silence the warning about the missing names.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return method(array)

    def predict(self, data: Any) -> Any:
        """Return ``estimator.predict(data)``."""
        return self._call(self.native.predict, data)

    def matrix_columns(self) -> list[str] | None:
        """Return the fitted feature names of a plain estimator (it takes their array)."""
        return None if self._columns is None else list(self._columns)

    def predict_matrix(self, matrix: Any) -> Any:
        """Return ``estimator.predict(matrix)`` for an array in the fitted feature order."""
        if self._columns is None:
            return super().predict_matrix(matrix)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return self.native.predict(matrix)

    def predict_proba(self, data: Any) -> Any:
        """Return ``estimator.predict_proba(data)``."""
        if not hasattr(self.native, "predict_proba"):
            return super().predict_proba(data)
        return self._call(self.native.predict_proba, data)


class SklearnFlavor(Flavor):
    """scikit-learn estimators and pipelines."""

    name = "sklearn"
    extra = "ml"
    module = "sklearn"
    package = "scikit-learn"

    def handles(self, model: Any) -> bool:
        """Tell whether ``model`` is a scikit-learn estimator (not a wrapper with a flavor)."""
        modules = mro_modules(model)
        return "sklearn" in modules and modules[0] not in _OWN_FLAVOR

    def requirements(self) -> list[str]:
        """Return scikit-learn and skops, pinned to the installed versions."""
        return [pinned("scikit-learn", "sklearn"), pinned("skops")]

    def save(
        self,
        model: Any,
        folder: Path,
        *,
        serialization: str | None = None,
        example: Any = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``model.skops`` (or ``model.pkl`` when ``serialization='pickle'``)."""
        serialization = serialization or "skops"
        config: dict[str, Any] = {"estimator": class_path(model), "serialization": serialization}
        if serialization == "pickle":
            with open(folder / PICKLE_FILE, "wb") as handle:
                pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
            config["file"] = PICKLE_FILE
            config["needs_trust"] = "a pickle can run any code when loaded"
            return config
        if serialization != "skops":
            raise InvalidInput(
                f"the sklearn flavor saves with 'skops' (default) or 'pickle', "
                f"not {serialization!r}",
                serialization=serialization,
            )
        import skops.io as sio

        sio.dump(model, folder / SKOPS_FILE)
        config["file"] = SKOPS_FILE
        return config

    def load(self, folder: Path, config: dict[str, Any], *, trust: bool) -> Predictor:
        """Load the estimator; unreviewed types or pickle need ``trust``."""
        self.require()
        serialization = config.get("serialization", "skops")
        if serialization == "pickle":
            if not trust:
                raise UntrustedModel(
                    "this scikit-learn model is a pickle; loading it can run "
                    "any code: pass trust=True if you trust its source"
                )
            with open(folder / PICKLE_FILE, "rb") as handle:
                return SklearnPredictor(pickle.load(handle))  # noqa: S301 - trusted above
        if serialization != "skops":
            raise InvalidInput(f"unknown sklearn serialization {serialization!r}")
        import skops.io as sio

        path = folder / SKOPS_FILE
        untrusted = sio.get_untrusted_types(file=path)
        unreviewed = sorted(set(untrusted) - REVIEWED_TYPES)
        if unreviewed and not trust:
            raise UntrustedModel(
                f"this scikit-learn model holds types windlass has not reviewed: "
                f"{', '.join(unreviewed)}; constructing them may run code. Pass trust=True "
                "if you trust its source",
                types=unreviewed,
            )
        return SklearnPredictor(sio.load(path, trusted=untrusted))
