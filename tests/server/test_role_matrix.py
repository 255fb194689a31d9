"""The role matrix and audit completeness, from the OpenAPI document, over a real server.

Every operation of the document is called as five callers: anonymous, a viewer, an editor
and an admin of the project that holds the objects, and an admin of another project. What
each may do follows from the permission the operation declares (``x-windlass-permission``):
a caller allowed gets anything but 401/403 (a 400 for an empty body still got past the
gate), a caller denied gets 401 (no credentials) or 403, and for objects addressed by id
the other project's admin gets the very 404 a missing id gets. An operation the test has
no request for fails it: a new route must say how to call it here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import httpx
import pytest
from matrix_world import (
    CROSS_PROJECT,
    NEEDED,
    NOT_AUDITED,
    ROLES,
    World,
    make_world,
    operations,
)

from windlass.ids import new_id, now_ms
from windlass.principal import Role
from windlass_testing import ServerProcess


@pytest.fixture(params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server_factory: type[ServerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """A server with auth on over a seeded store, and a token per caller."""
    return make_world(request, tmp_path, server_factory, monkeypatch)


def _span(trace_id: str) -> dict[str, Any]:
    span = {"trace_id": trace_id, "span_id": new_id()[:16], "name": "s", "start_time_ns": 1}
    return {**span, "end_time_ns": 2}


def _otlp(trace_id: str) -> dict[str, Any]:
    span = {
        "traceId": trace_id,
        "spanId": new_id()[:16],
        "name": "s",
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2",
    }
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}


Request = Callable[[World], dict[str, Any]]


def _requests() -> dict[tuple[str, str], Request]:
    """How to call each operation: path parameters, query and body (JSON or bytes)."""
    p = "/api/v1/projects/{project}"

    def metrics(w: World) -> dict[str, Any]:
        body = {"id": new_id(), "run_ids": [w.run], "keys": ["loss"], "values": [0.1]}
        return {"json": {**body, "steps": [1], "timestamps": [now_ms()]}}

    def blob(w: World) -> dict[str, Any]:
        return {"digest": blake3.blake3(w.blob).hexdigest(), "content": w.blob}

    entry = {"path": "a.txt", "digest": "0" * 64, "size": 1}
    return {
        ("GET", "/health"): lambda w: {},
        ("GET", "/metrics"): lambda w: {},
        ("GET", "/api/v1/projects"): lambda w: {},
        ("POST", "/api/v1/projects"): lambda w: {"json": {"name": "alpha"}},
        ("GET", "/api/v1/projects/{name_or_id}"): lambda w: {"name_or_id": "alpha"},
        ("POST", "/api/v1/runs"): lambda w: {"json": {"project_id": w.alpha, "name": "r"}},
        ("POST", "/api/v1/runs/search"): lambda w: {"json": {}},
        ("POST", "/api/v1/runs/fail-stale"): lambda w: {"json": {"heartbeat_before": 1}},
        ("GET", "/api/v1/runs/{run_id}"): lambda w: {},
        ("PATCH", "/api/v1/runs/{run_id}"): lambda w: {"json": {"name": "renamed"}},
        ("DELETE", "/api/v1/runs/{run_id}"): lambda w: {},
        ("POST", "/api/v1/runs/{run_id}/restore"): lambda w: {},
        ("POST", "/api/v1/runs/{run_id}/heartbeat"): lambda w: {"json": {}},
        ("POST", "/api/v1/runs/{run_id}/params"): lambda w: {"json": {"params": {"k": "v"}}},
        ("POST", "/api/v1/runs/{run_id}/tags"): lambda w: {"json": {"tags": {"k": "v"}}},
        ("DELETE", "/api/v1/runs/{run_id}/tags"): lambda w: {"params": {"key": "t"}},
        ("POST", "/api/v1/metrics"): metrics,
        ("GET", "/api/v1/runs/{run_id}/metric-history"): lambda w: {"params": {"key": "loss"}},
        ("GET", "/api/v1/runs/{run_id}/metric-series"): lambda w: {"params": {"key": "loss"}},
        ("POST", "/api/v1/runs/{run_id}/inputs"): lambda w: {
            "json": {"inputs": [{"name": "train", "digest": "abc"}]}
        },
        ("GET", "/api/v1/runs/{run_id}/inputs"): lambda w: {},
        ("HEAD", "/api/v1/blobs/{digest}"): blob,
        ("PUT", "/api/v1/blobs/{digest}"): blob,
        ("GET", "/api/v1/blobs/{digest}"): blob,
        ("POST", "/api/v1/runs/{run_id}/artifacts"): lambda w: {"json": {"entries": [entry]}},
        ("GET", "/api/v1/runs/{run_id}/artifacts"): lambda w: {},
        ("GET", "/api/v1/runs/{run_id}/artifacts/walk"): lambda w: {},
        ("GET", "/api/v1/runs/{run_id}/artifacts/entry"): lambda w: {
            "params": {"path": "model/MLmodel"}
        },
        ("PATCH", p + "/models/{name}"): lambda w: {"name": "m", "json": {}},
        ("GET", p + "/models/{name}"): lambda w: {"name": "m"},
        ("DELETE", p + "/models/{name}"): lambda w: {"name": "m"},
        ("DELETE", p + "/models/{name}/versions/{version}"): lambda w: {"name": "m"},
        ("GET", p + "/models/{name}/versions/{version}"): lambda w: {"name": "m"},
        ("GET", p + "/models/{name}/versions/{version}/lineage"): lambda w: {"name": "m"},
        ("POST", p + "/models"): lambda w: {"json": {"name": "m2"}},
        ("GET", p + "/models"): lambda w: {},
        ("POST", p + "/models/{name}/versions"): lambda w: {"name": "m", "json": {}},
        ("GET", p + "/models/{name}/versions"): lambda w: {"name": "m"},
        ("GET", p + "/models/{name}/aliases/{alias}"): lambda w: {"name": "m"},
        ("PUT", p + "/models/{name}/aliases/{alias}"): lambda w: {
            "name": "m",
            "json": {"version": 1},
        },
        ("DELETE", p + "/models/{name}/aliases/{alias}"): lambda w: {"name": "m"},
        ("GET", p + "/models/{name}/alias-history"): lambda w: {"name": "m"},
        ("POST", p + "/deployments"): lambda w: {"json": {}},
        ("GET", p + "/deployments"): lambda w: {},
        ("GET", p + "/deployments/{name}"): lambda w: {"name": "d"},
        ("PATCH", p + "/deployments/{name}"): lambda w: {"name": "d", "json": {}},
        ("DELETE", p + "/deployments/{name}"): lambda w: {"name": "d"},
        ("POST", p + "/deployments/{name}/promote"): lambda w: {"name": "d", "json": {}},
        ("POST", p + "/deployments/{name}/rollback"): lambda w: {"name": "d", "json": {}},
        ("GET", p + "/deployments/{name}/history"): lambda w: {"name": "d"},
        ("GET", p + "/deployments/{name}/revisions/{revision}"): lambda w: {"name": "d"},
        ("GET", p + "/deployments/{name}/traffic"): lambda w: {"name": "d"},
        ("POST", p + "/spans"): lambda w: {"json": {"spans": [_span(w.trace)]}},
        ("GET", p + "/spans"): lambda w: {},
        ("GET", p + "/traces"): lambda w: {},
        ("GET", p + "/traces/stats"): lambda w: {},
        ("GET", p + "/traces/rollup"): lambda w: {"params": {"group_by": "day"}},
        ("GET", p + "/traces/{trace_id}"): lambda w: {},
        # The permission is checked before the span is looked up: a reader gets 404 here.
        ("GET", p + "/traces/{trace_id}/spans/{span_id}"): lambda w: {"span_id": "0" * 16},
        ("GET", "/api/v1/spans"): lambda w: {},
        ("GET", "/api/v1/traces"): lambda w: {},
        ("GET", "/api/v1/traces/stats"): lambda w: {},
        ("GET", "/api/v1/traces/rollup"): lambda w: {"params": {"group_by": "day"}},
        ("GET", "/api/v1/traces/{trace_id}"): lambda w: {},
        ("POST", "/v1/traces"): lambda w: {
            "json": _otlp(w.trace),
            "headers": {"x-windlass-project": "alpha"},
        },
        ("POST", p + "/prompts"): lambda w: {"json": {"name": "greet2"}},
        ("GET", p + "/prompts"): lambda w: {},
        ("GET", p + "/prompts/{name}"): lambda w: {"name": "greet"},
        ("DELETE", p + "/prompts/{name}"): lambda w: {"name": "greet"},
        ("POST", p + "/prompts/{name}/versions"): lambda w: {"name": "greet", "json": {}},
        ("GET", p + "/prompts/{name}/versions"): lambda w: {"name": "greet"},
        ("GET", p + "/prompts/{name}/versions/{version}"): lambda w: {"name": "greet"},
        ("GET", p + "/prompts/{name}/aliases/{alias}"): lambda w: {"name": "greet"},
        ("PUT", p + "/prompts/{name}/aliases/{alias}"): lambda w: {
            "name": "greet",
            "json": {"version": 1},
        },
        ("DELETE", p + "/prompts/{name}/aliases/{alias}"): lambda w: {"name": "greet"},
        ("GET", p + "/prompts/{name}/alias-history"): lambda w: {"name": "greet"},
        ("POST", p + "/prompts/{name}/render"): lambda w: {"name": "greet", "json": {}},
        ("GET", "/api/v1/audit"): lambda w: {},
        ("GET", "/api/v1/whoami"): lambda w: {},
        ("GET", "/api/v1/users"): lambda w: {},
        ("POST", "/api/v1/users"): lambda w: {"json": {"name": f"u{new_id()[:8]}"}},
        ("GET", "/api/v1/users/{name}"): lambda w: {"name": "vic"},
        ("PATCH", "/api/v1/users/{name}"): lambda w: {"name": "vic", "json": {}},
        ("GET", "/api/v1/tokens"): lambda w: {},
        ("POST", "/api/v1/tokens"): lambda w: {"json": {"name": "mine"}},
        ("DELETE", "/api/v1/tokens/{token_id}"): lambda w: {"token_id": w.user_token_id},
        ("GET", p + "/members"): lambda w: {},
        ("PUT", p + "/members/{user}"): lambda w: {"user": "vic", "json": {"role": "viewer"}},
        ("DELETE", p + "/members/{user}"): lambda w: {"user": "vic"},
        ("PATCH", p + "/settings"): lambda w: {"json": {}},
        # OIDC is off in this world: each answers 404 to anyone (tests/server/test_oidc.py).
        ("GET", "/api/v1/auth/oidc"): lambda w: {},
        ("GET", "/api/v1/auth/oidc/login"): lambda w: {},
        ("GET", "/api/v1/auth/oidc/callback"): lambda w: {"params": {"code": "c", "state": "s"}},
        ("POST", "/api/v1/auth/oidc/exchange"): lambda w: {"json": {"id_token": "x.y.z"}},
        ("GET", p + "/alias-requests"): lambda w: {},
        ("POST", p + "/alias-requests/{request_id}/approve"): lambda w: {"request_id": new_id()},
        ("POST", p + "/alias-requests/{request_id}/reject"): lambda w: {"request_id": new_id()},
    }


def _send(w: World, method: str, path: str, role: str, how: dict[str, Any]) -> httpx.Response:
    values = {
        "project": "alpha",
        "run_id": w.run,
        "trace_id": w.trace,
        "version": "1",
        "alias": "staging",
        "revision": "1",
        **{k: v for k, v in how.items() if k not in ("json", "params", "content", "headers")},
    }
    url = path.format(**{k: values[k] for k in _placeholders(path)})
    token = w.tokens[role]
    headers = {**how.get("headers", {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(
        method,
        w.url + url,
        json=how.get("json"),
        params=how.get("params"),
        content=how.get("content"),
        headers=headers,
        timeout=30,
    )


def _placeholders(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _expect_denied(status: int, role: str, path: str, what: str) -> None:
    if role == "anonymous":
        assert status == 401, what
    elif role == "other" and "{project}" not in path:
        assert status in (403, 404), what  # by id: the other project's object looks missing
    else:
        assert status == 403, what


def test_every_operation_answers_each_role_as_its_permission_says(world: World) -> None:
    requests = _requests()
    found = operations(world.url)
    missing = [(m, p) for m, p, _ in found if (m, p) not in requests]
    assert missing == [], f"add a request for these operations to the role matrix: {missing}"
    checked = 0
    for method, path, permission in found:
        how = requests[(method, path)](world)
        for role in ROLES:
            answer = _send(world, method, path, role, how)
            status = answer.status_code
            what = f"{method} {path} as {role}: {status} {answer.text[:300]}"
            assert status < 500, what
            if permission == "public":
                assert status not in (401, 403), what
            elif role == "anonymous":
                assert status == 401, what
                if method != "HEAD":  # a HEAD answer has no body
                    assert answer.json()["error_code"] == "UNAUTHENTICATED", what
            elif permission == "authenticated":
                assert status != 401, what
            elif permission == "server_admin":
                _expect_denied(status, role, path, what)
            elif (method, path) in CROSS_PROJECT and role == "other":
                assert status == 200, what  # its own view: nothing of alpha's in it
                assert world.run not in answer.text and world.trace not in answer.text, what
            elif role == "other" or Role(role) < NEEDED[permission]:
                _expect_denied(status, role, path, what)
                if status == 403 and method != "HEAD":
                    assert answer.json()["error_code"] == "PERMISSION_DENIED", what
            else:
                assert status not in (401, 403), what
            checked += 1
    assert checked == len(found) * len(ROLES)
    world.assert_no_secret_logged()


def test_an_other_projects_run_and_trace_look_missing(world: World) -> None:
    """By id, another project's object answers byte for byte as a missing one."""
    for path, real in (
        ("/api/v1/runs/{}", world.run),
        ("/api/v1/runs/{}/inputs", world.run),
        ("/api/v1/traces/{}", world.trace),
    ):
        fake = new_id()
        headers = {"Authorization": f"Bearer {world.tokens['other']}"}
        hidden = httpx.get(world.url + path.format(real), headers=headers, timeout=30)
        absent = httpx.get(world.url + path.format(fake), headers=headers, timeout=30)
        assert hidden.status_code == absent.status_code == 404, (path, hidden.text)
        assert hidden.content == absent.content.replace(fake.encode(), real.encode())


def test_the_matrix_knows_no_more_operations_than_the_server(tmp_path: Path) -> None:
    """Requests for routes that are gone are dead entries: keep the table exact."""
    from windlass.server.app import create_app
    from windlass.tracking.backend import open_tracking

    tracking = open_tracking(f"sqlite:///{tmp_path / 'm.db'}", str(tmp_path / "a"))
    document = create_app(tracking).openapi()
    tracking.close()
    served = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert sorted(set(_requests()) - served) == []


# -- audit completeness ----------------------------------------------------------------------
def _mutations(w: World, api: httpx.Client) -> list[tuple[str, str, Callable[[], httpx.Response]]]:
    """Each mutating operation once, as the server admin, with a body that succeeds."""
    p = "/api/v1/projects/alpha"
    run = api.post("/api/v1/runs", json={"project_id": w.alpha, "name": "audited"}).json()["id"]
    version = api.get(f"{p}/models/m/versions/1").json()
    digest = blake3.blake3(w.blob).hexdigest()
    assert api.put(f"/api/v1/blobs/{digest}", content=w.blob).status_code in (200, 201, 204)
    variant = {"name": "one", "model_uri": "models:/m@staging", "weight": 1.0}
    span = _span(w.trace)
    token = api.post("/api/v1/tokens", json={"name": "to-revoke"}).json()["token"]["id"]
    # Two alias requests by ada (an admin of alpha) for the server admin to decide.
    review = api.patch(f"{p}/settings", json={"two_person_review": True})
    assert review.status_code == 200, review.text
    ada = {"Authorization": f"Bearer {w.tokens['admin']}"}
    for _ in range(2):
        held = api.put(f"{p}/models/m/aliases/production", json={"version": 1}, headers=ada)
        assert held.status_code == 202, held.text
    first, second = (r["id"] for r in api.get(f"{p}/alias-requests").json()["requests"])

    def call(method: str, path: str, **kw: Any) -> Callable[[], httpx.Response]:
        return lambda: api.request(method, path, **kw)

    r = f"/api/v1/runs/{run}"
    return [
        ("POST", "/api/v1/projects", call("POST", "/api/v1/projects", json={"name": "gamma"})),
        ("POST", "/api/v1/runs", call("POST", "/api/v1/runs", json={"project_id": w.alpha})),
        ("PATCH", "/api/v1/runs/{run_id}", call("PATCH", r, json={"name": "renamed"})),
        (
            "POST",
            "/api/v1/runs/{run_id}/params",
            call("POST", r + "/params", json={"params": {"k": "v"}}),
        ),
        (
            "POST",
            "/api/v1/runs/{run_id}/tags",
            call("POST", r + "/tags", json={"tags": {"k": "v"}}),
        ),
        ("DELETE", "/api/v1/runs/{run_id}/tags", call("DELETE", r + "/tags", params={"key": "k"})),
        (
            "POST",
            "/api/v1/metrics",
            call(
                "POST",
                "/api/v1/metrics",
                json={
                    "id": new_id(),
                    "run_ids": [run],
                    "keys": ["x"],
                    "values": [1.0],
                    "steps": [0],
                    "timestamps": [now_ms()],
                },
            ),
        ),
        (
            "POST",
            "/api/v1/runs/{run_id}/inputs",
            call("POST", r + "/inputs", json={"inputs": [{"name": "train", "digest": "abc"}]}),
        ),
        (
            "POST",
            "/api/v1/runs/{run_id}/artifacts",
            call(
                "POST",
                r + "/artifacts",
                json={"entries": [{"path": "b.bin", "digest": digest, "size": len(w.blob)}]},
            ),
        ),
        ("DELETE", "/api/v1/runs/{run_id}", call("DELETE", r)),
        ("POST", "/api/v1/runs/{run_id}/restore", call("POST", r + "/restore")),
        (
            "POST",
            p.replace("alpha", "{project}") + "/models",
            call("POST", f"{p}/models", json={"name": "m2"}),
        ),
        (
            "PATCH",
            "/api/v1/projects/{project}/models/{name}",
            call("PATCH", f"{p}/models/m2", json={"description": "d"}),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/models/{name}/versions",
            call(
                "POST",
                f"{p}/models/m2/versions",
                json={
                    "source": version["source"],
                    "files": [
                        {k: f[k] for k in ("path", "digest", "size")} for f in version["files"]
                    ],
                    "manifest": version["manifest"],
                    "create_missing_model": False,
                },
            ),
        ),
        (
            "PUT",
            "/api/v1/projects/{project}/models/{name}/aliases/{alias}",
            call("PUT", f"{p}/models/m2/aliases/staging", json={"version": 1}),
        ),
        (
            "DELETE",
            "/api/v1/projects/{project}/models/{name}/aliases/{alias}",
            call("DELETE", f"{p}/models/m2/aliases/staging"),
        ),
        (
            "DELETE",
            "/api/v1/projects/{project}/models/{name}/versions/{version}",
            call("DELETE", f"{p}/models/m2/versions/1"),
        ),
        ("DELETE", "/api/v1/projects/{project}/models/{name}", call("DELETE", f"{p}/models/m2")),
        (
            "POST",
            "/api/v1/projects/{project}/deployments",
            call("POST", f"{p}/deployments", json={"name": "d2", "variants": [variant]}),
        ),
        (
            "PATCH",
            "/api/v1/projects/{project}/deployments/{name}",
            call("PATCH", f"{p}/deployments/d2", json={"weights": {"one": 2.0}}),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/deployments/{name}/promote",
            call("POST", f"{p}/deployments/d2/promote", json={"variant": "one"}),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/deployments/{name}/rollback",
            call("POST", f"{p}/deployments/d2/rollback", json={}),
        ),
        (
            "DELETE",
            "/api/v1/projects/{project}/deployments/{name}",
            call("DELETE", f"{p}/deployments/d2"),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/spans",
            call("POST", f"{p}/spans", json={"spans": [span]}),
        ),
        (
            "POST",
            "/v1/traces",
            call(
                "POST", "/v1/traces", json=_otlp(new_id()), headers={"x-windlass-project": "alpha"}
            ),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/prompts",
            call("POST", f"{p}/prompts", json={"name": "p2"}),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/prompts/{name}/versions",
            call("POST", f"{p}/prompts/p2/versions", json={"template": "hi"}),
        ),
        (
            "PUT",
            "/api/v1/projects/{project}/prompts/{name}/aliases/{alias}",
            call("PUT", f"{p}/prompts/p2/aliases/staging", json={"version": 1}),
        ),
        (
            "DELETE",
            "/api/v1/projects/{project}/prompts/{name}/aliases/{alias}",
            call("DELETE", f"{p}/prompts/p2/aliases/staging"),
        ),
        ("DELETE", "/api/v1/projects/{project}/prompts/{name}", call("DELETE", f"{p}/prompts/p2")),
        ("POST", "/api/v1/users", call("POST", "/api/v1/users", json={"name": "newbie"})),
        (
            "PATCH",
            "/api/v1/users/{name}",
            call("PATCH", "/api/v1/users/newbie", json={"disabled": True}),
        ),
        ("POST", "/api/v1/tokens", call("POST", "/api/v1/tokens", json={"name": "another"})),
        ("DELETE", "/api/v1/tokens/{token_id}", call("DELETE", f"/api/v1/tokens/{token}")),
        (
            "PUT",
            "/api/v1/projects/{project}/members/{user}",
            call("PUT", f"{p}/members/newbie", json={"role": "viewer"}),
        ),
        (
            "DELETE",
            "/api/v1/projects/{project}/members/{user}",
            call("DELETE", f"{p}/members/newbie"),
        ),
        (
            "PATCH",
            "/api/v1/projects/{project}/settings",
            call("PATCH", f"{p}/settings", json={"protected_aliases": ["production", "gold"]}),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/alias-requests/{request_id}/approve",
            call("POST", f"{p}/alias-requests/{first}/approve"),
        ),
        (
            "POST",
            "/api/v1/projects/{project}/alias-requests/{request_id}/reject",
            call("POST", f"{p}/alias-requests/{second}/reject"),
        ),
    ]


def _audit_count(api: httpx.Client) -> int:
    answer = api.get("/api/v1/audit", params={"max_results": 1000})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["records"])


def test_each_mutation_route_appends_exactly_one_audit_record(world: World) -> None:
    api = httpx.Client(
        base_url=world.url, headers={"Authorization": f"Bearer {world.tokens['root']}"}, timeout=30
    )
    mutations = _mutations(world, api)
    routes = {(m, p) for m, p, _ in operations(world.url) if m not in ("GET", "HEAD")}
    covered = {(m, p) for m, p, _ in mutations}
    assert sorted(routes - covered - set(NOT_AUDITED)) == [], "add these to the audit test"
    for method, path, call in mutations:
        before = _audit_count(api)
        answer = call()
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
        assert _audit_count(api) == before + 1, (method, path)
    world.assert_no_secret_logged()
