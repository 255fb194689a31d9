"""BentoML's side of the serving benchmark: the same model behind a BentoML 1.4 service.

Served with BentoML's own virtualenv (``.bench/bentoml-venv``, made by ``setup_peers.sh``)::

    BENCH_MODEL_PATH=model.joblib bentoml serve bentoml_service:Classifier \
        --working-dir bench/peers --host 127.0.0.1 --port 3000

``POST /predict`` takes ``{"inputs": [record, ...]}`` (BentoML validates it against the
annotation with pydantic) and answers ``{"predictions": [...]}``. The handler does what the
bare app does: a float array in the model's feature order, then ``predict``. BentoML's
defaults otherwise: one worker, a synchronous API run in its thread pool.
"""

from __future__ import annotations

import os
import warnings

import bentoml
import joblib
import numpy as np

warnings.filterwarnings("ignore", message="X does not have valid feature names")


@bentoml.service
class Classifier:
    """A scikit-learn LogisticRegression loaded from ``BENCH_MODEL_PATH`` (joblib)."""

    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])
        self.features = list(self.model.feature_names_in_)

    @bentoml.api
    def predict(self, inputs: list[dict[str, float]]) -> dict[str, list[int]]:
        """Return the model's predictions for a list of records."""
        x = np.array([[r[name] for name in self.features] for r in inputs], dtype=np.float64)
        return {"predictions": self.model.predict(x).tolist()}
