"""The Alembic chain creates exactly the schema of ``schema.py``, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from windlass.store.sql import schema
from windlass.store.sql.engine import create_store_engine, head_revision


def _diff(uri: str) -> list[object]:
    engine = create_store_engine(uri)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == head_revision()
            return list(compare_metadata(context, schema.metadata))
    finally:
        engine.dispose()


def _alembic(uri: str, step: str, revision: str, *statements: str) -> None:
    """Run ``alembic <step> <revision>`` on ``uri``, then ``statements``, in one transaction."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from windlass.store.sql.engine import _MIGRATIONS, _normalize

    cfg = Config(str(_MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    engine = create_engine(_normalize(uri))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, step)(cfg, revision)
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    assert _diff(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_postgres_schema_matches_models(postgres_url: str) -> None:
    assert _diff(postgres_url) == []


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_bad_store_uri_is_a_clear_error() -> None:
    from windlass.exceptions import InvalidUri

    with pytest.raises(InvalidUri):
        create_store_engine("mysql://nope")
    with pytest.raises(InvalidUri):
        create_store_engine("sqlite:///:memory:")


def _upgrade_from_0001_keeps_data(uri: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy import inspect as sa_inspect

    from windlass.store.sql.engine import _normalize
    from windlass.store.sql.store import SqlStore

    _alembic(
        uri,
        "upgrade",
        "0001",
        "INSERT INTO projects (id, name, description, created_at) "
        "VALUES ('" + "a" * 32 + "', 'old', '', 1)",
    )
    store = SqlStore(uri)  # opening migrates to the head revision
    try:
        project = store.runs.get_project("old")
        assert project.id == "a" * 32
        assert store.registry.objects.list_objects(project.id).items == []
    finally:
        store.close()
    assert _diff(uri) == []
    # And back: the downgrade drops exactly what 0002 added.
    _alembic(uri, "downgrade", "0001")
    engine = create_engine(_normalize(uri))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM projects")).scalars().all() == ["old"]
        tables = set(sa_inspect(conn).get_table_names())
    engine.dispose()
    assert not tables & {
        "run_inputs",
        "registered_models",
        "model_versions",
        "model_aliases",
        "deployments",
        "deployment_events",
    }


def test_sqlite_upgrade_from_0001_keeps_data(tmp_path: Path) -> None:
    _upgrade_from_0001_keeps_data(f"sqlite:///{tmp_path / 'old.db'}")


def test_postgres_upgrade_from_0001_keeps_data(postgres_url: str) -> None:
    _upgrade_from_0001_keeps_data(postgres_url)


def _upgrade_from_0002_keeps_data(uri: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy import inspect as sa_inspect

    from windlass.store.sql.engine import _normalize
    from windlass.store.sql.store import SqlStore

    _alembic(
        uri,
        "upgrade",
        "0002",
        "INSERT INTO projects (id, name, description, created_at) "
        "VALUES ('" + "a" * 32 + "', 'old', '', 1)",
        "INSERT INTO registered_models (id, project_id, name, description, "
        "card, created_at, updated_at, next_version) VALUES ('"
        + "b" * 32
        + "', '"
        + "a" * 32
        + "', 'churn', '', '', 1, 1, 1)",
    )
    store = SqlStore(uri)  # opening migrates to the head revision
    try:
        assert store.registry.objects.get_object("a" * 32, "churn").name == "churn"
        assert store.deployments.list_deployments("a" * 32).items == []
    finally:
        store.close()
    assert _diff(uri) == []
    # And back: the downgrade drops exactly what 0003 added.
    _alembic(uri, "downgrade", "0002")
    engine = create_engine(_normalize(uri))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM registered_models")).scalars().all() == ["churn"]
        tables = set(sa_inspect(conn).get_table_names())
    engine.dispose()
    assert "registered_models" in tables
    assert not tables & {"deployments", "deployment_events"}


def test_sqlite_upgrade_from_0002_keeps_data(tmp_path: Path) -> None:
    _upgrade_from_0002_keeps_data(f"sqlite:///{tmp_path / 'old2.db'}")


def test_postgres_upgrade_from_0002_keeps_data(postgres_url: str) -> None:
    _upgrade_from_0002_keeps_data(postgres_url)


_CLAIM_ROWS = [
    "INSERT INTO projects (id, name, description, created_at) VALUES ('{p}', 'old', '', 1)",
    "INSERT INTO registered_models (id, project_id, name, description, card, created_at, "
    "updated_at, next_version) VALUES ('{m}', '{p}', 'churn', '', '', 1, 1, 2)",
    "INSERT INTO model_versions (id, model_id, version, source, run_id, files, manifest, "
    "description, created_by, created_at) VALUES ('{v}', '{m}', 1, 's', NULL, '[]', '{{}}', "
    "'', 'ada', 1)",
    'INSERT INTO model_alias_events (model_id, alias, from_version, to_version, "user", at) '
    "VALUES ('{m}', 'prod', NULL, 1, 'bob', 1)",
    "INSERT INTO deployments (id, project_id, name, description, variants, shadow, revision, "
    "created_at, updated_at) VALUES ('{d}', '{p}', 'web', '', '[]', NULL, 1, 1, 1)",
    "INSERT INTO deployment_events (deployment_id, revision, action, variants, shadow, "
    "\"user\", at) VALUES ('{d}', 1, 'create', '[]', NULL, 'cy', 1)",
    "INSERT INTO prompts (id, project_id, name, description, created_at, updated_at, "
    "next_version) VALUES ('{q}', '{p}', 'greet', '', 1, 1, 2)",
    "INSERT INTO prompt_versions (id, prompt_id, version, template, model, response_format, "
    "variables, content_hash, commit_message, created_by, created_at) VALUES ('{w}', '{q}', 1, "
    "'\"hi\"', '{{}}', NULL, '{{}}', '" + "0" * 64 + "', '', 'dee', 1)",
    'INSERT INTO prompt_alias_events (prompt_id, alias, from_version, to_version, "user", '
    "at) VALUES ('{q}', 'prod', NULL, 1, 'eve', 1)",
]


def _upgrade_from_0005_keeps_claims(uri: str) -> None:
    from sqlalchemy import create_engine, text

    from windlass.store.sql.engine import _normalize
    from windlass.store.sql.store import SqlStore

    ids = {k: k * 32 for k in "pmvdqw"}
    _alembic(uri, "upgrade", "0005", *(row.format(**ids) for row in _CLAIM_ROWS))
    store = SqlStore(uri)  # opening migrates to the head revision
    try:
        project = ids["p"]
        assert store.registry.objects.get_version(project, "churn", 1).claimed_by == "ada"
        assert [e.claimed_by for e in store.registry.objects.alias_history(project, "churn")] == [
            "bob"
        ]
        assert [
            e.claimed_by for e in store.deployments.deployment_history(project, "web").items
        ] == ["cy"]
        assert store.prompts.objects.get_version(project, "greet", 1).claimed_by == "dee"
        assert [e.claimed_by for e in store.prompts.objects.alias_history(project, "greet")] == [
            "eve"
        ]
    finally:
        store.close()
    assert _diff(uri) == []
    # And back: the downgrade restores the old column names with their values.
    _alembic(uri, "downgrade", "0005")
    engine = create_engine(_normalize(uri))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT created_by FROM model_versions")).scalar() == "ada"
        assert conn.execute(text('SELECT "user" FROM deployment_events')).scalar() == "cy"
    engine.dispose()


def test_sqlite_upgrade_from_0005_keeps_claims(tmp_path: Path) -> None:
    _upgrade_from_0005_keeps_claims(f"sqlite:///{tmp_path / 'old5.db'}")


def test_postgres_upgrade_from_0005_keeps_claims(postgres_url: str) -> None:
    _upgrade_from_0005_keeps_claims(postgres_url)


_OLD_PARAM_ROWS = [
    "INSERT INTO projects (id, name, description, created_at) VALUES ('{p}', 'old', '', 1)",
    "INSERT INTO runs (id, project_id, name, status, start_time, end_time, heartbeat_at, "
    'deleted, deleted_at, "user", git_commit, git_dirty, command, system, host, pid) '
    "VALUES ('{r}', '{p}', 'r', 'running', 1, NULL, 1, false, NULL, 'ada', NULL, NULL, "
    "'', '{{}}', 'h', NULL)",
    "INSERT INTO params (run_id, key, value) VALUES ('{r}', 'lr', '0.1')",
]


def _upgrade_from_0007_keeps_params(uri: str) -> None:
    from sqlalchemy import create_engine, text

    from windlass.store.sql.engine import _normalize
    from windlass.store.sql.store import SqlStore

    p, r = "a" * 32, "b" * 32
    _alembic(uri, "upgrade", "0007", *(row.format(p=p, r=r) for row in _OLD_PARAM_ROWS))
    store = SqlStore(uri)  # opening migrates to the head revision
    try:
        assert store.runs.get_run(r).params == {"lr": "0.1"}
        # An old param has no known author; the same value again stays a no-op.
        store.runs.log_params(r, {"lr": "0.1", "depth": "6"}, logged_by="bea")
    finally:
        store.close()
    assert _diff(uri) == []
    engine = create_engine(_normalize(uri))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key, logged_by FROM params ORDER BY key")).all()
        assert [tuple(row) for row in rows] == [("depth", "bea"), ("lr", "")]
    finally:
        engine.dispose()
    # And back: the downgrade drops the column and keeps the params.
    _alembic(uri, "downgrade", "0007")
    engine = create_engine(_normalize(uri))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM params")).scalar() == 2
    finally:
        engine.dispose()


def test_sqlite_upgrade_from_0007_keeps_params(tmp_path: Path) -> None:
    _upgrade_from_0007_keeps_params(f"sqlite:///{tmp_path / 'old7.db'}")


def test_postgres_upgrade_from_0007_keeps_params(postgres_url: str) -> None:
    _upgrade_from_0007_keeps_params(postgres_url)
