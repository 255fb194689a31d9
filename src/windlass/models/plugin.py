"""The built-in model flavors, registered through the same hook as third-party flavors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from windlass.plugins import hookimpl


@hookimpl
def register_model_flavors(register: Callable[[Any], None]) -> None:
    """Register the built-in flavors, most specific first.

    XGBoost's and LightGBM's scikit-learn wrappers are also scikit-learn estimators, so
    their flavors are asked before the scikit-learn one; the Python-function flavor last.
    """
    from windlass.models.flavors.lightgbm import LightGBMFlavor
    from windlass.models.flavors.onnx import OnnxFlavor
    from windlass.models.flavors.pyfunc import PythonFlavor
    from windlass.models.flavors.sklearn import SklearnFlavor
    from windlass.models.flavors.torch import TorchFlavor
    from windlass.models.flavors.xgboost import XGBoostFlavor

    for flavor in (
        XGBoostFlavor(),
        LightGBMFlavor(),
        TorchFlavor(),
        OnnxFlavor(),
        SklearnFlavor(),
        PythonFlavor(),
    ):
        register(flavor)
