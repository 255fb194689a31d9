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
