"""``WINDLASS_TRUSTED_MODEL_SOURCES=registrant:NAME``: trust what an authenticated NAME registered.

Real stores (SQLite, and PostgreSQL when WINDLASS_TEST_POSTGRES_URL is set) with users and
tokens made by :class:`~windlass.access.identity.Identity`; versions are registered through
the SDK, with ``WINDLASS_AUTH=on`` and a member's token (the store records the principal and
``registered_auth=token``) or with auth off and ``WINDLASS_USER`` (a claim: ``local``).
Only the first kind matches ``registrant:NAME``; a name in the model's files never does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sqlalchemy import create_engine, text

import windlass
from windlass.access.identity import Identity
from windlass.access.policy import Policy
from windlass.client import Client
from windlass.exceptions import ConfigError, UntrustedModel
from windlass.ids import new_id, now_ms
from windlass.principal import AuthMethod, Principal, Role
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess

PROJECT = "churn"


def _pickled_model(folder: Path, claimed: str | None = None) -> Path:
    """Save a pickled model (its files run code when loaded); ``claimed`` names a creator."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.integers(0, 72, 60), "charges": rng.random(60) * 100})
    label = (frame["tenure"] > 30).astype(int)
    windlass.save_model(LogisticRegression().fit(frame, label), folder, serialization="pickle")
    if claimed is not None:
        manifest = folder / "windlass-model.yaml"
        data = yaml.safe_load(manifest.read_text())
        data["created_by"] = {"user": claimed, "host": "build-server"}
        data["registered_by"] = claimed
        manifest.write_text(yaml.safe_dump(data))
    return folder


def _users(uri: str) -> dict[str, str]:
    """Bootstrap an admin, make ``ada`` and ``bob`` editors of the project; return tokens."""
    store = SqlStore(uri)
    try:
        identity = Identity(store, Policy(enabled=True))
        root = identity.create_user(Principal("installer"), "root", bootstrap=True)
        who = Principal("root", auth=AuthMethod.TOKEN, user_id=root.id, admin=True)
        admin = identity.authenticate(identity.create_token(who)[1])
        store.runs.get_or_create_project(PROJECT, new_id(), now_ms())
        tokens = {}
        for name in ("ada", "bob"):
            identity.create_user(admin, name)
            identity.set_member(admin, PROJECT, name, Role.EDITOR)
            tokens[name] = identity.create_token(admin, user=name)[1]
        return tokens
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each kind (PostgreSQL skips without a test server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trust.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _register(
    monkeypatch: pytest.MonkeyPatch,
    uri: str,
    artifacts: str,
    folder: Path,
    name: str,
    *,
    token: str | None = None,
    user: str = "ada",
) -> None:
    """Register ``folder`` as model ``name``: with ``token`` under auth on, else as ``user``."""
    monkeypatch.setenv("WINDLASS_AUTH", "on" if token else "off")
    monkeypatch.setenv("WINDLASS_USER", user)
    with Client(uri, PROJECT, artifact_uri=artifacts, token=token) as client:
        client.models.register(folder, name)
    monkeypatch.setenv("WINDLASS_AUTH", "off")


def test_registrant_trusts_only_what_an_authenticated_principal_registered(
    store_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = _users(store_uri)
    artifacts = str(tmp_path / "artifacts")
    model = _pickled_model(tmp_path / "m")
    claiming = _pickled_model(tmp_path / "claims-ada", claimed="ada")
    _register(monkeypatch, store_uri, artifacts, model, "by-ada", token=tokens["ada"])
    _register(monkeypatch, store_uri, artifacts, model, "by-bob", token=tokens["bob"])
    _register(monkeypatch, store_uri, artifacts, model, "local-ada", user="ada")
    _register(monkeypatch, store_uri, artifacts, claiming, "claims-ada", token=tokens["bob"])

    monkeypatch.setenv("WINDLASS_USER", "someone-else")
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "registrant:ada")
    with Client(store_uri, PROJECT, artifact_uri=artifacts) as client:
        models = client.models
        by_ada = models.get_version("by-ada", 1)
        local = models.get_version("local-ada", 1)
        assert (by_ada.claimed_by, by_ada.registered_auth) == ("ada", AuthMethod.TOKEN)
        assert (local.claimed_by, local.registered_auth) == ("ada", AuthMethod.LOCAL)
        assert by_ada.authenticated_registrant == "ada" and local.authenticated_registrant is None

        # ada registered it with her token: it loads without trust=True, and says so.
        loaded = models.load("models:/by-ada/1")
        assert loaded.predict(pd.DataFrame({"tenure": [5, 60], "charges": [1.0, 2.0]})).shape == (
            2,
        )
        assert "registered by ada (authenticated by token)" in capsys.readouterr().err

        # bob's version, ada's name recorded with auth off, and a manifest naming ada: refused.
        for name in ("by-bob", "local-ada", "claims-ada"):
            with pytest.raises(UntrustedModel, match=r"registrant:NAME") as info:
                models.load(f"models:/{name}/1")
            assert "trust=True" in info.value.message
        with pytest.raises(UntrustedModel, match=r"registered by ada \(unauthenticated\)"):
            models.load("models:/local-ada/1")
        claimed = models.get_version("claims-ada", 1)
        assert claimed.manifest["created_by"]["user"] == "ada" and claimed.claimed_by == "bob"
        assert "registered_by: ada" in (claiming / "windlass-model.yaml").read_text()

        # The other entries still work beside it, and trust=True still overrides.
        monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "models:/local-*, registrant:bob")
        models.load("models:/local-ada/1")
        models.load("models:/by-bob/1")
        models.load("models:/claims-ada/1")
        with pytest.raises(UntrustedModel):
            models.load("models:/by-ada/1")
        models.load("models:/by-ada/1", trust=True)


def test_a_model_server_loads_by_registrant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``windlass serve`` and a deployment's variants load goes through the same check."""
    from windlass.serving.source import load

    uri = f"sqlite:///{tmp_path / 'serve.db'}"
    tokens = _users(uri)
    artifacts = str(tmp_path / "artifacts")
    model = _pickled_model(tmp_path / "m")
    _register(monkeypatch, uri, artifacts, model, "by-ada", token=tokens["ada"])
    _register(monkeypatch, uri, artifacts, model, "local-ada", user="ada")
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", artifacts)
    windlass.set_tracking_uri(uri)
    windlass.set_project(PROJECT)
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "registrant:ada")
    batching = {"max_batch_size": 8, "max_wait_ms": 1.0, "max_queue_rows": 64}
    served = load("a", "models:/by-ada/1", trust=False, batching=batching)
    assert served.model.uri == "models:/by-ada/1"
    with pytest.raises(UntrustedModel, match=r"registrant:NAME"):
        load("b", "models:/local-ada/1", trust=False, batching=batching)


def test_registrant_over_a_server_with_auth_on(
    tmp_path: Path, server_factory: type[ServerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server records its request's principal; its answer says how it was authenticated."""
    uri = f"sqlite:///{tmp_path / 'srv.db'}"
    tokens = _users(uri)
    server = server_factory(uri, env={"WINDLASS_AUTH": "on"})
    model = _pickled_model(tmp_path / "m")
    for user in ("ada", "bob"):
        with Client(server.url, PROJECT, token=tokens[user]) as client:
            client.models.register(model, f"by-{user}")
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "registrant:ada")
    with Client(server.url, PROJECT, token=tokens["bob"]) as client:
        version = client.models.get_version("by-ada", 1)
        assert (version.claimed_by, version.registered_auth) == ("ada", AuthMethod.TOKEN)
        client.models.load("models:/by-ada/1")
        with pytest.raises(UntrustedModel):
            client.models.load("models:/by-bob/1")


def test_an_empty_registrant_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    windlass.save_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), tmp_path / "safe")
    monkeypatch.setenv("WINDLASS_TRUSTED_MODEL_SOURCES", "runs:/*, registrant: ")
    with pytest.raises(ConfigError, match=r"WINDLASS_TRUSTED_MODEL_SOURCES.*registrant:NAME"):
        windlass.load_model(tmp_path / "safe")


def test_versions_stored_before_0011_were_registered_local(tmp_path: Path) -> None:
    """The migration gives every existing version ``registered_auth='local'``."""
    from alembic import command
    from alembic.config import Config

    from windlass.store.sql.engine import _MIGRATIONS

    uri = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config(str(_MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    project, model = new_id(), new_id()
    engine = create_engine(uri)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0010")
            conn.execute(
                text("INSERT INTO projects VALUES (:id, 'old', '', 0)"),
                {"id": project},
            )
            conn.execute(
                text(
                    "INSERT INTO registered_models (id, project_id, name, description, card, "
                    "created_at, updated_at, next_version) VALUES (:id, :p, 'm', '', '', 0, 0, 2)"
                ),
                {"id": model, "p": project},
            )
            conn.execute(
                text(
                    "INSERT INTO model_versions (id, model_id, version, source, run_id, files, "
                    "manifest, description, claimed_by, created_at) "
                    "VALUES (:id, :m, 1, 's', NULL, '[]', '{}', '', 'ada', 0)"
                ),
                {"id": new_id(), "m": model},
            )
    finally:
        engine.dispose()
    store = SqlStore(uri)  # opening migrates to the head revision
    try:
        version = store.registry.objects.get_version(project, "m", 1)
        assert (version.claimed_by, version.registered_auth) == ("ada", AuthMethod.LOCAL)
        assert version.authenticated_registrant is None
    finally:
        store.close()
