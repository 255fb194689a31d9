"""Bad input against a real ``windlass server`` process.

Every refusal must be a 4xx response whose JSON body has ``error_code`` and ``message``
(never a 500, never a traceback), and no bad request may change data already stored: each
test checks a seeded run (params, tags, metrics, an artifact and its blob) afterwards.
"""

from __future__ import annotations

import base64
import json
import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from windlass.artifacts.hashing import hash_bytes
from windlass.ids import new_id

API = "/api/v1"
UNKNOWN_RUN = "0" * 32
INT64_MAX = 2**63 - 1
# One TLS context for every client: building one per client costs ~35 ms (CA bundle).
TLS = ssl.create_default_context()


def client_of(srv: Any) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=60, verify=TLS)


@dataclass
class Seed:
    """Data stored before any bad request; it must survive all of them."""

    project_id: str
    project_name: str
    run_id: str
    blob: bytes
    digest: str

    params = {"lr": "0.1", "optimizer": "adam"}
    tags = {"team": "vision", "stage": "dev"}
    steps = list(range(50))

    @staticmethod
    def value(step: int) -> float:
        return step / 10


def refused(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is the error body with this status (and error code); return it."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: expected {status}, got "
        f"{response.status_code}: {response.text[:500]}"
    )
    if response.request.method == "HEAD":
        return {}
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error_code"), str) and body["error_code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("details", {}), dict), body
    assert "Traceback" not in body["message"]
    if code is not None:
        assert body["error_code"] == code, body
    return body


def refused_as_one_of(response: httpx.Response, allowed: dict[int, str]) -> dict[str, Any]:
    """Assert ``response`` is one of the ``{status: error_code}`` refusals; return its body."""
    status = response.status_code if response.status_code in allowed else min(allowed)
    return refused(response, status, allowed[status])


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text[:500]
    return response.json() if response.content else None


def token(position: Any) -> str:
    """Return a page token made by hand (the server's tokens are base64url JSON)."""
    raw = json.dumps(position).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def metric_batch(
    run_ids: list[str], key: str, steps: list[int], **overrides: Any
) -> dict[str, Any]:
    body = {
        "id": new_id(),
        "run_ids": run_ids,
        "keys": [key] * len(run_ids),
        "values": [float(s) for s in steps],
        "steps": steps,
        "timestamps": [1_700_000_000_000 + s for s in steps],
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
def seed(server: Any) -> Seed:
    """A project and a run with params, tags, metrics and one artifact file."""
    with client_of(server) as client:
        name = f"bad-input-{uuid.uuid4().hex[:8]}"
        project = ok(client.post(f"{API}/projects", json={"name": name}))
        run = ok(
            client.post(
                f"{API}/runs",
                json={"project_id": project["id"], "name": "seeded", "tags": Seed.tags},
            )
        )
        ok(client.post(f"{API}/runs/{run['id']}/params", json={"params": Seed.params}))
        steps = Seed.steps
        ok(
            client.post(
                f"{API}/metrics",
                json={
                    "id": new_id(),
                    "run_ids": [run["id"]] * len(steps),
                    "keys": ["loss"] * len(steps),
                    "values": [Seed.value(s) for s in steps],
                    "steps": steps,
                    "timestamps": [1_700_000_000_000 + s for s in steps],
                },
            )
        )
        blob = b"seeded model weights " * 100
        digest = hash_bytes(blob)
        ok(client.put(f"{API}/blobs/{digest}", content=blob))
        ok(
            client.post(
                f"{API}/runs/{run['id']}/artifacts",
                json={
                    "entries": [{"path": "model/weights.bin", "digest": digest, "size": len(blob)}]
                },
            )
        )
    return Seed(project["id"], name, run["id"], blob, digest)


@pytest.fixture
def api(server: Any, seed: Seed) -> Iterator[httpx.Client]:
    """A client of the session server; after the test, the seeded data must be intact."""
    with client_of(server) as client:
        yield client
    with client_of(server) as fresh:
        assert_intact(fresh, seed)


def assert_intact(client: httpx.Client, seed: Seed) -> None:
    assert ok(client.get("/health"))["status"] == "ok"
    project = ok(client.get(f"{API}/projects/{seed.project_name}"))
    assert project["id"] == seed.project_id
    run = ok(client.get(f"{API}/runs/{seed.run_id}"))
    assert run["project_id"] == seed.project_id
    assert run["name"] == "seeded"
    assert run["status"] == "running"
    assert run["deleted"] is False
    assert run["params"] == Seed.params
    assert run["tags"] == Seed.tags
    assert set(run["metrics"]) == {"loss"}
    history = ok(client.get(f"{API}/runs/{seed.run_id}/metric-history", params={"key": "loss"}))
    assert history["steps"] == Seed.steps
    assert history["values"] == [Seed.value(s) for s in Seed.steps]
    walk = ok(client.get(f"{API}/runs/{seed.run_id}/artifacts/walk"))
    assert walk["entries"] == [
        {"path": "model/weights.bin", "digest": seed.digest, "size": len(seed.blob)}
    ]
    blob = client.get(f"{API}/blobs/{seed.digest}")
    assert blob.status_code == 200
    assert blob.content == seed.blob


def scratch_run(client: httpx.Client, seed: Seed, **body: Any) -> str:
    """Create a throw-away run in the seeded project; return its id."""
    return str(ok(client.post(f"{API}/runs", json={"project_id": seed.project_id, **body}))["id"])


def history(client: httpx.Client, run_id: str, key: str) -> list[int]:
    body = ok(client.get(f"{API}/runs/{run_id}/metric-history", params={"key": key}))
    return list(body["steps"])


# -- malformed bodies and wrong types -------------------------------------------------------
JSON = {"content-type": "application/json"}

MALFORMED = [
    pytest.param("POST", "/runs", b"{bad json", id="runs-broken-json"),
    pytest.param("POST", "/runs", b"", id="runs-empty-body"),
    pytest.param("POST", "/runs", b"[1, 2]", id="runs-list-body"),
    pytest.param("POST", "/runs", b'"text"', id="runs-string-body"),
    pytest.param("POST", "/runs", b"\xff\xfe\x00garbage", id="runs-not-utf8"),
    pytest.param("POST", "/runs", b'{"project_id": "x",}', id="runs-trailing-comma"),
    pytest.param("POST", "/projects", b'{"name": "x"', id="projects-truncated"),
    pytest.param("POST", "/metrics", b"{", id="metrics-truncated"),
    pytest.param("POST", "/metrics", b"null", id="metrics-null"),
    pytest.param("POST", "/runs/search", b"[]", id="search-list"),
    pytest.param("POST", "/runs/{run}/params", b"{'params': {}}", id="params-single-quotes"),
    pytest.param("POST", "/runs/{run}/tags", b'{"tags": {"a": "b"}} extra', id="tags-extra"),
    pytest.param("PATCH", "/runs/{run}", b"{{}}", id="patch-braces"),
    pytest.param("POST", "/runs/{run}/artifacts", b'{"entries": [', id="artifacts-truncated"),
]


@pytest.mark.parametrize(("method", "path", "content"), MALFORMED)
def test_malformed_json_is_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, content: bytes
) -> None:
    path = API + path.format(run=seed.run_id)
    refused(api.request(method, path, content=content, headers=JSON), 400, "INVALID_INPUT")


def test_json_sent_as_text_plain_is_refused(api: httpx.Client, seed: Seed) -> None:
    body = json.dumps({"project_id": seed.project_id}).encode()
    refused(api.post(f"{API}/runs", content=body, headers={"content-type": "text/plain"}), 400)


WRONG_TYPES: list[Any] = [
    ("POST", "/projects", {"name": 5}),
    ("POST", "/projects", {"name": ["a"]}),
    ("POST", "/projects", {"name": {"a": 1}}),
    ("POST", "/projects", {}),
    ("POST", "/runs", {"project_id": "{project}", "start_time": "yesterday"}),
    ("POST", "/runs", {"project_id": "{project}", "start_time": -1}),
    ("POST", "/runs", {"project_id": "{project}", "start_time": 1.5}),
    ("POST", "/runs", {"project_id": "{project}", "tags": ["a", "b"]}),
    ("POST", "/runs", {"project_id": "{project}", "tags": {"a": 1}}),
    ("POST", "/runs", {"project_id": "{project}", "name": 5}),
    ("POST", "/runs", {"project_id": "{project}", "source": "laptop"}),
    ("POST", "/runs", {"project_id": "{project}", "source": {"pid": "one"}}),
    ("POST", "/runs", {"project_id": "{project}", "source": {"system": []}}),
    ("POST", "/runs", {"project_id": ["{project}"]}),
    ("POST", "/runs", {"project_id": "{project}", "unexpected": True}),
    ("POST", "/runs", {"project_id": "{project}", "run_id": 12345}),
    ("POST", "/runs", {"project_id": "{project}", "run_id": "short"}),
    ("POST", "/runs", {"name": "no project"}),
    ("PATCH", "/runs/{run}", {"status": "exploded"}),
    ("PATCH", "/runs/{run}", {"status": 1}),
    ("PATCH", "/runs/{run}", {"end_time": "later"}),
    ("PATCH", "/runs/{run}", {"end_time": -5}),
    ("PATCH", "/runs/{run}", {"name": ["x"]}),
    ("POST", "/runs/{run}/heartbeat", {"at": "now"}),
    ("POST", "/runs/{run}/heartbeat", {"at": -1}),
    ("POST", "/runs/fail-stale", {"heartbeat_before": "a while ago"}),
    ("POST", "/runs/fail-stale", {}),
    ("POST", "/runs/{run}/params", {"params": ["lr"]}),
    ("POST", "/runs/{run}/params", {"params": "lr=0.2"}),
    ("POST", "/runs/{run}/params", {"params": {"lr2": 0.2}}),
    ("POST", "/runs/{run}/params", {"params": {"lr2": None}}),
    ("POST", "/runs/{run}/params", {}),
    ("POST", "/runs/{run}/tags", {"tags": {"team": None}}),
    ("POST", "/runs/{run}/tags", {"tags": [["team", "x"]]}),
    ("POST", "/runs/search", {"max_results": "lots"}),
    ("POST", "/runs/search", {"projects": "{project}"}),
    ("POST", "/runs/search", {"filter": 5}),
    ("POST", "/runs/search", {"filter": {"metrics.loss": 1}}),
    ("POST", "/runs/search", {"order_by": "metrics.loss"}),
    ("POST", "/runs/search", {"view": "everything"}),
    ("POST", "/runs/search", {"page_token": 7}),
    (
        "POST",
        "/metrics",
        {
            "id": new_id(),
            "run_ids": "{run}",
            "keys": ["x"],
            "values": [1.0],
            "steps": [1],
            "timestamps": [1],
        },
    ),
    (
        "POST",
        "/metrics",
        {
            "id": new_id(),
            "run_ids": ["{run}"],
            "keys": {"x": 1},
            "values": [1.0],
            "steps": [1],
            "timestamps": [1],
        },
    ),
    (
        "POST",
        "/metrics",
        {
            "id": new_id(),
            "run_ids": ["{run}"],
            "keys": ["x"],
            "values": ["one"],
            "steps": [1],
            "timestamps": [1],
        },
    ),
    (
        "POST",
        "/metrics",
        {
            "id": new_id(),
            "run_ids": ["{run}"],
            "keys": ["x"],
            "values": [None],
            "steps": [1],
            "timestamps": [1],
        },
    ),
    (
        "POST",
        "/metrics",
        {
            "id": new_id(),
            "run_ids": ["{run}"],
            "keys": ["x"],
            "values": [1.0],
            "steps": [1.5],
            "timestamps": [1],
        },
    ),
    (
        "POST",
        "/metrics",
        {"id": new_id(), "run_ids": ["{run}"], "keys": ["x"], "values": [1.0], "steps": [1]},
    ),
    (
        "POST",
        "/metrics",
        {"run_ids": ["{run}"], "keys": ["x"], "values": [1.0], "steps": [1], "timestamps": [1]},
    ),
    (
        "POST",
        "/metrics",
        {
            "id": 7,
            "run_ids": ["{run}"],
            "keys": ["x"],
            "values": [1.0],
            "steps": [1],
            "timestamps": [1],
        },
    ),
    ("POST", "/runs/{run}/artifacts", {"entries": {"path": "a"}}),
    (
        "POST",
        "/runs/{run}/artifacts",
        {"entries": [{"path": "a", "digest": "{digest}", "size": "big"}]},
    ),
    (
        "POST",
        "/runs/{run}/artifacts",
        {"entries": [{"path": "a", "digest": "{digest}", "size": -1}]},
    ),
    ("POST", "/runs/{run}/artifacts", {"entries": [{"path": "a", "digest": "abc", "size": 1}]}),
    ("POST", "/runs/{run}/artifacts", {"entries": [{"path": "a", "size": 1}]}),
]


def fill(value: Any, seed: Seed) -> Any:
    """Replace ``{run}``, ``{project}`` and ``{digest}`` in a request template."""
    if isinstance(value, str):
        return value.format(run=seed.run_id, project=seed.project_id, digest=seed.digest)
    if isinstance(value, list):
        return [fill(v, seed) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, seed) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    WRONG_TYPES,
    ids=[f"{m} {p} {json.dumps(b)[:60]}" for m, p, b in WRONG_TYPES],
)
def test_wrong_types_are_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, body: dict[str, Any]
) -> None:
    response = api.request(method, API + fill(path, seed), json=fill(body, seed))
    error = refused(response, 400)
    assert error["error_code"] in ("INVALID_INPUT", "UNSAFE_PATH")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/runs", {"project_id": "{project}", "start_time": 2**64}),
        ("POST", "/runs", {"project_id": "{project}", "start_time": INT64_MAX + 1}),
        ("POST", "/runs", {"project_id": "{project}", "source": {"pid": 2**70}}),
        # Free-form JSON nested in the run's source (found by the fuzzer: it was a 500).
        (
            "POST",
            "/runs",
            {"project_id": "{project}", "source": {"system": {"a": [{"b": 2**110}]}}},
        ),
        ("PATCH", "/runs/{run}", {"end_time": 2**64}),
        ("POST", "/runs/{run}/heartbeat", {"at": 2**63}),
        ("POST", "/runs/fail-stale", {"heartbeat_before": 2**64}),
        (
            "POST",
            "/runs/{run}/artifacts",
            {"entries": [{"path": "big", "digest": "{digest}", "size": 2**70}]},
        ),
    ],
)
def test_integers_beyond_64_bits_are_refused(
    api: httpx.Client, seed: Seed, method: str, path: str, body: dict[str, Any]
) -> None:
    # JSON integers are unbounded; the stores hold 64-bit integers. Too large is bad input
    # (400), not an overflow deep in the database driver (500).
    runs_before = ok(api.post(f"{API}/runs/search", json={"projects": [seed.project_id]}))
    refused(api.request(method, API + fill(path, seed), json=fill(body, seed)), 400)
    runs_after = ok(api.post(f"{API}/runs/search", json={"projects": [seed.project_id]}))
    assert [r["id"] for r in runs_after["runs"]] == [r["id"] for r in runs_before["runs"]]


# -- unknown and malformed ids --------------------------------------------------------------
RUN_ROUTES = [
    ("GET", "/runs/{id}", None, None),
    ("PATCH", "/runs/{id}", {"status": "finished"}, None),
    ("DELETE", "/runs/{id}", None, None),
    ("POST", "/runs/{id}/restore", None, None),
    ("POST", "/runs/{id}/heartbeat", {}, None),
    ("POST", "/runs/{id}/params", {"params": {"a": "1"}}, None),
    ("POST", "/runs/{id}/tags", {"tags": {"a": "1"}}, None),
    ("DELETE", "/runs/{id}/tags", None, {"key": "a"}),
    ("GET", "/runs/{id}/metric-history", None, {"key": "loss"}),
    ("GET", "/runs/{id}/artifacts", None, None),
    ("GET", "/runs/{id}/artifacts/walk", None, None),
    ("GET", "/runs/{id}/artifacts/entry", None, {"path": "model/weights.bin"}),
    (
        "POST",
        "/runs/{id}/artifacts",
        {"entries": [{"path": "x.bin", "digest": "{digest}", "size": 1}]},
        None,
    ),
]


@pytest.mark.parametrize(
    "run_id",
    [
        UNKNOWN_RUN,
        "f" * 32,
        "not-a-run-id",
        "z" * 32,
        "0" * 31,
        "0" * 33,
        "%20",
        "..",
        "0x" + "0" * 30,
        "-" + "1" * 31,
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    RUN_ROUTES,
    ids=[f"{m} {p}" for m, p, _b, _q in RUN_ROUTES],
)
def test_unknown_run_ids_are_not_found(
    api: httpx.Client, seed: Seed, run_id: str, method: str, path: str, body: Any, params: Any
) -> None:
    url = API + path.replace("{id}", run_id)
    response = api.request(method, url, json=fill(body, seed), params=params)
    if run_id == "..":
        # The client normalizes the dot segment away: a different route, still no run.
        assert 400 <= response.status_code < 500
        refused(response, response.status_code)
        return
    error = refused(response, 404, "RUN_NOT_FOUND")
    assert error["details"]["run_id"] == run_id.replace("%20", " ")


@pytest.mark.parametrize(
    "run_id",
    [
        "0x" + "1" * 30,
        "-" + "1" * 31,
        "+" + "1" * 31,
        "1_" + "1" * 30,
        " " + "1" * 31,
        "1" * 31 + "\n",
        "g" * 32,
        "0" * 31 + "é",
    ],
)
def test_malformed_run_ids_cannot_be_created(api: httpx.Client, seed: Seed, run_id: str) -> None:
    # Ids are 32 hex characters; anything Python's int(x, 16) happens to accept is not one.
    response = api.post(f"{API}/runs", json={"project_id": seed.project_id, "run_id": run_id})
    refused(response, 400, "INVALID_INPUT")
    refused(api.get(f"{API}/runs/{quote(run_id, safe='')}"), 404, "RUN_NOT_FOUND")


def test_malformed_parent_run_id_is_refused(api: httpx.Client, seed: Seed) -> None:
    refused(
        api.post(f"{API}/runs", json={"project_id": seed.project_id, "parent_run_id": "nope"}),
        400,
        "INVALID_INPUT",
    )
    refused(
        api.post(f"{API}/runs", json={"project_id": seed.project_id, "parent_run_id": UNKNOWN_RUN}),
        404,
        "RUN_NOT_FOUND",
    )


def test_unknown_project(api: httpx.Client, seed: Seed) -> None:
    error = refused(api.get(f"{API}/projects/no-such-project"), 404, "PROJECT_NOT_FOUND")
    assert "no-such-project" in error["message"]
    refused(api.get(f"{API}/projects/{UNKNOWN_RUN}"), 404, "PROJECT_NOT_FOUND")
    # A project id that is not even an id may be refused as bad input instead.
    refused_as_one_of(
        api.post(f"{API}/runs", json={"project_id": "no-such-project"}),
        {400: "INVALID_INPUT", 404: "PROJECT_NOT_FOUND"},
    )
    refused(api.post(f"{API}/runs", json={"project_id": UNKNOWN_RUN}), 404, "PROJECT_NOT_FOUND")
    refused(
        api.post(f"{API}/runs/search", json={"projects": [seed.project_id, "no-such-project"]}),
        404,
        "PROJECT_NOT_FOUND",
    )


@pytest.mark.parametrize(
    "name",
    ["", "../etc", "/abs", "has space", "-dash-first", "a" * 257, "tab\tname", "semi;colon", "ünï"],
)
def test_invalid_project_names_are_refused(api: httpx.Client, name: str) -> None:
    refused(api.post(f"{API}/projects", json={"name": name}), 400, "INVALID_INPUT")
    listed = ok(api.get(f"{API}/projects", params={"max_results": 10_000}))
    assert name not in {p["name"] for p in listed["projects"]}


def test_unknown_routes_and_methods(api: httpx.Client, seed: Seed) -> None:
    refused(api.get(f"{API}/nothing-here"), 404, "NOT_FOUND")
    refused(api.post(f"{API}/runs/{seed.run_id}/nothing"), 404, "NOT_FOUND")
    refused(api.put(f"{API}/runs/{seed.run_id}", json={}), 405, "METHOD_NOT_ALLOWED")
    refused(api.delete(f"{API}/projects/{seed.project_name}"), 405, "METHOD_NOT_ALLOWED")


def test_state_conflicts(api: httpx.Client, seed: Seed) -> None:
    refused(api.post(f"{API}/runs/{seed.run_id}/restore"), 409, "INVALID_STATE")
    run_id = scratch_run(api, seed)
    ok(api.delete(f"{API}/runs/{run_id}"))
    refused(
        api.post(f"{API}/runs/{run_id}/params", json={"params": {"a": "1"}}), 409, "INVALID_STATE"
    )
    refused(api.post(f"{API}/runs/{run_id}/tags", json={"tags": {"a": "1"}}), 409, "INVALID_STATE")
    refused(api.post(f"{API}/metrics", json=metric_batch([run_id], "x", [1])), 409, "INVALID_STATE")
    assert history(api, run_id, "x") == []
    run = ok(api.get(f"{API}/runs/{run_id}"))
    assert run["params"] == {} and run["tags"] == {}


# -- search: filters, page tokens, max_results ----------------------------------------------
@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("metrics.loss >", 14),
        ("bogus.x = 1", 0),
        ("metrics.loss = 'abc", 15),
        ("metrics.loss like 'a%'", 13),
        ("params.lr < 5", 12),
        ("(metrics.loss = 1", 17),
        ("metrics.loss = 1 )", 17),
        ("metrics.loss ~ 1", 13),
        ("attributes.nope = 'x'", 11),
        ("metrics.loss = 1 and", 20),
        ("metrics.loss in ()", 17),
        ("params.lr is nul", 13),
    ],
)
def test_bad_filters_name_the_position(
    api: httpx.Client, seed: Seed, text: str, position: int
) -> None:
    response = api.post(f"{API}/runs/search", json={"projects": [seed.project_id], "filter": text})
    error = refused(response, 400, "INVALID_FILTER")
    assert error["details"]["position"] == position
    assert error["details"]["filter"] == text
    assert f"position {position}" in error["message"]


@pytest.mark.parametrize(
    ("clause", "position"),
    [
        ("metrics.loss sideways", 13),
        ("bogus.loss", 0),
        ("", 0),
        ("metrics.loss asc desc", 17),
    ],
)
def test_bad_order_by_names_the_position(
    api: httpx.Client, seed: Seed, clause: str, position: int
) -> None:
    response = api.post(
        f"{API}/runs/search",
        json={"projects": [seed.project_id], "order_by": ["metrics.loss", clause]},
    )
    error = refused(response, 400, "INVALID_FILTER")
    assert error["details"]["position"] == position


@pytest.mark.parametrize(
    "text",
    [
        "(" * 2000 + "metrics.loss = 1" + ")" * 2000,
        "not " * 4000 + "metrics.loss = 1",
    ],
)
def test_deeply_nested_filters_are_not_a_server_error(
    api: httpx.Client, seed: Seed, text: str
) -> None:
    response = api.post(f"{API}/runs/search", json={"projects": [seed.project_id], "filter": text})
    if response.status_code != 200:
        # Nested deeper than MAX_DEPTH: a documented limit, and where it was reached.
        error = refused(response, 400, "LIMIT_EXCEEDED")
        assert isinstance(error["details"]["position"], int)
        assert "MAX_DEPTH" in error["message"]


def test_overlong_filter_is_refused(api: httpx.Client, seed: Seed) -> None:
    text = " or ".join(["metrics.loss = 1"] * 2000)
    error = refused(api.post(f"{API}/runs/search", json={"filter": text}), 400, "LIMIT_EXCEEDED")
    assert "MAX_FILTER_LENGTH" in error["message"]


@pytest.mark.parametrize(
    ("search", "limit"),
    [
        ({"filter": " and ".join(f"metrics.m{i} > 1" for i in range(5000))}, "MAX_FILTER_LENGTH"),
        ({"filter": "(" * 1000 + "metrics.loss > 1" + ")" * 1000}, "MAX_DEPTH"),
        ({"filter": " and ".join(f"metrics.m{i} > 1" for i in range(11))}, "MAX_JOINS"),
        ({"order_by": [f"metrics.m{i}" for i in range(100)]}, "MAX_ORDER_BY_KEYS"),
    ],
)
def test_searches_over_a_limit_are_limit_exceeded(
    api: httpx.Client, seed: Seed, search: dict[str, Any], limit: str
) -> None:
    error = refused(
        api.post(f"{API}/runs/search", json={"projects": [seed.project_id], **search}),
        400,
        "LIMIT_EXCEEDED",
    )
    assert limit in error["message"]
    assert error["details"]["limit_name"] == limit


SEARCH_TOKENS = [
    pytest.param("garbage!!", id="not-base64"),
    pytest.param("@@@", id="symbols"),
    pytest.param("a", id="one-char"),
    pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(), id="not-utf8"),
    pytest.param(base64.urlsafe_b64encode(b"not json").decode(), id="not-json"),
    pytest.param(token([1, 2]), id="a-list"),
    pytest.param(token("runs:"), id="a-string"),
    pytest.param(token({"k": "projects", "n": "a"}), id="another-listing"),
    pytest.param(token({"k": "runs:metrics.loss", "v": []}), id="another-order-by"),
    # The right listing, a forged position:
    pytest.param(token({"k": "runs:"}), id="forged-no-position"),
    pytest.param(token({"k": "runs:", "v": [1]}), id="forged-too-short"),
    pytest.param(token({"k": "runs:", "v": "ab"}), id="forged-string"),
    pytest.param(token({"k": "runs:", "v": None}), id="forged-null"),
    pytest.param(token({"k": "runs:", "v": [None, None, None, None]}), id="forged-nulls"),
    pytest.param(token({"k": "runs:", "v": [{}, []]}), id="forged-objects"),
    pytest.param(token({"k": "runs:", "v": [2**80, "x"]}), id="forged-huge-int"),
]


@pytest.mark.parametrize("page_token", SEARCH_TOKENS)
def test_bad_search_page_tokens(api: httpx.Client, seed: Seed, page_token: str) -> None:
    response = api.post(
        f"{API}/runs/search", json={"projects": [seed.project_id], "page_token": page_token}
    )
    refused(response, 400, "INVALID_PAGE_TOKEN")


HistoryToken = Callable[[str], str]
HISTORY_TOKENS = [
    pytest.param(lambda _run: "abc", id="not-base64-json"),
    pytest.param(lambda _run: "!!", id="not-base64"),
    pytest.param(lambda _run: token([1]), id="a-list"),
    pytest.param(
        lambda _run: token({"k": f"history:{UNKNOWN_RUN}:loss", "s": 1, "t": 1, "i": 1}),
        id="another-run",
    ),
    pytest.param(
        lambda run: token({"k": f"history:{run}:acc", "s": 1, "t": 1, "i": 1}), id="another-key"
    ),
    # The right listing, a forged position:
    pytest.param(lambda run: token({"k": f"history:{run}:loss"}), id="forged-no-position"),
    pytest.param(lambda run: token({"k": f"history:{run}:loss", "s": 1}), id="forged-partial"),
    pytest.param(
        lambda run: token({"k": f"history:{run}:loss", "s": "a", "t": None, "i": {}}),
        id="forged-wrong-types",
    ),
    pytest.param(
        lambda run: token({"k": f"history:{run}:loss", "s": [1], "t": [2], "i": [3]}),
        id="forged-lists",
    ),
    pytest.param(
        lambda run: token({"k": f"history:{run}:loss", "s": 2**80, "t": 1, "i": 1}),
        id="forged-huge-int",
    ),
]


@pytest.mark.parametrize("make_token", HISTORY_TOKENS)
def test_bad_metric_history_page_tokens(
    api: httpx.Client, seed: Seed, make_token: HistoryToken
) -> None:
    response = api.get(
        f"{API}/runs/{seed.run_id}/metric-history",
        params={"key": "loss", "page_token": make_token(seed.run_id)},
    )
    refused(response, 400, "INVALID_PAGE_TOKEN")


@pytest.mark.parametrize(
    "page_token",
    [
        pytest.param("%%%", id="not-base64"),
        pytest.param("abc", id="not-json"),
        pytest.param(token({"k": "runs:"}), id="another-listing"),
        pytest.param(token({"k": "projects"}), id="forged-no-position"),
        pytest.param(token({"k": "projects", "n": {"a": 1}}), id="forged-object"),
        pytest.param(token({"k": "projects", "n": [1, 2]}), id="forged-list"),
    ],
)
def test_bad_project_page_tokens(api: httpx.Client, page_token: str) -> None:
    response = api.get(f"{API}/projects", params={"page_token": page_token})
    refused(response, 400, "INVALID_PAGE_TOKEN")


@pytest.mark.parametrize("max_results", [0, -1, 50_001, 10**30, -(10**30)])
def test_search_max_results_out_of_range(api: httpx.Client, seed: Seed, max_results: int) -> None:
    response = api.post(
        f"{API}/runs/search", json={"projects": [seed.project_id], "max_results": max_results}
    )
    refused(response, 400, "INVALID_INPUT")


@pytest.mark.parametrize("max_results", ["0", "-1", "10001", "many", "1.5", "9" * 40])
def test_project_list_max_results_out_of_range(api: httpx.Client, max_results: str) -> None:
    response = api.get(f"{API}/projects", params={"max_results": max_results})
    refused(response, 400, "INVALID_INPUT")


@pytest.mark.parametrize("max_results", ["0", "-3", "1000001", "all", "9" * 40])
def test_metric_history_max_results_out_of_range(
    api: httpx.Client, seed: Seed, max_results: str
) -> None:
    response = api.get(
        f"{API}/runs/{seed.run_id}/metric-history",
        params={"key": "loss", "max_results": max_results},
    )
    refused(response, 400, "INVALID_INPUT")


def test_max_results_at_the_limits_work(api: httpx.Client, seed: Seed) -> None:
    ok(api.post(f"{API}/runs/search", json={"projects": [seed.project_id], "max_results": 50_000}))
    ok(api.post(f"{API}/runs/search", json={"projects": [seed.project_id], "max_results": 1}))
    ok(api.get(f"{API}/projects", params={"max_results": 10_000}))
    body = ok(
        api.get(
            f"{API}/runs/{seed.run_id}/metric-history",
            params={"key": "loss", "max_results": 1_000_000},
        )
    )
    assert body["steps"] == Seed.steps


# -- metric batches -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"keys": ["m", "m"]},
        {"values": [1.0]},
        {"steps": [1, 2, 3, 4]},
        {"timestamps": []},
        {"run_ids": ["{run}"]},
    ],
)
def test_metric_batch_with_mismatched_columns(
    api: httpx.Client, seed: Seed, change: dict[str, Any]
) -> None:
    run_id = scratch_run(api, seed)
    batch = metric_batch([run_id] * 3, "m", [1, 2, 3])
    batch.update(fill(change, seed))
    refused(api.post(f"{API}/metrics", json=batch), 400, "INVALID_INPUT")
    assert history(api, run_id, "m") == []


def test_metric_batch_for_an_unknown_run_stores_nothing(api: httpx.Client, seed: Seed) -> None:
    run_id = scratch_run(api, seed)
    steps = list(range(20))
    run_ids = [run_id] * 10 + [UNKNOWN_RUN] + [run_id] * 9
    batch = metric_batch(run_ids, "half", steps)
    error = refused(api.post(f"{API}/metrics", json=batch), 404, "RUN_NOT_FOUND")
    assert error["details"]["run_id"] == UNKNOWN_RUN
    assert history(api, run_id, "half") == []
    assert ok(api.get(f"{API}/runs/{run_id}"))["metrics"] == {}
    # A retry is a write like the first: nothing half-written blocks it, even the batch id.
    good = {**batch, "run_ids": [run_id] * 20}
    assert ok(api.post(f"{API}/metrics", json=good)) == {"stored": 20}
    assert history(api, run_id, "half") == steps
    assert ok(api.post(f"{API}/metrics", json=good)) == {"stored": 0}  # idempotent


def test_metric_batch_for_a_malformed_run_id(api: httpx.Client, seed: Seed) -> None:
    run_id = scratch_run(api, seed)
    batch = metric_batch([run_id, "zz", run_id], "bad", [1, 2, 3])
    refused_as_one_of(
        api.post(f"{API}/metrics", json=batch), {400: "INVALID_INPUT", 404: "RUN_NOT_FOUND"}
    )
    assert history(api, run_id, "bad") == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"id": "z" * 32}, id="id-not-hex"),
        pytest.param({"id": "abc"}, id="id-short"),
        pytest.param({"keys": ["ok", "bad key!", "ok"]}, id="key-invalid"),
        pytest.param({"keys": ["ok", "", "ok"]}, id="key-empty"),
        pytest.param({"keys": ["ok", "k" * 251, "ok"]}, id="key-too-long"),
        pytest.param({"steps": [1, 2**63, 3]}, id="step-over-int64"),
        pytest.param({"steps": [1, -(2**63) - 1, 3]}, id="step-under-int64"),
        pytest.param({"timestamps": [1, 2**63, 3]}, id="timestamp-over-int64"),
        pytest.param({"timestamps": [1, -1, 3]}, id="timestamp-negative"),
        pytest.param({"values": [1.0, "one", 3.0]}, id="value-text"),
        pytest.param({"values": [1.0, True, 3.0]}, id="value-bool"),
    ],
)
def test_invalid_metric_points_store_nothing(
    api: httpx.Client, seed: Seed, change: dict[str, Any]
) -> None:
    run_id = scratch_run(api, seed)
    batch = metric_batch([run_id] * 3, "ok", [1, 2, 3])
    batch.update(change)
    refused(api.post(f"{API}/metrics", json=batch), 400, "INVALID_INPUT")
    for key in set(batch["keys"]):
        if key and len(key) <= 250 and " " not in key:
            assert history(api, run_id, key) == []
    assert ok(api.get(f"{API}/runs/{run_id}"))["metrics"] == {}


def test_non_finite_metric_values_are_accepted_as_strings(api: httpx.Client, seed: Seed) -> None:
    run_id = scratch_run(api, seed)
    batch = metric_batch([run_id] * 3, "odd", [1, 2, 3], values=["NaN", "Infinity", "-Infinity"])
    assert ok(api.post(f"{API}/metrics", json=batch)) == {"stored": 3}
    body = ok(api.get(f"{API}/runs/{run_id}/metric-history", params={"key": "odd"}))
    assert body["values"] == ["NaN", "Infinity", "-Infinity"]


# -- client-chosen ids ----------------------------------------------------------------------
def test_reused_ids_with_another_body_are_409(api: httpx.Client, seed: Seed) -> None:
    run_id = new_id()
    body = {"project_id": seed.project_id, "run_id": run_id}
    first = ok(api.post(f"{API}/runs", json=body))
    # A retry of the same request (name and start time left to the server) is the same run.
    again = ok(api.post(f"{API}/runs", json=body))
    assert (again["name"], again["start_time"]) == (first["name"], first["start_time"])
    for change in (
        {"name": "renamed"},
        {"start_time": first["start_time"] + 1},
        {
            "project_id": ok(
                api.post(f"{API}/projects", json={"name": f"other-{uuid.uuid4().hex[:8]}"})
            )["id"]
        },
    ):
        error = refused(api.post(f"{API}/runs", json={**body, **change}), 409, "ID_CONFLICT")
        assert run_id in error["message"]
    run = ok(api.get(f"{API}/runs/{run_id}"))
    assert (run["name"], run["project_id"]) == (first["name"], seed.project_id)

    batch = metric_batch([run_id] * 3, "m", [1, 2, 3])
    assert ok(api.post(f"{API}/metrics", json=batch)) == {"stored": 3}
    assert ok(api.post(f"{API}/metrics", json=batch)) == {"stored": 0}
    error = refused(
        api.post(f"{API}/metrics", json={**batch, "values": [9.0, 9.0, 9.0]}), 409, "ID_CONFLICT"
    )
    assert batch["id"] in error["message"]
    assert history(api, run_id, "m") == [1, 2, 3]


# -- params ---------------------------------------------------------------------------------
def test_param_conflict_is_409_and_changes_nothing(api: httpx.Client, seed: Seed) -> None:
    run_id = scratch_run(api, seed)
    ok(api.post(f"{API}/runs/{run_id}/params", json={"params": {"lr": "0.1"}}))
    ok(api.post(f"{API}/runs/{run_id}/params", json={"params": {"lr": "0.1"}}))  # same: fine
    error = refused(
        api.post(f"{API}/runs/{run_id}/params", json={"params": {"lr": "0.2"}}),
        409,
        "PARAM_CONFLICT",
    )
    assert error["details"]["key"] == "lr"
    assert error["details"]["old_value"] == "0.1"
    assert error["details"]["new_value"] == "0.2"
    # A batch with one conflicting param stores none of its params.
    refused(
        api.post(
            f"{API}/runs/{run_id}/params",
            json={"params": {"depth": "3", "lr": "0.3", "width": "8"}},
        ),
        409,
        "PARAM_CONFLICT",
    )
    assert ok(api.get(f"{API}/runs/{run_id}"))["params"] == {"lr": "0.1"}
    # The seeded run's params cannot be changed either.
    refused(
        api.post(f"{API}/runs/{seed.run_id}/params", json={"params": {"lr": "9"}}),
        409,
        "PARAM_CONFLICT",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"bad key!": "1"},
        {"": "1"},
        {"k" * 251: "1"},
        {"ok": "v" * 6001},
    ],
)
def test_invalid_params_store_nothing(
    api: httpx.Client, seed: Seed, params: dict[str, str]
) -> None:
    run_id = scratch_run(api, seed)
    refused(
        api.post(f"{API}/runs/{run_id}/params", json={"params": {"fine": "1", **params}}),
        400,
        "INVALID_INPUT",
    )
    assert ok(api.get(f"{API}/runs/{run_id}"))["params"] == {}


# -- artifacts and blobs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "/etc/passwd",
        "a/../../b",
        "model/../../../etc/passwd",
        "..",
        "a\\..\\b",
        "C:/windows",
        "a\x00b",
        "a\nb",
        ".",
        "./",
        "//",
    ],
)
def test_artifact_path_traversal_is_refused(api: httpx.Client, seed: Seed, path: str) -> None:
    run_id = scratch_run(api, seed)
    entries = [
        {"path": "fine/ok.bin", "digest": seed.digest, "size": len(seed.blob)},
        {"path": path, "digest": seed.digest, "size": len(seed.blob)},
    ]
    error = refused(
        api.post(f"{API}/runs/{run_id}/artifacts", json={"entries": entries}), 400, "UNSAFE_PATH"
    )
    assert error["details"]["path"] == path
    # Nothing of the batch was recorded, not even the fine entry.
    assert ok(api.get(f"{API}/runs/{run_id}/artifacts/walk"))["entries"] == []


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b"])
def test_artifact_reads_refuse_unsafe_paths(api: httpx.Client, seed: Seed, path: str) -> None:
    for route in ("artifacts", "artifacts/walk", "artifacts/entry"):
        response = api.get(f"{API}/runs/{seed.run_id}/{route}", params={"path": path})
        refused(response, 400, "UNSAFE_PATH")


def test_artifact_entry_for_a_blob_never_uploaded(api: httpx.Client, seed: Seed) -> None:
    run_id = scratch_run(api, seed)
    entries = [{"path": "x.bin", "digest": "a" * 64, "size": 3}]
    refused(api.post(f"{API}/runs/{run_id}/artifacts", json={"entries": entries}), 400)
    assert ok(api.get(f"{API}/runs/{run_id}/artifacts/walk"))["entries"] == []
    refused(
        api.get(f"{API}/runs/{run_id}/artifacts/entry", params={"path": "x.bin"}),
        404,
        "ARTIFACT_NOT_FOUND",
    )


@pytest.mark.parametrize(
    "digest",
    [
        "xyz",
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "a" * 62 + "..",
        "%20" + "a" * 61,
        "-" * 64,
    ],
)
def test_malformed_blob_digests(api: httpx.Client, digest: str) -> None:
    refused(api.put(f"{API}/blobs/{digest}", content=b"abc"), 400, "INVALID_INPUT")
    refused(api.get(f"{API}/blobs/{digest}"), 400, "INVALID_INPUT")
    refused(api.head(f"{API}/blobs/{digest}"), 400)


def test_unknown_blob_is_not_found(api: httpx.Client) -> None:
    digest = hash_bytes(b"never uploaded " + uuid.uuid4().bytes)
    refused(api.get(f"{API}/blobs/{digest}"), 404, "ARTIFACT_NOT_FOUND")
    refused(api.head(f"{API}/blobs/{digest}"), 404)


def stored_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def blob_server(server_factory: Any, tmp_path: Path) -> Any:
    """A server whose artifact folder this test can look into."""
    srv = server_factory(artifacts=str(tmp_path / "blob-artifacts"))
    srv.artifacts = tmp_path / "blob-artifacts"
    return srv


def test_blob_whose_bytes_do_not_match_its_digest(blob_server: Any) -> None:
    root: Path = blob_server.artifacts
    with client_of(blob_server) as client:
        good = b"the real bytes"
        digest = hash_bytes(good)
        before = stored_files(root) if root.exists() else set()

        error = refused(
            client.put(f"{API}/blobs/{digest}", content=b"tampered bytes"), 422, "INTEGRITY_FAILURE"
        )
        assert digest in error["message"]
        refused(client.head(f"{API}/blobs/{digest}"), 404)
        refused(client.get(f"{API}/blobs/{digest}"), 404, "ARTIFACT_NOT_FOUND")

        # A large streamed (chunked) upload that is wrong only in its last byte.
        big = bytes(range(256)) * (3 * 4096 + 7)
        big_digest = hash_bytes(big)

        def chunks() -> Iterator[bytes]:
            wrong = big[:-1] + bytes([big[-1] ^ 1])
            for start in range(0, len(wrong), 100_000):
                yield wrong[start : start + 100_000]

        refused(client.put(f"{API}/blobs/{big_digest}", content=chunks()), 422, "INTEGRITY_FAILURE")
        refused(client.head(f"{API}/blobs/{big_digest}"), 404)
        assert stored_files(root) == before  # no blob, no temporary file left behind

        # The right bytes are then stored normally.
        assert client.put(f"{API}/blobs/{digest}", content=good).status_code == 201
        assert client.head(f"{API}/blobs/{digest}").headers["content-length"] == str(len(good))
        assert client.get(f"{API}/blobs/{digest}").content == good
        # Wrong bytes for a digest already stored never replace it.
        response = client.put(f"{API}/blobs/{digest}", content=b"tampered bytes")
        if response.status_code != 200:
            refused(response, 422, "INTEGRITY_FAILURE")
        assert client.get(f"{API}/blobs/{digest}").content == good


# -- oversized bodies -----------------------------------------------------------------------
LIMIT = 100_000


@pytest.fixture
def small_server(server_factory: Any) -> Any:
    return server_factory(env={"WINDLASS_MAX_REQUEST_BYTES": str(LIMIT)})


def test_oversized_bodies_are_refused(small_server: Any) -> None:
    with client_of(small_server) as client:
        project = ok(client.post(f"{API}/projects", json={"name": "limits"}))
        run_id = ok(client.post(f"{API}/runs", json={"project_id": project["id"]}))["id"]
        ok(client.post(f"{API}/runs/{run_id}/params", json={"params": {"kept": "yes"}}))

        many = {f"p{i}": "v" * 100 for i in range(2_000)}  # ~230 KB of JSON
        body = json.dumps({"params": many}).encode()
        assert len(body) > LIMIT
        error = refused(
            client.post(f"{API}/runs/{run_id}/params", content=body, headers=JSON),
            413,
            "PAYLOAD_TOO_LARGE",
        )
        assert error["details"]["limit"] == LIMIT
        assert "WINDLASS_MAX_REQUEST_BYTES" in error["message"]

    # Chunked, without Content-Length: counted while it streams.
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8_192):
            yield body[start : start + 8_192]

    with client_of(small_server) as client:
        response = client.post(f"{API}/runs/{run_id}/params", content=chunks(), headers=JSON)
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        refused(response, 413, "PAYLOAD_TOO_LARGE")

    with client_of(small_server) as client:
        # A metric batch over the limit stores none of its points.
        steps = list(range(5_000))
        batch = metric_batch([run_id] * len(steps), "big", steps)
        refused(client.post(f"{API}/metrics", json=batch), 413, "PAYLOAD_TOO_LARGE")
        assert history(client, run_id, "big") == []

        # Nothing of the refused bodies was stored; what was there is intact.
        assert ok(client.get(f"{API}/runs/{run_id}"))["params"] == {"kept": "yes"}

        # Bodies under the limit still work, chunked or not; blob uploads are exempt.
        small = metric_batch([run_id] * 500, "small", list(range(500)))
        assert len(json.dumps(small)) < LIMIT
        assert ok(client.post(f"{API}/metrics", json=small)) == {"stored": 500}
        small_body = json.dumps(metric_batch([run_id] * 10, "chunked", list(range(10))))
        assert ok(
            client.post(
                f"{API}/metrics",
                headers=JSON,
                content=iter([small_body[:50].encode(), small_body[50:].encode()]),
            )
        ) == {"stored": 10}
        blob = b"b" * (3 * LIMIT)
        assert client.put(f"{API}/blobs/{hash_bytes(blob)}", content=blob).status_code == 201
