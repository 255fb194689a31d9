"""``/metrics`` of ``windlass serve``: every answer counted (500s too), every family fed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LinearRegression

import windlass
from windlass.serving.metrics import ServerMetrics
from windlass_testing import ModelServerProcess


def _declared_families() -> set[str]:
    """Return the name of every metric family a model server declares."""
    return {family.name for family in ServerMetrics().registry.collect()}


def _sampled(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"{url}/metrics").text
    return {
        family.name: [(s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


@pytest.fixture
def unsigned(tmp_path: Path) -> Iterator[ModelServerProcess]:
    """A linear model over 3 features saved without a signature: bad input fails inside it."""
    matrix = np.random.default_rng(2).random((20, 3))
    windlass.save_model(LinearRegression().fit(matrix, matrix[:, 0]), tmp_path / "bare")
    server = ModelServerProcess(
        str(tmp_path / "bare"),
        log_dir=tmp_path,
        env={"WINDLASS_PREDICTION_LOG_FLUSH_SECONDS": "0.2"},
    )
    yield server
    server.stop()


def test_a_model_failing_inside_predict_is_a_counted_500(unsigned: ModelServerProcess) -> None:
    assert (
        httpx.post(f"{unsigned.url}/predict", json={"inputs": [[0.1, 0.2, 0.3]]}).status_code == 200
    )
    before = _sampled(unsigned.url)
    for route, body in (
        ("/predict", {"inputs": [[0.1, 0.2]]}),  # 2 features, not 3
        (
            "/v2/models/bare/infer",
            {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [0.1, 0.2]}]},
        ),
    ):
        response = httpx.post(f"{unsigned.url}{route}", json=body)
        assert response.status_code == 500, response.text
        assert response.json()["error_code"] == "INTERNAL_ERROR"
    after = _sampled(unsigned.url)

    def failed(samples: dict[str, list[tuple[dict[str, str], float]]]) -> float:
        return sum(
            v
            for labels, v in samples.get("windlass_requests", [])
            if labels.get("status") == "internal_error"
        )

    assert failed(before) == 0 and failed(after) == 2
    text = httpx.get(f"{unsigned.url}/metrics").text
    count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("windlass_request_latency_seconds_count")
    )
    assert count == 3  # the good request and both failures
    assert "Traceback" in unsigned.log.read_text()  # the 500 is logged with its cause


def test_every_declared_family_has_samples_after_traffic(unsigned: ModelServerProcess) -> None:
    ids = []
    for _ in range(3):
        response = httpx.post(f"{unsigned.url}/predict", json={"inputs": [[0.1, 0.2, 0.3]]})
        assert response.status_code == 200
        ids.append(response.headers["x-request-id"])
    httpx.post(f"{unsigned.url}/predict", json={"inputs": [[0.1, 0.2]]})
    declared = _declared_families()
    assert len(declared) >= 8
    deadline = time.monotonic() + 15
    while True:
        sampled = _sampled(unsigned.url)
        empty = sorted(name for name in declared if not sampled.get(name))
        if not empty:
            break
        assert time.monotonic() < deadline, f"families never updated: {empty}"
        time.sleep(0.2)
    rows = sum(v for _labels, v in sampled["windlass_predicted_rows"])
    assert rows == 3
