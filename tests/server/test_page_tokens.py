"""Forged page tokens on every paged route of a real ``windlass server`` (SQLite, PostgreSQL).

The paged routes are read from the server's own OpenAPI document (every operation with a
``page_token`` query parameter or a ``page_token`` field in its JSON body), so a listing
added later is covered without touching this file. Each route gets a set of forged tokens
(not base64, binary, not JSON, deeply nested, huge, wrong JSON types, another listing's
real token, its own real token with each field given a wrong type) and must answer
400 ``INVALID_PAGE_TOKEN`` every time, never a 5xx, and a real token must still work.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from windlass.artifacts.hashing import hash_bytes
from windlass.entities import Span
from windlass.ids import new_id
from windlass_testing import POSTGRES_SKIP, ServerProcess, scratch_postgres_database

API = "/api/v1"
CODE = "INVALID_PAGE_TOKEN"
WEIGHTS = b"seeded weights " * 50
#: A valid manifest; the stored windlass-model.yaml (JSON is YAML) says the same.
MANIFEST_DATA = {
    "format": "windlass-model/1",
    "flavors": {"sklearn": {}},
    "files": {"model.skops": {"digest": hash_bytes(WEIGHTS), "size": len(WEIGHTS)}},
}
MANIFEST = json.dumps(MANIFEST_DATA).encode()
BASE_NS = 1_700_000_000_000_000_000


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def token(position: Any) -> str:
    return b64(json.dumps(position).encode())


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), (
        f"{response.request.method} {response.request.url}: {response.text[:500]}"
    )
    return response.json()


@dataclass
class Route:
    """One paged operation of the OpenAPI document, with its parameters filled in."""

    method: str
    path: str
    in_body: bool
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)

    def call(
        self, client: httpx.Client, page_token: str | None, max_results: int | None = None
    ) -> httpx.Response:
        extra: dict[str, Any] = {}
        if page_token is not None:
            extra["page_token"] = page_token
        if max_results is not None:
            extra["max_results"] = max_results
        if self.in_body:
            return client.request(
                self.method, self.path, params=self.query, json={**self.body, **extra}
            )
        return client.request(self.method, self.path, params={**self.query, **extra})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Seeded:
    """A server with a project holding two of everything a listing can page over."""

    url: str
    project_id: str
    project: str
    run_id: str


def _seed(url: str) -> Seeded:
    with httpx.Client(base_url=url, timeout=60) as client:
        name = f"tokens-{uuid.uuid4().hex[:8]}"
        project = ok(client.post(f"{API}/projects", json={"name": name}))
        ok(client.post(f"{API}/projects", json={"name": f"{name}-second"}))
        runs = [
            ok(client.post(f"{API}/runs", json={"project_id": project["id"]}))["id"]
            for _ in range(2)
        ]
        ok(
            client.post(
                f"{API}/metrics",
                json={
                    "id": new_id(),
                    "run_ids": [runs[0]] * 3,
                    "keys": ["loss"] * 3,
                    "values": [1.0, 2.0, 3.0],
                    "steps": [0, 1, 2],
                    "timestamps": [1_700_000_000_000] * 3,
                },
            )
        )
        for blob in (MANIFEST, WEIGHTS):
            assert client.put(f"{API}/blobs/{hash_bytes(blob)}", content=blob).is_success
        files = [
            {"path": "windlass-model.yaml", "digest": hash_bytes(MANIFEST), "size": len(MANIFEST)},
            {"path": "model.skops", "digest": hash_bytes(WEIGHTS), "size": len(WEIGHTS)},
        ]
        models = f"{API}/projects/{name}/models"
        for model in ("churn", "fraud"):
            for _ in range(2):
                ok(
                    client.post(
                        f"{models}/{model}/versions",
                        json={"source": "test", "files": files, "manifest": MANIFEST_DATA},
                    )
                )
        deployments = f"{API}/projects/{name}/deployments"
        for deployment in ("prod", "staging"):
            ok(
                client.post(
                    deployments,
                    json={
                        "name": deployment,
                        "variants": [
                            {"name": "main", "model_uri": "models:/churn/1", "weight": 100.0}
                        ],
                    },
                )
            )
        ok(
            client.patch(
                f"{deployments}/prod",
                json={
                    "variants": [{"name": "main", "model_uri": "models:/churn/2", "weight": 100.0}]
                },
            )
        )
        prompts = f"{API}/projects/{name}/prompts"
        for prompt in ("support", "sales"):
            for text in ("Hello {{ name }}", "Hi {{ name }}"):
                ok(client.post(f"{prompts}/{prompt}/versions", json={"template": text}))
        spans = []
        for index in range(2):
            trace_id = uuid.uuid4().hex
            spans += [
                Span(
                    trace_id=trace_id,
                    span_id=uuid.uuid4().hex[:16],
                    name=f"t{index}",
                    start_time_ns=BASE_NS + index * 1000 + offset,
                    end_time_ns=BASE_NS + index * 1000 + offset + 10,
                ).to_dict()
                for offset in range(2)
            ]
        ok(client.post(f"{API}/projects/{name}/spans", json={"spans": spans}))
        for user in ("ada", "bob"):  # the server runs with auth off: anyone may add users
            ok(client.post(f"{API}/users", json={"name": f"{user}-{name}"}))
        return Seeded(url, project["id"], name, runs[0])


def _seed_audit(store_uri: str, seed: Seeded) -> Seeded:
    """Two audit records (a server appends its own; none is sent over the API)."""
    from windlass.access.audit import AuditTrail
    from windlass.principal import Principal
    from windlass.store.sql.store import SqlStore

    store = SqlStore(store_uri)
    try:
        for run_id in (seed.run_id, new_id()):
            AuditTrail(store).record(
                Principal("seed"), "run.create", f"runs:/{run_id}", project_id=seed.project_id
            )
    finally:
        store.close()
    return seed


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    root = tmp_path_factory.mktemp("tokens")
    if request.param == "sqlite":
        store = f"sqlite:///{root / 'tokens.db'}"
        server = ServerProcess(store, str(root / "artifacts"))
        try:
            yield _seed_audit(store, _seed(server.url))
        finally:
            server.stop()
        return
    if os.environ.get("WINDLASS_TEST_POSTGRES_URL") is None:
        pytest.skip(POSTGRES_SKIP)
    with scratch_postgres_database("windlass_tokens") as url:
        server = ServerProcess(url, str(Path(root) / "artifacts"))
        try:
            yield _seed_audit(url, _seed(server.url))
        finally:
            server.stop()


def _names_for(path: str) -> str:
    if "/models/" in path:
        return "churn"
    if "/prompts/" in path:
        return "support"
    if "/deployments/" in path:
        return "prod"
    raise AssertionError(f"no seeded object for {{name}} in {path}: seed one")


def paged_routes(client: httpx.Client, seed: Seeded) -> list[Route]:
    """Every operation of /openapi.json that takes a ``page_token``, parameters filled."""
    doc = ok(client.get("/openapi.json"))
    schemas = doc.get("components", {}).get("schemas", {})
    values = {
        "project": seed.project,
        "project_id": seed.project_id,
        "run_id": seed.run_id,
        "key": "loss",
    }
    routes = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            in_query = any(p["name"] == "page_token" for p in params)
            body_ref = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref", "")
            )
            body_schema = schemas.get(body_ref.rsplit("/", 1)[-1], {})
            in_body = "page_token" in body_schema.get("properties", {})
            if not (in_query or in_body):
                continue
            url = path
            query: dict[str, Any] = {}
            for param in params:
                name = param["name"]
                if param["in"] == "path":
                    value = values.get(name) or _names_for(path)
                    url = url.replace("{" + name + "}", str(value))
                elif param.get("required") or name in ("project_id",):
                    query[name] = values[name]
            body = {"projects": [seed.project_id]} if in_body else {}
            routes.append(Route(method.upper(), url, in_body, query, body))
    return routes


GENERIC_TOKENS = {
    "not-base64": "garbage!!",
    "symbols": "@@@",
    "one-char": "a",
    "padding-only": "====",
    "binary": b64(bytes(range(256))),
    "not-utf8": b64(b"\xff\xfe\xfd\x00"),
    "not-json": b64(b"not json"),
    # Deeper than the JSON parser's recursion limit, short enough for a URL.
    "nested-lists": b64(b"[" * 4_000 + b"]" * 4_000),
    "nested-objects": b64(b'{"k":' * 1_500 + b"1" + b"}" * 1_500),
    "nested-in-position": token({"k": "x", "v": [[[[[[[[1]]]]]]]]}),
    "huge-garbage": "A" * 12_000,
    "a-list": token([1, 2]),
    "a-string": token("runs:"),
    "a-number": token(5),
    "null": token(None),
    "true": token(True),
    "empty-object": token({}),
    "kind-not-string": token({"k": ["projects"]}),
    "unknown-kind": token({"k": "nothing", "n": "a", "v": [1], "s": 1, "t": 1, "i": 1}),
}

WRONG_VALUES = [None, {}, [], [[1]], "x", 1.5, 2**80, -(2**80), True, "9" * 400]


def forged_from(real: str) -> dict[str, str]:
    """Return the route's own real token with each position field given a wrong type."""
    position = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    forged = {"no-position": token({"k": position["k"]})}
    for name, value in position.items():
        if name == "k":
            continue
        for wrong in WRONG_VALUES:
            if wrong == value or (type(wrong) is type(value) and not isinstance(wrong, list)):
                continue
            forged[f"{name}={json.dumps(wrong)[:12]}"] = token({**position, name: wrong})
        if isinstance(value, list):
            forged[f"{name}-shorter"] = token({**position, name: value[:-1]})
            forged[f"{name}-longer"] = token({**position, name: [*value, 1]})
            for index, item in enumerate(value):
                for wrong in ({}, [], "x" if not isinstance(item, str) else 7, 2**80):
                    forged[f"{name}[{index}]={json.dumps(wrong)[:12]}"] = token(
                        {**position, name: [*value[:index], wrong, *value[index + 1 :]]}
                    )
    return forged


def refused(response: httpx.Response, label: str) -> None:
    where = f"{response.request.method} {response.request.url.path} ({label})"
    assert response.status_code == 400, f"{where}: {response.status_code} {response.text[:300]}"
    body = response.json()
    assert body["error_code"] == CODE, f"{where}: {body}"
    assert "Traceback" not in body["message"]


def test_every_paged_route_refuses_forged_tokens(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.url, timeout=120) as client:
        routes = paged_routes(client, seeded)
        paths = {str(r) for r in routes}
        # The enumeration found the listings this test was written against (and any newer).
        for expected in (
            "GET /api/v1/projects",
            "POST /api/v1/runs/search",
            f"GET /api/v1/runs/{seeded.run_id}/metric-history",
            f"GET /api/v1/projects/{seeded.project}/traces",
            f"GET /api/v1/projects/{seeded.project}/prompts/support/versions",
            "GET /api/v1/audit",
        ):
            assert expected in paths, sorted(paths)
        real_tokens: dict[str, str] = {}
        for route in routes:
            first = ok(route.call(client, None, max_results=1))
            real = first.get("next_page_token")
            assert real, f"{route}: the seed should give this listing a second page"
            real_tokens[str(route)] = real
        for route in routes:
            forged = dict(GENERIC_TOKENS)
            forged.update(
                {
                    f"token-of {other}": real
                    for other, real in real_tokens.items()
                    if other != str(route) and real != real_tokens[str(route)]
                }
            )
            forged.update(forged_from(real_tokens[str(route)]))
            if route.in_body:
                # A body may carry more than a query string; the cap is still enforced.
                forged["over-the-cap"] = "A" * 1_100_000
                forged["nested-very-deep"] = b64(b"[" * 300_000 + b"]" * 300_000)
            for label, bad in forged.items():
                refused(route.call(client, bad), label)
            # The route's own token still pages on.
            ok(route.call(client, real_tokens[str(route)], max_results=1))


def test_rest_client_raises_invalid_page_token(seeded: Seeded) -> None:
    from windlass.exceptions import InvalidPageToken
    from windlass.store.rest.store import RestStore

    store = RestStore(seeded.url)
    try:
        with pytest.raises(InvalidPageToken):
            store.runs.list_projects(page_token=GENERIC_TOKENS["nested-lists"])
        with pytest.raises(InvalidPageToken):
            store.runs.search_runs([seeded.project_id], page_token=token({"k": "runs:", "v": "x"}))
        with pytest.raises(InvalidPageToken):
            store.runs.get_metric_history(seeded.run_id, "loss", page_token="garbage!!")
    finally:
        store.close()
