"""The domain gate over HTTP, with ``WINDLASS_AUTH=on``: roles, hidden objects, the trail.

A real ``windlass server`` over a bootstrapped SQLite store; users and members are made
through the API as its admin, then each call is made with a member's token. What the
domain services decide (tests/access/test_domain_checks.py) is what a client gets: 403
for a role too small, for another project's objects by id the very 404 body a missing id
gets, 401 without a token, and one audit record per mutation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.ids import new_id, now_ms
from windlass.principal import AuthMethod, Principal
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess


def _bootstrap(uri: str) -> str:
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = identity.create_user(Principal("installer"), "root", bootstrap=True)
        who = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
        return identity.create_token(who, name="bootstrap")[1]
    finally:
        store.close()


def _client(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def _member(root: httpx.Client, name: str, project: str, role: str) -> str:
    """Create user ``name`` with ``role`` in ``project``; return a token of theirs."""
    assert root.post("/api/v1/users", json={"name": name}).status_code == 200
    member = root.put(f"/api/v1/projects/{project}/members/{name}", json={"role": role})
    assert member.status_code == 200, member.text
    made = root.post("/api/v1/tokens", json={"name": f"{name}-t", "user": name})
    assert made.status_code == 200, made.text
    secret: str = made.json()["secret"]
    return secret


def _metrics(run_id: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "run_ids": [run_id],
        "keys": ["loss"],
        "values": [0.5],
        "steps": [0],
        "timestamps": [now_ms()],
    }


def test_roles_hidden_objects_and_the_trail_over_http(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    uri = f"sqlite:///{tmp_path / 'gate.db'}"
    token = _bootstrap(uri)
    server = server_factory(uri, env={"WINDLASS_AUTH": "on"})
    root = _client(server.url, token)
    alpha = root.post("/api/v1/projects", json={"name": "alpha"}).json()["id"]
    root.post("/api/v1/projects", json={"name": "beta"})
    viewer = _client(server.url, _member(root, "vic", "alpha", "viewer"))
    editor = _client(server.url, _member(root, "eda", "alpha", "editor"))
    stranger = _client(server.url, _member(root, "sam", "beta", "admin"))

    # An editor writes; a viewer reads but does not write; only an admin deletes.
    made = editor.post("/api/v1/runs", json={"project_id": alpha, "name": "r1"})
    assert made.status_code == 200, made.text
    run = made.json()["id"]
    assert made.json()["source"]["user"] == "eda"
    assert editor.post("/api/v1/metrics", json=_metrics(run)).status_code == 200
    assert viewer.get(f"/api/v1/runs/{run}").status_code == 200
    denied = viewer.post("/api/v1/metrics", json=_metrics(run))
    assert denied.status_code == 403 and denied.json()["error_code"] == "PERMISSION_DENIED"
    assert editor.delete(f"/api/v1/runs/{run}").status_code == 403
    assert root.delete(f"/api/v1/runs/{run}").status_code == 200

    # Another project's run by id: the very answer of a run that does not exist.
    missing = new_id()
    hidden = stranger.get(f"/api/v1/runs/{run}")
    absent = stranger.get(f"/api/v1/runs/{missing}")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.content == absent.content.replace(missing.encode(), run.encode())
    # Another project's objects by project: 403, checked before the body is looked at.
    refused = stranger.post("/api/v1/projects/alpha/models", json={"name": 5})
    assert refused.status_code == 403, refused.text
    assert stranger.get("/api/v1/projects/alpha/models").status_code == 403
    # Creating a project is a server admin's; listing shows one's own projects only.
    created = editor.post("/api/v1/projects", json={"name": "gamma"})
    assert created.status_code == 403 and "'gamma'" in created.json()["message"]
    listed = stranger.get("/api/v1/projects").json()["projects"]
    assert [p["name"] for p in listed] == ["beta"]
    # No token: 401.
    assert _client(server.url, None).get(f"/api/v1/runs/{run}").status_code == 401

    # One audit record per mutation, as the token's user.
    trail = root.get("/api/v1/audit", params={"object": f"runs:/{run}"}).json()["records"]
    assert [(r["action"], r["principal"]) for r in reversed(trail)] == [
        ("run.create", "eda"),
        ("run.metrics", "eda"),
        ("run.delete", "root"),
    ]
