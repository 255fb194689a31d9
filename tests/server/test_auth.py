"""A real server with ``WINDLASS_AUTH=on``: bearer tokens, users, tokens, members, modes.

The store is bootstrapped directly (as ``windlass users create`` against the store does),
then every call goes over HTTP to a ``windlass server`` subprocess, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import windlass
from windlass.access.identity import BAD_CREDENTIALS, Identity
from windlass.access.policy import Policy
from windlass.exceptions import Unauthenticated
from windlass.principal import AuthMethod, Principal
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess, free_port


def bootstrap(uri: str) -> str:
    """Create the first admin, ``root``, in the store at ``uri``; return a token of it."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = identity.create_user(Principal("installer"), "root", bootstrap=True)
        who = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
        return identity.create_token(who, name="bootstrap")[1]
    finally:
        store.close()


class Api:
    """An HTTP client of the server, as one token (or none)."""

    def __init__(self, url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def __call__(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        answer = self.http.request(method, path, **kw)
        assert answer.status_code == status, (method, path, answer.status_code, answer.text)
        return answer.json()


@pytest.fixture(params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, server_factory: type[ServerProcess]
) -> tuple[ServerProcess, str]:
    """A server with auth on over a bootstrapped store, and the admin's token."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'auth.db'}"
    else:
        uri = request.getfixturevalue("postgres_url")
    root_token = bootstrap(uri)
    return server_factory(uri, env={"WINDLASS_AUTH": "on"}), root_token


def test_requests_need_a_valid_bearer_token(served: tuple[ServerProcess, str]) -> None:
    proc, root_token = served
    anonymous, forged = Api(proc.url, None), Api(proc.url, "wl_" + "A" * 43)
    assert anonymous("GET", "/health")["status"] == "ok"  # probes stay open
    for api in (anonymous, forged):
        for method, path in (("GET", "/api/v1/whoami"), ("GET", "/api/v1/tokens")):
            answer = api.http.request(method, path)
            assert answer.status_code == 401, answer.text
            assert answer.json()["error_code"] == "UNAUTHENTICATED"
            assert answer.headers["www-authenticate"] == "Bearer"
    assert forged.http.get("/api/v1/whoami").json()["message"] == BAD_CREDENTIALS
    wrong_scheme = httpx.get(
        f"{proc.url}/api/v1/whoami", headers={"Authorization": f"Basic {root_token}"}
    )
    assert wrong_scheme.status_code == 401
    me = Api(proc.url, root_token)("GET", "/api/v1/whoami")
    assert (me["name"], me["auth"], me["admin"], me["scope"]) == ("root", "token", True, None)


def test_users_tokens_and_members_over_http(served: tuple[ServerProcess, str]) -> None:
    proc, root_token = served
    root = Api(proc.url, root_token)
    ada = root("POST", "/api/v1/users", json={"name": "ada"})
    assert (ada["name"], ada["admin"], ada["disabled"]) == ("ada", False, False)
    root("POST", "/api/v1/users", 409, json={"name": "ada"})
    root("POST", "/api/v1/users", 400, json={"name": "no spaces"})
    assert [u["name"] for u in root("GET", "/api/v1/users")["users"]] == ["ada", "root"]
    project = root("POST", "/api/v1/projects", json={"name": "churn"})
    member = root("PUT", "/api/v1/projects/churn/members/ada", json={"role": "editor"})
    assert (member["user_name"], member["role"]) == ("ada", "editor")
    made = root("POST", "/api/v1/tokens", json={"name": "ada-ci", "user": "ada"})
    assert made["token"]["user_name"] == "ada" and made["secret"].startswith("wl_")
    assert "digest" not in made["token"] and made["secret"] not in str(made["token"])

    as_ada = Api(proc.url, made["secret"])
    me = as_ada("GET", "/api/v1/whoami")
    assert me["roles"] == [{"project_id": project["id"], "role": "editor"}] and not me["admin"]
    as_ada("GET", "/api/v1/users", 403)
    as_ada("POST", "/api/v1/users", 403, json={"name": "eve"})
    as_ada("PUT", "/api/v1/projects/churn/members/ada", 403, json={"role": "admin"})
    assert [m["user_name"] for m in as_ada("GET", "/api/v1/projects/churn/members")["members"]] == [
        "ada"
    ]
    as_ada("POST", "/api/v1/tokens", 403, json={"project": "churn", "role": "admin"})
    scoped = as_ada("POST", "/api/v1/tokens", json={"project": "churn", "role": "viewer"})
    as_scoped = Api(proc.url, scoped["secret"])
    assert as_scoped("GET", "/api/v1/whoami")["scope"] == {
        "project_id": project["id"],
        "role": "viewer",
    }
    assert {t["name"] for t in as_ada("GET", "/api/v1/tokens")["tokens"]} == {"ada-ci", "token"}
    assert len(root("GET", "/api/v1/tokens")["tokens"]) == 3  # an admin sees every token

    as_ada("DELETE", f"/api/v1/tokens/{scoped['token']['id']}")
    as_scoped("GET", "/api/v1/whoami", 401)
    root("PATCH", "/api/v1/users/ada", json={"disabled": True})
    as_ada("GET", "/api/v1/whoami", 401)
    root("PATCH", "/api/v1/users/ada", json={"disabled": False})
    as_ada("GET", "/api/v1/whoami")
    root("DELETE", "/api/v1/projects/churn/members/ada", json=None)
    assert root("GET", "/api/v1/projects/churn/members")["members"] == []

    # Each change was audited once, as the token's user and from the request's address;
    # with auth on only admins read the trail.
    created = root("GET", "/api/v1/audit", params={"action": "user.create"})["records"]
    assert [(r["principal"], r["object_uri"]) for r in created] == [("root", "users:/ada")]
    assert created[0]["address"] == "127.0.0.1" and created[0]["auth_method"] == "token"
    revoked = root("GET", "/api/v1/audit", params={"action": "token.revoke"})["records"]
    assert [r["principal"] for r in revoked] == ["ada"]
    as_ada("GET", "/api/v1/audit", 403)
    # The revoked token and ada's while she was disabled were refused, and audited as such
    # (against the user the token belongs to), without the secrets.
    failed = root("GET", "/api/v1/audit", params={"action": "auth.fail"})["records"]
    assert [(r["principal"], r["object_uri"], r["after"]["reason"]) for r in failed] == [
        ("ada", f"tokens:/{made['token']['id']}", "user disabled"),
        ("ada", f"tokens:/{scoped['token']['id']}", "token revoked"),
    ]
    trail = str(root("GET", "/api/v1/audit", params={"max_results": 1000})["records"])
    for secret in (root_token, made["secret"], scoped["secret"]):
        assert secret not in trail and secret[3:] not in trail
    # whoami says when the token stops working (a model server caches it no longer).
    assert me["expires_at"] is None
    short = root("POST", "/api/v1/tokens", json={"name": "short", "expires_in_seconds": 600})
    expiry = short["token"]["expires_at"]
    assert Api(proc.url, short["secret"])("GET", "/api/v1/whoami")["expires_at"] == expiry


def test_bad_tokens_from_one_address_are_limited(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    uri = f"sqlite:///{tmp_path / 'limit.db'}"
    root_token = bootstrap(uri)
    env = {"WINDLASS_AUTH": "on", "WINDLASS_AUTH_MAX_FAILURES": "3"}
    proc = server_factory(uri, env=env)
    forged, root = Api(proc.url, "wl_" + "B" * 43), Api(proc.url, root_token)
    Api(proc.url, None)("GET", "/api/v1/whoami", 401)  # no token is not a failed guess
    for _ in range(3):
        forged("GET", "/api/v1/whoami", 401)
    limited = forged.http.get("/api/v1/whoami")  # past the limit, a bad token gets 429
    assert limited.status_code == 429 and limited.json()["error_code"] == "TOO_MANY_REQUESTS"
    assert int(limited.headers["retry-after"]) >= 1
    # A valid token still passes: a guesser behind the same address locks nobody out.
    assert root("GET", "/api/v1/whoami")["name"] == "root"
    assert Api(proc.url, None)("GET", "/health")["status"] == "ok"  # probes stay open
    # Each failure before the limit was audited once; past it, a flood writes nothing.
    for _ in range(20):
        assert forged.http.get("/api/v1/tokens").status_code == 429
    trail = root("GET", "/api/v1/audit", params={"max_results": 1000})["records"]
    failed = [r for r in trail if r["action"] == "auth.fail"]
    assert [(r["principal"], r["object_uri"], r["auth_method"]) for r in failed] == [
        ("anonymous", "tokens:/?", "token")
    ] * 3
    assert {r["address"] for r in failed} == {"127.0.0.1"}
    assert {r["after"]["reason"] for r in failed} == {"unknown token"}
    assert "B" * 43 not in str(trail) and root_token not in str(trail)


def test_the_sdk_sends_windlass_token(
    served: tuple[ServerProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, root_token = served
    with windlass.Client(proc.url, project="sdk") as anonymous, pytest.raises(Unauthenticated):
        anonymous.runs.start(name="nope")
    monkeypatch.setenv("WINDLASS_TOKEN", root_token)
    with windlass.Client(proc.url, project="sdk") as client:
        with client.runs.start(name="authed") as run:
            run_id = run.id
        assert client.tracking.get_run(run_id).user == "root"


def _server_command(port: int, tmp_path: Path, *extra: str) -> list[str]:
    store = f"sqlite:///{tmp_path / 'bind.db'}"
    # Binding every interface is the point: the server must refuse it without auth.
    every_interface = "0.0.0.0"  # noqa: S104
    return [
        *(sys.executable, "-m", "windlass", "server", "--host", every_interface),
        *("--port", str(port)),
        *("--store", store, "--artifacts", str(tmp_path / "a"), *extra),
    ]


def test_a_server_beyond_loopback_refuses_to_start_without_auth(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "WINDLASS_AUTH"}
    refused = subprocess.run(
        _server_command(port, tmp_path), capture_output=True, text=True, env=env, timeout=60
    )
    assert refused.returncode == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "WINDLASS_AUTH=on" in said and "--insecure-no-auth" in said, said
    assert "windlass server on" not in refused.stdout  # it never got to bind

    started = subprocess.Popen(
        _server_command(port, tmp_path, "--insecure-no-auth"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert started.poll() is None, "the server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
    finally:
        started.terminate()
        started.wait(timeout=15)
