"""``windlass serve`` as a real process: /predict, V2, metrics, batching, logs, alias moves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import windlass
from windlass_testing import ModelServerProcess

FEATURES = [f"f{i}" for i in range(20)]


def _frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).random((rows, 20)), columns=FEATURES)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """``churn`` v1 (logistic) and v2 (identity: predicts f0), champion -> 1."""
    windlass.set_tracking_uri(None)  # whatever an earlier test pointed the SDK at
    monkeypatch.setenv("WINDLASS_PROJECT", "serving")
    monkeypatch.setenv("WINDLASS_SERVE_POLL_SECONDS", "0.3")
    monkeypatch.setenv("WINDLASS_PREDICTION_LOG_FLUSH_SECONDS", "0.2")
    frame = _frame()
    logistic = LogisticRegression().fit(frame, (frame.f0 > 0.5).astype(int))
    identity = LinearRegression().fit(frame, frame.f0)
    for model in (logistic, identity):
        with windlass.start_run():
            windlass.log_model(
                model, name="model", input_example=frame[:3], registered_model_name="churn"
            )
    windlass.set_alias("churn", "champion", 1)
    windlass.set_tracking_uri(None)
    yield {"logistic": logistic, "identity": identity, "frame": frame}
    windlass.set_tracking_uri(None)  # the next test has another WINDLASS_HOME


@pytest.fixture
def served(registry: dict[str, object], tmp_path: Path) -> Iterator[ModelServerProcess]:
    server = ModelServerProcess("models:/churn@champion", "--max-wait-ms", "2", log_dir=tmp_path)
    yield server
    server.stop()


def test_predict_accepts_records_columns_rows_and_csv(
    served: ModelServerProcess, registry: dict[str, object]
) -> None:
    frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
    expected = registry["logistic"].predict(frame[:4]).tolist()  # type: ignore[attr-defined]
    bodies = [
        {"inputs": frame[:4].to_dict("records")},
        {"inputs": frame[:4].to_dict("list")},
        {"inputs": frame[:4].to_numpy().tolist()},
    ]
    for body in bodies:
        response = httpx.post(f"{served.url}/predict", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == expected
        assert response.json()["version"] == "1"
        assert len(response.headers["x-request-id"]) == 32
    csv = frame[:4].to_csv(index=False)
    response = httpx.post(
        f"{served.url}/predict", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200 and response.json()["predictions"] == expected


def test_bad_requests_name_the_problem(
    served: ModelServerProcess, registry: dict[str, object]
) -> None:
    frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
    row = frame[:1].to_dict("records")[0]
    cases = [
        ({"inputs": [{k: v for k, v in row.items() if k != "f3"}]}, "f3"),
        ({"inputs": [{**row, "f3": "high"}]}, "f3"),
        ({"inputs": [{**row, "extra": 1}]}, "extra"),
        ({"rows": []}, "inputs"),
        ({"inputs": []}, "inputs"),
    ]
    for body, named in cases:
        response = httpx.post(f"{served.url}/predict", json=body)
        assert response.status_code == 400, response.text
        assert named in response.json()["message"]
    response = httpx.post(
        f"{served.url}/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_INPUT"
    response = httpx.post(
        f"{served.url}/predict", content=b"x", headers={"content-type": "application/xml"}
    )
    assert response.status_code == 400 and "content type" in response.json()["message"]
    assert httpx.get(f"{served.url}/nope").status_code == 404


def _exchange(port: int, raw: bytes, responses: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``raw`` on one connection and read ``responses`` HTTP/1.1 responses back."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        buffer = b""
        answers: list[tuple[int, dict[str, str], bytes]] = []
        while len(answers) < responses:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(answers)} responses"
                buffer += chunk
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
            length = int(headers["content-length"])
            while len(buffer) < length:
                buffer += sock.recv(65536)
            answers.append((int(lines[0].split()[1]), headers, buffer[:length]))
            buffer = buffer[length:]
        return answers


def test_scoring_route_speaks_http_properly(registry: dict[str, object], tmp_path: Path) -> None:
    """Pipelined and chunked requests, other methods, bodies over the limit: on a raw socket."""
    import orjson

    frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
    expected = registry["logistic"].predict(frame[:3]).tolist()  # type: ignore[attr-defined]
    server = ModelServerProcess(
        "models:/churn/1", log_dir=tmp_path, env={"WINDLASS_SERVE_MAX_BODY_BYTES": "20000"}
    )
    try:
        bodies = [orjson.dumps({"inputs": frame[i : i + 1].to_dict("records")}) for i in range(3)]
        raw = b"".join(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b)
            for b in bodies
        )
        answers = _exchange(server.port, raw, 3)  # three requests in one write, in order
        assert [orjson.loads(a[2])["predictions"] for a in answers] == [[p] for p in expected]
        assert all(a[0] == 200 and len(a[1]["x-request-id"]) == 32 for a in answers)

        body = bodies[0]
        chunked = (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n" % (10, body[:10])
            + b"%x\r\n%s\r\n" % (len(body) - 10, body[10:])
            + b"0\r\n\r\n"
        )
        ((status, _headers, answer),) = _exchange(server.port, chunked, 1)
        assert status == 200 and orjson.loads(answer)["predictions"] == [expected[0]]

        big = b"x" * 30_000  # streamed in chunks with no declared length: refused at 20,000
        oversize = (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"".join(
                b"%x\r\n%s\r\n" % (5000, big[i : i + 5000]) for i in range(0, len(big), 5000)
            )
            + b"0\r\n\r\n"
        )
        ((status, _headers, answer),) = _exchange(server.port, oversize, 1)
        assert status == 413 and orjson.loads(answer)["error_code"] == "PAYLOAD_TOO_LARGE"
        declared = httpx.post(
            f"{server.url}/predict", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413 and "20000" in declared.json()["message"]
        assert httpx.get(f"{server.url}/predict").status_code == 405
        assert httpx.post(f"{server.url}/predict", content=bodies[1]).json()["predictions"] == [
            expected[1]
        ]  # the server is fine afterwards
    finally:
        server.stop()


def test_open_inference_protocol_v2(
    served: ModelServerProcess, registry: dict[str, object]
) -> None:
    frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
    assert httpx.get(f"{served.url}/v2/health/live").status_code == 200
    assert httpx.get(f"{served.url}/v2/health/ready").status_code == 200
    assert httpx.get(f"{served.url}/v2/models/churn/ready").status_code == 200
    meta = httpx.get(f"{served.url}/v2/models/churn").json()
    assert meta["name"] == "churn" and meta["versions"] == ["1"]
    assert [i["name"] for i in meta["inputs"]] == FEATURES
    assert meta["inputs"][0]["datatype"] == "FP64"
    body = {
        "id": "req-1",
        "inputs": [
            {"name": name, "shape": [3], "datatype": "FP64", "data": frame[name][:3].tolist()}
            for name in FEATURES
        ],
    }
    response = httpx.post(f"{served.url}/v2/models/churn/infer", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["model_name"] == "churn" and out["id"] == "req-1"
    assert (
        out["outputs"][0]["data"]
        == registry["logistic"]
        .predict(  # type: ignore[attr-defined]
            frame[:3]
        )
        .tolist()
    )
    assert out["outputs"][0]["shape"] == [3]
    bad = {"inputs": [{"name": "f0", "shape": [2], "datatype": "FP64", "data": [1.0]}]}
    response = httpx.post(f"{served.url}/v2/models/churn/infer", json=bad)
    assert response.status_code == 400 and "f0" in response.json()["message"]
    assert httpx.get(f"{served.url}/v2/models/other").status_code == 404
    docs = httpx.get(f"{served.url}/openapi.json").json()
    schema = docs["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    records = schema["schema"]["properties"]["inputs"]["oneOf"][0]["items"]
    assert records["required"] == FEATURES
    assert "swagger" in httpx.get(f"{served.url}/docs").text.lower()


def test_metrics_count_requests_latency_and_batches(
    served: ModelServerProcess, registry: dict[str, object]
) -> None:
    frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
    for _ in range(3):
        httpx.post(f"{served.url}/predict", json={"inputs": frame[:1].to_dict("records")})
    httpx.post(f"{served.url}/predict", json={"inputs": [{}]})
    text = httpx.get(f"{served.url}/metrics").text
    assert (
        'windlass_requests_total{model="churn",status="ok",variant="default",'
        'version="1"} 3.0' in text
    )
    assert 'status="schema_mismatch"' in text
    assert "windlass_request_latency_seconds_bucket" in text
    assert "windlass_batch_size_bucket" in text and "windlass_queue_depth" in text


def test_concurrent_callers_get_their_own_rows(
    served: ModelServerProcess, registry: dict[str, object]
) -> None:
    windlass.set_alias("churn", "champion", 2)  # the identity model: prediction == f0
    deadline = time.monotonic() + 20
    while (
        httpx.post(f"{served.url}/predict", json={"inputs": _frame(1).to_dict("records")}).json()[
            "version"
        ]
        != "2"
    ):
        assert time.monotonic() < deadline, "the alias move never reached the server"
        time.sleep(0.2)
    base = _frame(1).to_dict("records")[0]

    async def caller(client: httpx.AsyncClient, i: int) -> tuple[int, list[float]]:
        rows = [{**base, "f0": i + r / 10} for r in range(1 + i % 3)]
        response = await client.post(f"{served.url}/predict", json={"inputs": rows})
        assert response.status_code == 200, response.text
        return i, response.json()["predictions"]

    async def main() -> list[tuple[int, list[float]]]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64), timeout=30) as client:
            return await asyncio.gather(*(caller(client, i) for i in range(400)))

    for i, predictions in asyncio.run(main()):
        assert predictions == pytest.approx([i + r / 10 for r in range(1 + i % 3)], abs=1e-6)
    text = httpx.get(f"{served.url}/metrics").text
    merged = [
        line
        for line in text.splitlines()
        if line.startswith("windlass_batch_size_bucket")
        and 'le="1.0"' in line
        and 'version="2"' in line
    ]
    count = [
        line
        for line in text.splitlines()
        if line.startswith("windlass_batch_size_count") and 'version="2"' in line
    ]
    assert merged and count
    assert float(merged[0].split()[-1]) < float(count[0].split()[-1]), "nothing was batched"


def test_predictions_and_feedback_are_logged_as_parquet(
    served: ModelServerProcess, registry: dict[str, object]
) -> None:
    frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
    ids = []
    for i in range(5):
        response = httpx.post(
            f"{served.url}/predict", json={"inputs": frame[i : i + 1].to_dict("records")}
        )
        ids.append(response.headers["x-request-id"])
    accepted = httpx.post(f"{served.url}/feedback", json={"request_id": ids[0], "label": 1})
    assert accepted.status_code == 202
    assert (
        httpx.post(f"{served.url}/feedback", json={"request_id": "x", "label": 1}).status_code
        == 400
    )
    deadline = time.monotonic() + 15
    while True:
        log = windlass.get_predictions("churn")
        if len(log) >= 5 and log["label"].notna().any():
            break
        assert time.monotonic() < deadline, f"prediction log incomplete: {len(log)} rows"
        time.sleep(0.2)
    assert set(ids) <= set(log["request_id"])
    first = log.set_index("request_id").loc[ids[0]]
    assert first["label"] == 1 and first["version"] == "1" and first["latency_ms"] > 0
    assert '"f0"' in first["inputs"]


def test_two_workers_share_one_metrics_view(registry: dict[str, object], tmp_path: Path) -> None:
    server = ModelServerProcess("models:/churn/1", "--workers", "2", log_dir=tmp_path)
    try:
        frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
        body = {"inputs": frame[:1].to_dict("records")}
        for _ in range(3):  # new connections: the kernel spreads them over both workers
            with httpx.Client() as client:
                for _ in range(10):
                    assert client.post(f"{server.url}/predict", json=body).status_code == 200
        totals = set()
        for _ in range(4):  # whichever worker answers /metrics reports both
            text = httpx.get(f"{server.url}/metrics").text
            line = next(
                line
                for line in text.splitlines()
                if line.startswith("windlass_requests_total{") and 'status="ok"' in line
            )
            totals.add(float(line.split()[-1]))
        assert totals == {30.0}
    finally:
        server.stop()


def _wait_not_ready(server: ModelServerProcess) -> httpx.Response:
    deadline = time.monotonic() + 20
    while (response := httpx.get(f"{server.url}/v2/health/ready")).status_code != 503:
        assert time.monotonic() < deadline, "the server never reported not ready"
        time.sleep(0.1)
    return response


def _problem_lines(server: ModelServerProcess) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if "not ready" in line]


def test_a_deleted_version_makes_the_server_not_ready_with_one_log_line(
    registry: dict[str, object], tmp_path: Path
) -> None:
    server = ModelServerProcess("models:/churn/2", log_dir=tmp_path)
    try:
        windlass.delete_model_version("churn", 2)
        answer = _wait_not_ready(server).json()
        assert answer["ready"] is False and "models:/churn/2" in answer["reason"], answer
        assert httpx.get(f"{server.url}/v2/models/churn/ready").status_code == 503
        time.sleep(2.0)  # several more polls (every 0.3 s): still one line, no traceback
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 503
        lines = _problem_lines(server)
        assert len(lines) == 1 and "models:/churn/2" in lines[0], lines
        assert "Traceback" not in server.log.read_text()
        frame: pd.DataFrame = registry["frame"]  # type: ignore[assignment]
        response = httpx.post(
            f"{server.url}/predict",  # whoever still asks is answered
            json={"inputs": frame[:1].to_dict("records")},
        )
        assert response.status_code == 200
    finally:
        server.stop()


def test_removed_artifacts_make_the_server_not_ready(
    registry: dict[str, object], tmp_path: Path
) -> None:
    import os
    import shutil

    server = ModelServerProcess("models:/churn/1", log_dir=tmp_path)
    try:
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
        shutil.rmtree(Path(os.environ["WINDLASS_HOME"]) / "artifacts" / "blobs")
        answer = _wait_not_ready(server).json()
        assert "artifact store no longer holds" in answer["reason"], answer
        time.sleep(1.5)
        assert len(_problem_lines(server)) == 1
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
