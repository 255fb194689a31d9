"""Autolog for scikit-learn: params, training metrics and the model, once per top-level fit."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import windlass


@pytest.fixture
def autologged() -> Iterator[None]:
    windlass.set_project("autolog")
    windlass.autolog()
    yield
    windlass.autolog(disable=True)
    while windlass.active_run() is not None:
        windlass.end_run()
    windlass.set_tracking_uri(None)


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})
    return frame, (frame.a > 0.5).astype(int)


def test_a_fit_in_a_run_logs_params_metrics_and_model(autologged: None) -> None:
    frame, label = _data()
    with windlass.start_run() as run:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(frame, label)
    logged = windlass.get_run(run.id)
    assert logged.params["logisticregression__C"] == "0.5"
    assert logged.params["steps"] == "list"
    assert logged.metrics["training_accuracy"].value == pytest.approx(model.score(frame, label))
    assert {"training_f1", "training_log_loss", "training_roc_auc"} <= set(logged.metrics)
    assert logged.tags["estimator_class"] == "sklearn.pipeline.Pipeline"
    loaded = windlass.load_model(f"runs:/{run.id}/model")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_a_fit_without_a_run_gets_its_own_run(autologged: None) -> None:
    frame, _ = _data()
    RandomForestRegressor(n_estimators=3, random_state=0).fit(frame, frame.b * 2)
    runs = windlass.search_runs(output_format="list")
    assert isinstance(runs, list) and len(runs) == 1
    assert runs[0].name == "RandomForestRegressor" and runs[0].status.value == "finished"
    assert {"training_mse", "training_r2"} <= set(runs[0].metrics)
    assert windlass.active_run() is None


def test_disable_restores_the_original_fit(autologged: None) -> None:
    windlass.autolog(disable=True)
    assert not getattr(LogisticRegression.fit, "_windlass_autolog", False)
    frame, label = _data()
    LogisticRegression().fit(frame, label)
    assert windlass.search_runs(output_format="list") == []


def test_a_failing_fit_fails_its_run_and_raises(autologged: None) -> None:
    with pytest.raises(ValueError, match="class"):
        LogisticRegression().fit(np.zeros((3, 2)), [0, 0, 0])
    runs = windlass.search_runs(output_format="list")
    assert isinstance(runs, list) and [r.status.value for r in runs] == ["failed"]
