"""``windlass serve --auth store``: the tracking store's API tokens open the model server.

A real ``windlass serve`` subprocess over a SQLite store bootstrapped with
:class:`~windlass.access.identity.Identity` (as ``windlass users create`` does), and once
through a ``windlass server`` with auth on, whose ``/api/v1/whoami`` checks the tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.principal import AuthMethod, Principal
from windlass.store.sql.store import SqlStore
from windlass_testing import ModelServerProcess, ServerProcess

ROWS = {"inputs": [[0.1, 0.2, 0.3], [0.9, 0.8, 0.7]]}
NO_CACHE = {"WINDLASS_AUTH_CACHE_SECONDS": "0"}


@dataclass
class Tokens:
    """The tokens the tests present, by what they may do in project ``scored``."""

    root: str
    viewer: str  # ada: viewer of scored
    scoped_viewer: str  # ada's token scoped to scored/viewer
    other_scope: str  # ada's token scoped to other/viewer (ada is viewer of both)
    stranger: str  # bob: admin of other, nothing in scored
    revocable: str  # ada's, revoked by the test
    revocable_id: str


def log_model(project: str) -> None:
    """Log and register a small model ``scored`` in ``project`` of the current store."""
    x = np.random.default_rng(0).random((30, 3))
    windlass.set_project(project)
    with windlass.start_run():
        windlass.log_model(
            LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int)),
            name="model",
            input_example=x[:2],
            registered_model_name="scored",
        )


def enroll(uri: str) -> Tokens:
    """Bootstrap root, make ada (viewer of scored and other) and bob (admin of other)."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        user = identity.create_user(Principal("installer"), "root", bootstrap=True)
        first = Principal("root", auth=AuthMethod.TOKEN, user_id=user.id, admin=True)
        root_token = identity.create_token(first, name="bootstrap")[1]
        root = identity.authenticate(root_token)
        for name in ("ada", "bob"):
            identity.create_user(root, name)
        for project in ("scored", "other"):
            identity.set_member(root, project, "ada", "viewer")
        identity.set_member(root, "other", "bob", "admin")
        viewer = identity.create_token(root, name="ada", user="ada")[1]
        ada = identity.authenticate(viewer)
        revocable, revocable_secret = identity.create_token(root, name="later", user="ada")
        return Tokens(
            root=root_token,
            viewer=viewer,
            scoped_viewer=identity.create_token(ada, project="scored", role="viewer")[1],
            other_scope=identity.create_token(ada, project="other", role="viewer")[1],
            stranger=identity.create_token(root, name="bob", user="bob")[1],
            revocable=revocable_secret,
            revocable_id=revocable.id,
        )
    finally:
        store.close()


def revoke(uri: str, tokens: Tokens) -> None:
    """Revoke ``tokens.revocable`` in the store (as root)."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        identity.revoke_token(identity.authenticate(tokens.root), tokens.revocable_id)
    finally:
        store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def store_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite store holding model ``scored`` in project ``scored`` and a project ``other``."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "artifacts"))
    windlass.set_tracking_uri(uri)
    log_model("scored")
    windlass.set_project("other")
    yield uri
    windlass.set_tracking_uri(None)


def check_roles(url: str, tokens: Tokens) -> None:
    """The answers every store gives: 200 for readers of scored, 401, 403 otherwise."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for token in (tokens.viewer, tokens.scoped_viewer, tokens.root):
            right = client.post("/predict", json=ROWS, headers=bearer(token))
            assert right.status_code == 200, right.text
            assert len(right.json()["predictions"]) == 2
        assert client.get("/v2/models/scored", headers=bearer(tokens.viewer)).status_code == 200

        missing = client.post("/predict", json=ROWS)
        assert missing.status_code == 401 and missing.json()["error_code"] == "UNAUTHENTICATED"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        forged = client.post("/predict", json=ROWS, headers=bearer("wl_" + "B" * 43))
        assert forged.status_code == 401, forged.text
        assert 'error="invalid_token"' in forged.headers["www-authenticate"]

        for token in (tokens.other_scope, tokens.stranger):
            refused = client.post("/predict", json=ROWS, headers=bearer(token))
            assert refused.status_code == 403, refused.text
            assert refused.json()["error_code"] == "PERMISSION_DENIED"
            assert "scored" in refused.json()["message"]

        for probe in ("/v2/health/live", "/v2/health/ready", "/metrics"):
            assert client.get(probe).status_code == 200, probe


def test_store_tokens_of_the_models_project_may_score(store_uri: str, tmp_path: Path) -> None:
    tokens = enroll(store_uri)
    server = ModelServerProcess(
        "models:/scored/1",
        "--auth",
        "store",
        "--uri",
        store_uri,
        "--project",
        "scored",
        log_dir=tmp_path,
        env=NO_CACHE,
    )
    try:
        check_roles(server.url, tokens)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            before = client.post("/predict", json=ROWS, headers=bearer(tokens.revocable))
            assert before.status_code == 200, before.text
            revoke(store_uri, tokens)
            after = client.post("/predict", json=ROWS, headers=bearer(tokens.revocable))
            assert after.status_code == 401, after.text
        log = server.log.read_text()
    finally:
        server.stop()
    assert not [t for t in vars(tokens).values() if t in log and t != tokens.revocable_id]


def test_protect_probes_puts_health_and_metrics_behind_the_store_tokens(
    store_uri: str, tmp_path: Path
) -> None:
    """``windlass serve --auth store --protect-probes``: probes need a reader's token too."""
    tokens = enroll(store_uri)
    args = ("--auth", "store", "--uri", store_uri, "--project", "scored")
    guarded = ModelServerProcess(
        "models:/scored/1",
        *args,
        "--protect-probes",
        log_dir=tmp_path,
        health_token=tokens.viewer,
        env=NO_CACHE,
    )
    try:
        with httpx.Client(base_url=guarded.url, timeout=30) as client:
            for probe in ("/v2/health/live", "/v2/health/ready", "/metrics"):
                missing = client.get(probe)
                assert missing.status_code == 401, (probe, missing.text)
                assert missing.json()["error_code"] == "UNAUTHENTICATED"
                forged = client.get(probe, headers=bearer("wl_" + "P" * 43))
                assert forged.status_code == 401, (probe, forged.text)
                stranger = client.get(probe, headers=bearer(tokens.stranger))
                assert stranger.status_code == 403, (probe, stranger.text)
                for token in (tokens.viewer, tokens.scoped_viewer, tokens.root):
                    assert client.get(probe, headers=bearer(token)).status_code == 200, probe
            scraped = client.get("/metrics", headers=bearer(tokens.viewer)).text
            assert "# TYPE" in scraped
            answer = client.post("/predict", json=ROWS, headers=bearer(tokens.viewer))
            assert answer.status_code == 200, answer.text
        log = guarded.log.read_text()
    finally:
        guarded.stop()
    assert not [t for t in vars(tokens).values() if t in log and t != tokens.revocable_id]
    # Without --protect-probes the same server leaves the probes open, scoring still guarded.
    open_probes = ModelServerProcess("models:/scored/1", *args, log_dir=tmp_path, env=NO_CACHE)
    try:
        with httpx.Client(base_url=open_probes.url, timeout=30) as client:
            for probe in ("/v2/health/live", "/v2/health/ready", "/metrics"):
                assert client.get(probe).status_code == 200, probe
            assert client.post("/predict", json=ROWS).status_code == 401
    finally:
        open_probes.stop()


def test_a_key_file_and_store_tokens_together(store_uri: str, tmp_path: Path) -> None:
    tokens = enroll(store_uri)
    keys = tmp_path / "keys.txt"
    keys.write_text("k-" + "a" * 30 + "\n")
    keys.chmod(0o600)
    server = ModelServerProcess(
        "models://scored/scored/1",
        "--auth",
        "store",
        "--api-key-file",
        str(keys),
        "--uri",
        store_uri,
        log_dir=tmp_path,
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for token in ("k-" + "a" * 30, tokens.viewer):
                for _ in range(2):  # the second from the cache
                    answer = client.post("/predict", json=ROWS, headers=bearer(token))
                    assert answer.status_code == 200, answer.text
            document = client.get("/openapi.json", headers=bearer(tokens.viewer)).json()
            assert {"401", "403", "429"} <= set(document["paths"]["/predict"]["post"]["responses"])
            for _ in range(2):  # a refusal is cached too, and stays a refusal
                answer = client.post("/predict", json=ROWS, headers=bearer(tokens.stranger))
                assert answer.status_code == 403, answer.text
    finally:
        server.stop()


def test_store_tokens_through_a_tracking_server(
    tmp_path: Path, server_factory: type[ServerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'srv.db'}"
    windlass.set_tracking_uri(uri)  # create the projects and users in the store first
    windlass.set_project("scored")
    windlass.set_project("other")
    windlass.set_tracking_uri(None)
    tokens = enroll(uri)
    tracking = server_factory(uri, env={"WINDLASS_AUTH": "on"})
    monkeypatch.setenv("WINDLASS_TOKEN", tokens.root)
    windlass.set_tracking_uri(tracking.url)
    try:
        log_model("scored")
    finally:
        windlass.set_tracking_uri(None)
    server = ModelServerProcess(
        "models://scored/scored/1",
        "--auth",
        "store",
        "--uri",
        tracking.url,
        log_dir=tmp_path,
        env={"WINDLASS_TOKEN": tokens.root},
    )
    try:
        check_roles(server.url, tokens)
    finally:
        server.stop()


def test_store_auth_refuses_a_model_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from windlass.cli.main import build_app

    result = CliRunner().invoke(build_app(), ["serve", str(tmp_path), "--auth", "store"])
    assert result.exit_code != 0
    assert "folder" in result.output and "--api-key-file" in result.output


def test_a_model_of_a_named_project_stays_ready(store_uri: str) -> None:
    from windlass.server.model_server import build_router

    router = build_router("models://scored/scored/1", trust=True, max_batch_size=8, max_wait_ms=1)
    try:
        assert router.check_available() == ""  # the poll's check, in the URI's project
    finally:
        import asyncio

        asyncio.run(router.close())


def test_a_cached_token_skips_the_store_and_the_cache_is_bounded() -> None:
    import asyncio

    from windlass.exceptions import PermissionDenied, Unauthenticated
    from windlass.principal import Role
    from windlass.server.store_tokens import MAX_CACHED, StoreTokens

    asked: list[str] = []

    def verify(secret: str) -> Principal:  # a store of its own: readers of p1 only
        asked.append(secret)
        if secret.startswith("bad"):
            raise Unauthenticated("invalid or expired credentials")
        project = "p1" if secret.startswith("ok") else "p2"
        return Principal("u", auth=AuthMethod.TOKEN, user_id="u", roles=((project, Role.VIEWER),))

    tokens = StoreTokens(verify, "p1", "one", cache_seconds=60)
    ok, other = b"Bearer ok-1", b"bearer   other-1"
    assert not tokens(ok)  # not verified yet: the fast check says no
    assert asyncio.run(tokens.verify(ok)) and tokens(ok)
    assert tokens(ok) and asked == ["ok-1"]  # the second call never reached the store
    for _ in range(2):
        with pytest.raises(PermissionDenied):
            asyncio.run(tokens.verify(other))
    assert not tokens(other) and asked == ["ok-1", "other-1"]
    assert not asyncio.run(tokens.verify(b"Bearer bad-1"))
    assert not asyncio.run(tokens.verify(b"Basic ok-1")) and len(asked) == 3

    async def flood() -> None:
        for n in range(MAX_CACHED + 5):
            await tokens.verify(f"Bearer ok-{n}".encode())

    asyncio.run(flood())
    assert len(tokens._cache) <= MAX_CACHED


def test_a_cached_token_is_not_trusted_past_its_expiry(tmp_path: Path) -> None:
    """Cached for a minute, a token expiring in a second is refused once it expired."""
    import asyncio
    import time

    from windlass.ids import new_id, now_ms
    from windlass.server.store_tokens import StoreTokens

    store = SqlStore(f"sqlite:///{tmp_path / 'expiry.db'}")
    try:
        project = store.runs.get_or_create_project("scored", new_id(), now_ms())
        identity = Identity(store, Policy(enabled=True))
        user = identity.create_user(Principal("installer"), "root", bootstrap=True)
        root = Principal("root", auth=AuthMethod.TOKEN, user_id=user.id, admin=True)
        token, secret = identity.create_token(root, name="brief", expires_in_seconds=1)
        lasting = identity.create_token(root, name="lasting")[1]
        tokens = StoreTokens(identity.authenticate, project.id, "scored", cache_seconds=60)
        header, other = f"Bearer {secret}".encode(), f"Bearer {lasting}".encode()
        assert asyncio.run(tokens.verify(header)) and tokens(header)
        assert asyncio.run(tokens.verify(other)) and tokens(other)
        assert token.expires_at is not None
        time.sleep(max(0.0, (token.expires_at - now_ms()) / 1000) + 0.05)
        assert not tokens(header)  # the cache no longer vouches for it...
        assert not asyncio.run(tokens.verify(header))  # ...and the store says it expired
        assert tokens(other)  # a token without an expiry stays cached
    finally:
        store.close()
