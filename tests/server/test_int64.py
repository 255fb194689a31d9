"""64-bit integers in the tracking REST API, on a real server over SQLite and PostgreSQL.

JSON integers are unbounded and the stores hold signed 64-bit integers: an integer beyond
int64 is a 400 naming the field (never a 500, never a value that makes a later read fail),
and every read route of the project still answers 200 afterwards. Integer fields follow
JSON Schema's ``integer``: ``3.0`` is accepted as ``3``, ``3.5`` is not. The OpenAPI
document states the bounds as exact integers.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from windlass.artifacts.hashing import hash_bytes
from windlass.ids import new_id
from windlass_testing import POSTGRES_SKIP, ServerProcess, scratch_postgres_database

API = "/api/v1"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
BLOB = b"int64 test bytes"
MS = 1_700_000_000_000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("int64")
    if request.param == "sqlite":
        server = ServerProcess(f"sqlite:///{root / 'int64.db'}", str(root / "artifacts"))
        try:
            yield server.url
        finally:
            server.stop()
        return
    if os.environ.get("WINDLASS_TEST_POSTGRES_URL") is None:
        pytest.skip(POSTGRES_SKIP)
    with scratch_postgres_database("windlass_int64") as database:
        server = ServerProcess(database, str(Path(root) / "artifacts"))
        try:
            yield server.url
        finally:
            server.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), (
        f"{response.request.method} {response.request.url}: {response.text[:500]}"
    )
    return response.json() if response.content else None


def walk(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def test_openapi_states_integer_bounds_exactly(url: str) -> None:
    text = httpx.get(f"{url}/openapi.json", timeout=30).text
    assert "e+18" not in text and "e+19" not in text
    doc = json.loads(text)
    for where, node in walk(doc):
        # No whole number beyond a float's 53 bits is written as a float anywhere.
        assert not (type(node) is float and node.is_integer() and abs(node) >= 2**53), where
        if isinstance(node, dict) and node.get("type") == "integer":
            # Bounds under JSON Schema's names, not pydantic's (a validator order quirk).
            assert not {"ge", "le", "gt", "lt"} & set(node), (where, node)
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                assert type(node.get(key, 0)) is int, (where, key, node[key])
    schemas = doc["components"]["schemas"]
    steps = schemas["MetricBatchBody"]["properties"]["steps"]["items"]
    assert (steps["minimum"], steps["maximum"]) == (INT64_MIN, INT64_MAX)
    timestamps = schemas["MetricBatchBody"]["properties"]["timestamps"]["items"]
    assert (timestamps["minimum"], timestamps["maximum"]) == (0, INT64_MAX)
    assert schemas["ArtifactEntryBody"]["properties"]["size"]["maximum"] == INT64_MAX


class Project:
    """A project with a run holding a metric, a param, an artifact and an input."""

    def __init__(self, client: httpx.Client) -> None:
        self.name = f"int64-{uuid.uuid4().hex[:8]}"
        self.id = ok(client.post(f"{API}/projects", json={"name": self.name}))["id"]
        self.run_id = self.new_run(client)
        ok(client.post(f"{API}/runs/{self.run_id}/params", json={"params": {"lr": "0.1"}}))
        ok(
            client.post(
                f"{API}/metrics",
                json={
                    "id": new_id(),
                    "run_ids": [self.run_id] * 2,
                    "keys": ["loss"] * 2,
                    "values": [1.0, 0.5],
                    "steps": [INT64_MIN, INT64_MAX],
                    "timestamps": [0, INT64_MAX],
                },
            )
        )
        assert client.put(f"{API}/blobs/{hash_bytes(BLOB)}", content=BLOB).is_success
        ok(
            client.post(
                f"{API}/runs/{self.run_id}/artifacts",
                json={
                    "entries": [
                        {"path": "model/w.bin", "digest": hash_bytes(BLOB), "size": len(BLOB)}
                    ]
                },
            )
        )
        ok(
            client.post(
                f"{API}/runs/{self.run_id}/inputs",
                json={"inputs": [{"name": "train", "digest": "abc", "rows": INT64_MAX}]},
            )
        )

    def new_run(self, client: httpx.Client, **body: Any) -> str:
        return str(ok(client.post(f"{API}/runs", json={"project_id": self.id, **body}))["id"])

    def read_routes(self, client: httpx.Client) -> list[str]:
        """Every GET route of the OpenAPI document this project (and its run) can fill."""
        values = {"project": self.name, "name_or_id": self.name, "run_id": self.run_id}
        doc = ok(client.get("/openapi.json"))
        urls = []
        for path, operations in doc["paths"].items():
            operation = operations.get("get")
            # Sign-in steps (/auth/...) read no stored object (and answer 404 with OIDC off).
            if operation is None or not path.startswith(API) or path.startswith(f"{API}/auth/"):
                continue
            params = operation.get("parameters", [])
            needed = {p["name"] for p in params if p["in"] == "path" or p.get("required")}
            if not needed <= {*values, "key", "path"} or "{" in path.replace(
                "{project}", ""
            ).replace("{name_or_id}", "").replace("{run_id}", ""):
                continue
            url = path
            for name, value in values.items():
                url = url.replace("{" + name + "}", value)
            query = {"key": "loss"} if "key" in needed else {}
            if "path" in needed:
                query["path"] = "model/w.bin"
            urls.append(
                url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            )
        return urls

    def assert_readable(self, client: httpx.Client) -> None:
        urls = self.read_routes(client)
        assert len(urls) >= 8, urls
        for url in urls:
            ok(client.get(url))
        ok(client.post(f"{API}/runs/search", json={"projects": [self.id]}))
        history = ok(client.get(f"{API}/runs/{self.run_id}/metric-history", params={"key": "loss"}))
        assert history["steps"] == [INT64_MIN, INT64_MAX]


BEYOND = [
    pytest.param("POST", "/runs", {"start_time": 2**63}, "start_time", id="run-start"),
    pytest.param("POST", "/runs", {"start_time": 2**64 + 0.0}, "start_time", id="run-start-float"),
    pytest.param("POST", "/runs", {"source": {"pid": 2**63}}, "pid", id="run-pid"),
    pytest.param("PATCH", "/runs/{run}", {"end_time": 2**63}, "end_time", id="run-end"),
    pytest.param("POST", "/runs/{run}/heartbeat", {"at": 2**70}, "at", id="heartbeat"),
    pytest.param(
        "POST", "/runs/fail-stale", {"heartbeat_before": 2**63}, "heartbeat_before", id="fail-stale"
    ),
    pytest.param("POST", "/metrics", {"steps": [1, 2**63]}, "steps", id="step-over"),
    pytest.param("POST", "/metrics", {"steps": [1, -(2**63) - 1]}, "steps", id="step-under"),
    pytest.param("POST", "/metrics", {"steps": [1, 1e19]}, "steps", id="step-float-over"),
    pytest.param("POST", "/metrics", {"timestamps": [1, 2**63]}, "timestamps", id="timestamp"),
    pytest.param("POST", "/metrics", {"steps": [1, 1.5]}, "steps", id="step-fraction"),
    pytest.param(
        "POST",
        "/runs/{run}/artifacts",
        {"entries": [{"path": "big", "digest": hash_bytes(BLOB), "size": 2**64}]},
        "size",
        id="size",
    ),
    pytest.param(
        "POST",
        "/runs/{run}/inputs",
        {"inputs": [{"name": "d", "digest": "x", "rows": 2**63}]},
        "rows",
        id="rows",
    ),
    pytest.param("POST", "/projects", {"created_at": 2**63}, "created_at", id="project"),
    pytest.param(
        "POST", "/runs/search", {"max_results": 2**64}, "max_results", id="search-max-results"
    ),
]


@pytest.mark.parametrize(("method", "path", "change", "field"), BEYOND)
def test_integers_beyond_int64_are_400_naming_the_field(
    url: str, method: str, path: str, change: dict[str, Any], field: str
) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        project = Project(client)
        run_id = project.new_run(client)
        bodies = {
            "/runs": {"project_id": project.id},
            "/metrics": {
                "id": new_id(),
                "run_ids": [run_id] * 2,
                "keys": ["m"] * 2,
                "values": [1.0, 2.0],
                "steps": [1, 2],
                "timestamps": [MS, MS],
            },
            "/projects": {"name": project.name},
            "/runs/search": {"projects": [project.id]},
        }
        body = {**bodies.get(path, {}), **change}
        response = client.request(method, API + path.replace("{run}", run_id), json=body)
        assert response.status_code == 400, response.text[:500]
        error = response.json()
        assert error["error_code"] == "INVALID_INPUT"
        assert field in error["message"], error
        project.assert_readable(client)
        assert ok(client.get(f"{API}/runs/{run_id}"))["metrics"] == {}


def test_whole_floats_are_integers(url: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        project = Project(client)
        run_id = project.new_run(client, start_time=float(MS))
        run = ok(client.get(f"{API}/runs/{run_id}"))
        assert run["start_time"] == MS and type(run["start_time"]) is int
        ok(
            client.post(
                f"{API}/metrics",
                json={
                    "id": new_id(),
                    "run_ids": [run_id] * 2,
                    "keys": ["m"] * 2,
                    "values": [1.0, 2.0],
                    "steps": [1.0, -2.0],
                    "timestamps": [float(MS), 0.0],
                },
            )
        )
        history = ok(client.get(f"{API}/runs/{run_id}/metric-history", params={"key": "m"}))
        assert history["steps"] == [-2, 1]
        ok(client.post(f"{API}/runs/{run_id}/heartbeat", json={"at": float(MS + 1)}))
        found = ok(
            client.post(f"{API}/runs/search", json={"projects": [project.id], "max_results": 2.0})
        )
        assert len(found["runs"]) == 2
        project.assert_readable(client)
