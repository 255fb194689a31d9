"""``windlass serve deployments:/NAME``: weighted A/B, sticky keys, shadow, live changes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LinearRegression, LogisticRegression

import windlass
from windlass.serving.metrics import ServerMetrics
from windlass_testing import ModelServerProcess


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServerProcess]:
    windlass.set_tracking_uri(None)  # whatever an earlier test pointed the SDK at
    monkeypatch.setenv("WINDLASS_PROJECT", "ab")
    monkeypatch.setenv("WINDLASS_SERVE_POLL_SECONDS", "0.3")
    monkeypatch.setenv("WINDLASS_PREDICTION_LOG_FLUSH_SECONDS", "0.2")
    frame = pd.DataFrame(np.random.default_rng(3).random((100, 3)), columns=["a", "b", "c"])
    for model in (
        LogisticRegression().fit(frame, (frame.a > 0.5).astype(int)),
        LinearRegression().fit(frame, frame.a),
    ):
        with windlass.start_run():
            windlass.log_model(
                model, name="model", input_example=frame[:2], registered_model_name="churn"
            )
    windlass.create_deployment(
        "churn-prod",
        [
            {"name": "champion", "model_uri": "models:/churn/1", "weight": 90},
            {"name": "challenger", "model_uri": "models:/churn/2", "weight": 10},
        ],
        shadow={"name": "candidate", "model_uri": "models:/churn/2"},
    )
    windlass.set_tracking_uri(None)
    server = ModelServerProcess("deployments:/churn-prod", log_dir=tmp_path)
    yield server
    server.stop()
    windlass.set_tracking_uri(None)


def _ask(server: ModelServerProcess, key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"X-Windlass-Key": key}
    response = httpx.post(
        f"{server.url}/predict", headers=headers, json={"inputs": [{"a": 0.25, "b": 0.5, "c": 0.5}]}
    )
    assert response.status_code == 200, response.text
    return response


def test_weights_keys_shadow_and_live_changes(deployment: ModelServerProcess) -> None:
    counts = Counter(
        _ask(deployment, f"customer-{i}").headers["x-windlass-variant"] for i in range(400)
    )
    assert set(counts) == {"champion", "challenger"}
    assert 0.04 < counts["challenger"] / 400 < 0.18, counts
    first = _ask(deployment, "customer-7").headers["x-windlass-variant"]
    assert all(
        _ask(deployment, "customer-7").headers["x-windlass-variant"] == first for _ in range(10)
    )
    answer = _ask(deployment).json()
    assert answer["variant"] in ("champion", "challenger")

    windlass.set_deployment_weights("churn-prod", {"champion": 0, "challenger": 100})
    # One random pick could land on the challenger under the old 90/10 split too: wait
    # until 30 keyed requests, of which the old split sent some to the champion, all do.
    deadline = time.monotonic() + 20
    while {_ask(deployment, f"k{i}").headers["x-windlass-variant"] for i in range(30)} != {
        "challenger"
    }:
        assert time.monotonic() < deadline, "the weight change never reached the server"
        time.sleep(0.2)
    assert _ask(deployment).json()["predictions"] == pytest.approx([0.25], abs=1e-6)

    windlass.rollback_deployment("churn-prod")
    deadline = time.monotonic() + 20
    while (
        Counter(_ask(deployment, f"r{i}").headers["x-windlass-variant"] for i in range(30))[
            "champion"
        ]
        == 0
    ):
        assert time.monotonic() < deadline, "the rollback never reached the server"
        time.sleep(0.2)

    deadline = time.monotonic() + 15
    while True:
        log = windlass.get_predictions("churn-prod")
        if log["shadow"].any():
            break
        assert time.monotonic() < deadline, "the shadow's answers were never logged"
        time.sleep(0.2)
    shadowed = log[log["shadow"]]
    assert set(shadowed["variant"]) == {"candidate"}
    assert set(shadowed["request_id"]) <= set(log[~log["shadow"]]["request_id"])
    metrics = httpx.get(f"{deployment.url}/metrics").text
    assert 'variant="challenger"' in metrics and 'variant="champion"' in metrics
    sampled = {family.name for family in text_string_to_metric_families(metrics) if family.samples}
    declared = {family.name for family in ServerMetrics().registry.collect()}
    assert declared <= sampled, f"declared but never updated: {sorted(declared - sampled)}"
