"""Protected aliases and two-person review over HTTP, with ``WINDLASS_AUTH=on``.

A real server over a bootstrapped SQLite store: a project admin turns two-person review
on (an editor may not); an admin's move of ``production`` answers 202 with a pending
request (the SDK over REST raises ApprovalPending naming it); the requester may not
approve it, a second admin does and the alias moves; each step is in the audit trail.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.exceptions import ApprovalPending, PermissionDenied
from windlass.genai.prompts.registry import PromptRegistry
from windlass.principal import AuthMethod, Principal
from windlass.store.rest.governance import RestGovernance
from windlass.store.rest.store import RestStore
from windlass.store.rest.transport import RestTransport
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess


def _bootstrap(uri: str) -> str:
    """Create the first admin of the store at ``uri``; return a token of theirs."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = identity.create_user(Principal("installer"), "root", bootstrap=True)
        who = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
        return identity.create_token(who, name="bootstrap")[1]
    finally:
        store.close()


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _member(root: httpx.Client, name: str, role: str) -> str:
    """Create user ``name`` with ``role`` in project alpha; return a token of theirs."""
    assert root.post("/api/v1/users", json={"name": name}).status_code == 200
    member = root.put(f"/api/v1/projects/alpha/members/{name}", json={"role": role})
    assert member.status_code == 200, member.text
    made = root.post("/api/v1/tokens", json={"name": f"{name}-t", "user": name})
    assert made.status_code == 200, made.text
    secret: str = made.json()["secret"]
    return secret


def test_two_person_review_over_http(tmp_path: Path, server_factory: type[ServerProcess]) -> None:
    uri = f"sqlite:///{tmp_path / 'review.db'}"
    server = server_factory(uri, str(tmp_path / "artifacts"), env={"WINDLASS_AUTH": "on"})
    root = _client(server.url, _bootstrap(uri))
    assert root.post("/api/v1/projects", json={"name": "alpha"}).status_code == 200
    ada_token = _member(root, "ada", "admin")
    bob_token = _member(root, "bob", "admin")
    editor = _client(server.url, _member(root, "eda", "editor"))
    ada = _client(server.url, ada_token)
    p = "/api/v1/projects/alpha"
    assert editor.post(f"{p}/prompts", json={"name": "greet"}).status_code == 200
    for text in ("hi", "hello"):
        made = editor.post(f"{p}/prompts/greet/versions", json={"template": text})
        assert made.status_code == 200, made.text

    # Settings: an editor may not change them; an admin does; the project shows them.
    denied = editor.patch(f"{p}/settings", json={"two_person_review": True})
    assert denied.status_code == 403, denied.text
    bad = ada.patch(f"{p}/settings", json={"protected_aliases": ["latest"]})
    assert bad.status_code == 400 and "latest" in bad.json()["message"], bad.text
    changed = ada.patch(f"{p}/settings", json={"two_person_review": True})
    assert changed.status_code == 200, changed.text
    shown = editor.get(p).json()
    assert shown["protected_aliases"] == ["production", "champion"]
    assert shown["two_person_review"] is True

    # An admin's move of production is held: 202 with the request; the alias did not move.
    held = ada.put(f"{p}/prompts/greet/aliases/production", json={"version": 1})
    assert held.status_code == 202, held.text
    first = held.json()
    assert (first["state"], first["requested_by"], first["version"]) == ("pending", "ada", 1)
    assert ada.get(f"{p}/prompts/greet/aliases/production").status_code == 404
    # The SDK over REST raises ApprovalPending with the request.
    prompts = PromptRegistry(RestStore(server.url, token=ada_token))
    with pytest.raises(ApprovalPending) as caught:
        prompts.set_alias("alpha", "greet", "production", 2)
    second = caught.value.request
    assert second.version == 2 and second.id in caught.value.message
    # An editor still moves an unprotected alias at once.
    moved = editor.put(f"{p}/prompts/greet/aliases/staging", json={"version": 1})
    assert moved.status_code == 200, moved.text

    listed = editor.get(f"{p}/alias-requests").json()["requests"]
    assert [r["id"] for r in listed] == [first["id"], second.id]
    as_ada = RestGovernance(RestTransport(server.url, token=ada_token))
    as_bob = RestGovernance(RestTransport(server.url, token=bob_token))
    with pytest.raises(PermissionDenied):  # not one's own request
        as_ada.approve("alpha", first["id"])
    assert editor.post(f"{p}/alias-requests/{first['id']}/approve").status_code == 403
    approved = as_bob.approve("alpha", first["id"])
    assert (approved.state, approved.decided_by) == ("approved", "bob")
    assert ada.get(f"{p}/prompts/greet/aliases/production").json()["version"] == 1
    again = _client(server.url, bob_token).post(f"{p}/alias-requests/{first['id']}/approve")
    assert again.status_code == 409 and again.json()["error_code"] == "INVALID_STATE"
    rejected = as_bob.reject("alpha", second.id)
    assert rejected.state == "rejected"
    assert as_ada.list_alias_requests("alpha") == []
    assert ada.get(f"{p}/prompts/greet/aliases/production").json()["version"] == 1
    history = ada.get(f"{p}/prompts/greet/alias-history", params={"alias": "production"})
    assert [e["claimed_by"] for e in history.json()["events"]] == ["bob"]

    trail = root.get("/api/v1/audit", params={"object": "prompts:/greet@production"})
    records = trail.json()["records"]
    assert [(r["action"], r["principal"]) for r in reversed(records)] == [
        ("alias.request", "ada"),
        ("alias.request", "ada"),
        ("alias.approve", "bob"),
        ("alias.reject", "bob"),
    ]
    assert httpx.get(f"{server.url}{p}/alias-requests").status_code == 401
