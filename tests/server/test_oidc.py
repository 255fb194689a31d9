"""OIDC login over a real server and a real (small) OIDC provider, both on loopback.

The browser flow is followed step by step with httpx (no redirects followed for us): the
server's ``/login`` sends the browser to the provider, the provider back to ``/callback``
with a code, the callback sets the session cookie. The token exchange and every refusal
(bad state, replayed code, wrong nonce, wrong audience, expired, badly signed) run against
the same server; the CLI's device flow runs through ``windlass login --oidc``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from oidc_provider import Misbehave, OidcProvider
from windlass.access.identity import BROWSER_SESSION_TOKEN, Identity
from windlass.access.policy import Policy
from windlass.cli.main import build_app
from windlass.principal import AuthMethod, Principal
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess

ROLES = "churn-team=editor:churn,readers=viewer:churn,platform=server-admin,fraud-team=viewer:fraud"
LOGIN = "/api/v1/auth/oidc/login"
EXCHANGE = "/api/v1/auth/oidc/exchange"


@dataclass
class World:
    """A server with auth and OIDC on, its provider, and the local admin's token."""

    url: str
    idp: OidcProvider
    root: str
    log: Path

    def admin(self) -> httpx.Client:
        """Return a client acting as the local server admin."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.root}"}, timeout=30
        )

    def audit(self, action: str) -> list[dict[str, Any]]:
        """Return the audit records of ``action``, newest first."""
        with self.admin() as api:
            answer = api.get("/api/v1/audit", params={"max_results": 1000})
        assert answer.status_code == 200, answer.text
        return [r for r in answer.json()["records"] if r["action"] == action]


def _bootstrap(uri: str) -> str:
    """Make the local server admin ``root`` and projects churn and fraud; return its token."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        user = identity.create_user(Principal("installer"), "root", bootstrap=True)
        root = Principal("root", auth=AuthMethod.TOKEN, user_id=user.id, admin=True)
        secret = identity.create_token(root, name="root")[1]
    finally:
        store.close()
    return secret


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    """A provider whose user is ada of churn-team."""
    with OidcProvider(
        user={"sub": "ada-sub", "preferred_username": "ada", "groups": ["churn-team"]}
    ) as provider:
        yield provider


def _oidc_env(idp: OidcProvider, **extra: str) -> dict[str, str]:
    return {
        "WINDLASS_AUTH": "on",
        "WINDLASS_AUTH_CACHE_SECONDS": "0",
        "WINDLASS_OIDC_DISCOVERY_URL": idp.discovery_url,
        "WINDLASS_OIDC_CLIENT_ID": idp.client_id,
        "WINDLASS_OIDC_CLIENT_SECRET": idp.client_secret,
        "WINDLASS_OIDC_ROLES": ROLES,
        "WINDLASS_AUTH_MAX_FAILURES": "1000",
        **extra,
    }


@pytest.fixture
def world(tmp_path: Path, idp: OidcProvider, server_factory: type[ServerProcess]) -> World:
    """A server with auth and OIDC on over SQLite, projects churn and fraud made."""
    uri = f"sqlite:///{tmp_path / 'oidc.db'}"
    root = _bootstrap(uri)
    server = server_factory(uri, str(tmp_path / "artifacts"), env=_oidc_env(idp))
    made = World(server.url, idp, root, server.log)
    with made.admin() as api:
        for name in ("churn", "fraud"):
            assert api.post("/api/v1/projects", json={"name": name}).status_code == 200
    return made


def _browser_login(world: World, browser: httpx.Client, next_path: str = "/") -> httpx.Response:
    """Run the browser flow step by step; return the callback's answer."""
    start = browser.get(f"{world.url}{LOGIN}", params={"next": next_path})
    assert start.status_code == 302, start.text
    to_idp = start.headers["location"]
    assert to_idp.startswith(world.idp.issuer + "/authorize?")
    approved = browser.get(to_idp)
    assert approved.status_code == 302, approved.text
    back = approved.headers["location"]
    assert back.startswith(f"{world.url}/api/v1/auth/oidc/callback?")
    return browser.get(back)


def test_browser_login_sets_a_session_cookie_that_authenticates(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        start = browser.get(f"{world.url}{LOGIN}", params={"next": "/api/v1/whoami"})
        assert start.status_code == 302
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
        assert query["client_id"] == ["windlass"] and query["nonce"][0] and query["state"][0]
        assert query["redirect_uri"] == [f"{world.url}/api/v1/auth/oidc/callback"]
        state_cookie = start.headers["set-cookie"].lower()
        assert "httponly" in state_cookie and "samesite=lax" in state_cookie
        assert "path=/api/v1/auth/oidc" in state_cookie and "secure" not in state_cookie

        done = _browser_login(world, browser, "/api/v1/whoami")
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/api/v1/whoami"
        session = [c for c in done.headers.get_list("set-cookie") if "windlass_session" in c]
        assert session and "httponly" in session[0].lower() and "samesite=lax" in session[0].lower()
        me = browser.get(f"{world.url}/api/v1/whoami")
        assert me.status_code == 200, me.text
        assert (me.json()["name"], me.json()["admin"]) == ("ada", False)
        assert [r["role"] for r in me.json()["roles"]] == ["editor"]

        # A change by cookie needs the CSRF header; with it, ada writes as the editor she is.
        churn = browser.get(f"{world.url}/api/v1/projects/churn").json()["id"]
        refused = browser.post(f"{world.url}/api/v1/runs", json={"project_id": churn})
        assert refused.status_code == 403 and "x-windlass-csrf" in refused.text
        made = browser.post(
            f"{world.url}/api/v1/runs",
            json={"project_id": churn},
            headers={"X-Windlass-Csrf": "1"},
        )
        assert made.status_code == 200, made.text

    with world.admin() as api:
        user = api.get("/api/v1/users/ada").json()
    assert user["kind"] == "oidc" and user["oidc_subject"] == f"{world.idp.issuer} ada-sub"
    assert not user["has_password"]
    (record,) = world.audit("login.oidc")
    assert record["principal"] == "ada" and record["auth_method"] == "oidc"
    assert record["after"]["created"] is True and record["after"]["roles"] == {"churn": "editor"}
    logged = world.log.read_text(errors="replace")
    assert world.idp.client_secret not in logged


def test_signing_out_ends_an_oidc_session_but_not_a_pasted_token(world: World) -> None:
    """POST /logout revokes the token an OIDC browser login minted; a pasted one lives on."""
    with httpx.Client(timeout=30) as browser:
        assert _browser_login(world, browser, "/api/v1/whoami").status_code == 302
        session = browser.cookies["windlass_session"]
        assert browser.get(f"{world.url}/api/v1/whoami").status_code == 200
        out = browser.post(f"{world.url}/logout", headers={"Sec-Fetch-Site": "same-origin"})
        assert out.status_code == 303, out.text
    # The cookie's token no longer authenticates, even sent by hand.
    again = httpx.get(
        f"{world.url}/api/v1/whoami", headers={"Authorization": f"Bearer {session}"}, timeout=30
    )
    assert again.status_code == 401, again.text
    (revoked,) = world.audit("token.revoke")
    assert revoked["principal"] == "ada" and revoked["after"]["name"] == BROWSER_SESSION_TOKEN
    assert revoked["after"]["revoked_at"] is not None

    # An admin's own API token, pasted into the sign-in page, survives signing out.
    with httpx.Client(timeout=30, cookies={"windlass_session": world.root}) as browser:
        out = browser.post(f"{world.url}/logout", headers={"Sec-Fetch-Site": "same-origin"})
        assert out.status_code == 303
    with world.admin() as api:
        assert api.get("/api/v1/whoami").status_code == 200
    assert len(world.audit("token.revoke")) == 1


def test_bad_state_replayed_code_and_wrong_nonce_are_refused(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        start = browser.get(f"{world.url}{LOGIN}")
        approved = browser.get(start.headers["location"])
        back = approved.headers["location"]
        code = parse_qs(urlsplit(back).query)["code"][0]
        callback = f"{world.url}/api/v1/auth/oidc/callback"

        # Another state than the one this browser's cookie holds.
        forged = browser.get(callback, params={"code": code, "state": "not-the-state"})
        assert forged.status_code == 401 and forged.json()["details"]["reason"] == "state"
        # No state cookie at all (another browser).
        with httpx.Client(timeout=30) as stranger:
            assert stranger.get(back).json()["details"]["reason"] == "state"
        # A forged cookie.
        with httpx.Client(timeout=30, cookies={"windlass_oidc": "e30.AAAA"}) as forger:
            assert forger.get(back).json()["details"]["reason"] == "state"

        assert browser.get(back).status_code == 302  # the real one succeeds once ...
        replay = browser.get(back)  # ... and never again
        assert replay.status_code == 401 and replay.json()["error_code"] == "UNAUTHENTICATED"

        # The used code with a fresh login's state: the provider refuses the code.
        fresh = browser.get(f"{world.url}{LOGIN}")
        state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
        reused = browser.get(callback, params={"code": code, "state": state})
        assert reused.status_code == 401 and reused.json()["details"]["reason"] == "code"

        world.idp.misbehave = Misbehave(nonce="someone-elses-nonce")
        wrong = _browser_login(world, browser)
        assert wrong.status_code == 401 and wrong.json()["details"]["reason"] == "nonce"

    reasons = sorted(r["after"]["reason"] for r in world.audit("login.fail"))
    assert reasons == ["code", "nonce", "state", "state", "state", "state"]


def test_next_must_stay_on_the_server(world: World) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil", "relative"):
        answer = httpx.get(f"{world.url}{LOGIN}", params={"next": target}, timeout=30)
        assert answer.status_code == 400, (target, answer.text)
        assert answer.json()["error_code"] == "INVALID_INPUT"


def _exchange(world: World, id_token: str) -> httpx.Response:
    return httpx.post(f"{world.url}{EXCHANGE}", json={"id_token": id_token}, timeout=30)


def _audit_count(world: World) -> int:
    with world.admin() as api:
        return len(api.get("/api/v1/audit", params={"max_results": 1000}).json()["records"])


def test_exchange_gives_an_expiring_token(world: World) -> None:
    before = _audit_count(world)
    answer = _exchange(world, world.idp.id_token())
    assert _audit_count(world) == before + 1  # one login.oidc record, user creation included
    assert answer.status_code == 200, answer.text
    body = answer.json()
    token = body["token"]
    assert body["user"]["name"] == "ada" and token["name"] == "oidc-exchange"
    lifetime = token["expires_at"] - token["created_at"]
    assert lifetime == 12 * 3600 * 1000
    me = httpx.get(
        f"{world.url}/api/v1/whoami",
        headers={"Authorization": f"Bearer {body['secret']}"},
        timeout=30,
    )
    assert me.status_code == 200 and me.json()["name"] == "ada"
    assert body["secret"] not in world.log.read_text(errors="replace")


@pytest.mark.parametrize(
    ("misbehave", "reason"),
    [
        (Misbehave(audience="another-client"), "audience"),
        (Misbehave(expired=True), "expired"),
        (Misbehave(foreign_key=True), "signature"),
        (Misbehave(issuer="http://127.0.0.1:9/elsewhere"), "issuer"),
    ],
)
def test_exchange_refuses_bad_id_tokens(world: World, misbehave: Misbehave, reason: str) -> None:
    world.idp.misbehave = misbehave
    answer = _exchange(world, world.idp.id_token())
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert answer.json()["details"]["reason"] == reason
    assert [r["after"]["reason"] for r in world.audit("login.fail")] == [reason]


def test_a_rotated_provider_key_is_fetched_once_and_accepted(world: World) -> None:
    """A token naming a key id the server has not seen makes it read the JWKS again, once."""
    assert _exchange(world, world.idp.id_token()).status_code == 200
    fetched = world.idp.jwks_requests
    world.idp.rotate_key()
    rotated = _exchange(world, world.idp.id_token())
    assert rotated.status_code == 200, rotated.text
    assert world.idp.jwks_requests == fetched + 1
    # Within the minute after a refresh, an unknown key id costs no further fetch.
    world.idp.rotate_key()
    assert _exchange(world, world.idp.id_token()).status_code == 401
    assert world.idp.jwks_requests == fetched + 1


def test_exchange_refuses_garbage_and_unsigned_tokens(world: World) -> None:
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    claims = world.idp.id_token().split(".")[1]
    for token in ("not-a-jwt", f"{header}.{claims}."):
        answer = _exchange(world, token)
        assert answer.status_code == 401, answer.text
    assert _exchange(world, "").status_code == 400


def test_claims_map_to_roles_and_a_viewer_reads_but_does_not_write(world: World) -> None:
    world.idp.user = {"sub": "vera-sub", "preferred_username": "vera", "groups": "readers"}
    vera = _exchange(world, world.idp.id_token()).json()["secret"]
    api = httpx.Client(base_url=world.url, headers={"Authorization": f"Bearer {vera}"}, timeout=30)
    churn = api.get("/api/v1/projects/churn")
    assert churn.status_code == 200
    assert api.get("/api/v1/projects/churn/models").status_code == 200
    write = api.post("/api/v1/runs", json={"project_id": churn.json()["id"]})
    assert write.status_code == 403 and write.json()["error_code"] == "PERMISSION_DENIED"
    assert api.get("/api/v1/projects/fraud/models").status_code == 403

    # Her groups change: the roles of the projects the mapping names follow them.
    world.idp.user = {**world.idp.user, "groups": ["fraud-team", "platform", "unmapped"]}
    again = _exchange(world, world.idp.id_token()).json()
    assert again["user"]["admin"] is True
    with world.admin() as admin:
        members = admin.get("/api/v1/projects/churn/members").json()["members"]
        assert "vera" not in [m["user_name"] for m in members]
        fraud = admin.get("/api/v1/projects/fraud/members").json()["members"]
        assert [(m["user_name"], m["role"]) for m in fraud] == [("vera", "viewer")]
    assert world.audit("login.oidc")[0]["after"]["roles"] == {"churn": "", "fraud": "viewer"}
    world.idp.user = {**world.idp.user, "groups": []}
    assert _exchange(world, world.idp.id_token()).json()["user"]["admin"] is False
    api.close()


def test_a_local_users_name_and_a_disabled_user_are_refused(world: World) -> None:
    world.idp.user = {"sub": "mallory", "preferred_username": "root", "groups": ["platform"]}
    taken = _exchange(world, world.idp.id_token())
    assert taken.status_code == 401 and taken.json()["details"]["reason"] == "name_taken"

    world.idp.user = {"sub": "ada-sub", "preferred_username": "ada"}
    assert _exchange(world, world.idp.id_token()).status_code == 200
    with world.admin() as admin:
        assert admin.patch("/api/v1/users/ada", json={"disabled": True}).status_code == 200
    disabled = _exchange(world, world.idp.id_token())
    assert disabled.status_code == 401 and disabled.json()["details"]["reason"] == "disabled"
    # Without a preferred_username the subject names the user.
    world.idp.user = {"sub": "bob-sub"}
    assert _exchange(world, world.idp.id_token()).json()["user"]["name"] == "bob-sub"


def test_failed_logins_are_rate_limited_and_a_proxy_callback_is_used(
    tmp_path: Path, idp: OidcProvider, server_factory: type[ServerProcess]
) -> None:
    uri = f"sqlite:///{tmp_path / 'limited.db'}"
    _bootstrap(uri)
    callback = "https://windlass.example.com/api/v1/auth/oidc/callback"
    env = _oidc_env(idp, WINDLASS_AUTH_MAX_FAILURES="2", WINDLASS_OIDC_REDIRECT_URL=callback)
    server = server_factory(uri, str(tmp_path / "a"), env=env)
    # Behind a proxy ending TLS: the registered callback is named, and cookies are Secure.
    start = httpx.get(f"{server.url}{LOGIN}", timeout=30)
    assert parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"] == [callback]
    assert "; secure" in start.headers["set-cookie"].lower()
    idp.misbehave = Misbehave(audience="nope")
    statuses = [
        httpx.post(f"{server.url}{EXCHANGE}", json={"id_token": idp.id_token()}, timeout=30)
        for _ in range(3)
    ]
    assert [s.status_code for s in statuses] == [401, 401, 429]
    assert int(statuses[-1].headers["retry-after"]) >= 1


def test_oidc_is_off_without_a_discovery_url(server_factory: type[ServerProcess]) -> None:
    server = server_factory(env={"WINDLASS_AUTH": "on"})
    for method, path in (("GET", LOGIN), ("GET", "/api/v1/auth/oidc")):
        answer = httpx.request(method, f"{server.url}{path}", timeout=30)
        assert answer.status_code == 404 and "WINDLASS_OIDC_DISCOVERY_URL" in answer.text
    answer = httpx.post(f"{server.url}{EXCHANGE}", json={"id_token": "x"}, timeout=30)
    assert answer.status_code == 404


# -- the CLI ---------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_device_flow_prints_a_working_token(world: World) -> None:
    started = time.monotonic()
    result = runner.invoke(
        build_app(), ["login", "--oidc", "--uri", world.url], env={"WINDLASS_TOKEN": ""}
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("wl_") and "\n" not in secret
    assert "WDLS-1234" in result.stderr and "/activate" in result.stderr
    assert time.monotonic() - started >= 1.0  # it waited for the pending poll
    me = httpx.get(
        f"{world.url}/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
    assert me.json()["name"] == "ada"
    assert world.audit("login.oidc")[0]["after"]["via"] == "exchange"


def test_cli_exchanges_an_id_token_from_stdin(world: World) -> None:
    result = runner.invoke(
        build_app(),
        ["login", "--oidc", "--id-token-stdin", "--uri", world.url, "--json"],
        input=world.idp.id_token() + "\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["user"]["name"] == "ada"
    world.idp.misbehave = Misbehave(expired=True)
    refused = runner.invoke(
        build_app(),
        ["login", "--oidc", "--id-token-stdin", "--uri", world.url],
        input=world.idp.id_token() + "\n",
    )
    assert refused.exit_code != 0 and "expired" in refused.output


def test_cli_without_device_flow_says_what_to_do(world: World) -> None:
    world.idp.device_flow = False
    result = runner.invoke(build_app(), ["login", "--oidc", "--uri", world.url])
    assert result.exit_code != 0 and "--id-token-stdin" in result.output
