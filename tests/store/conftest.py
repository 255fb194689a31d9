"""The metadata-store contract fixture: SQLite, PostgreSQL and the REST client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from windlass.store.base import MetadataStore


@pytest.fixture(scope="module")
def _pg_module_url() -> Iterator[str]:
    if os.environ.get("WINDLASS_TEST_POSTGRES_URL") is None:
        pytest.skip("WINDLASS_TEST_POSTGRES_URL is not set (CI sets it; .ci/run requires it)")
    from sqlalchemy import create_engine, text

    base_url = os.environ["WINDLASS_TEST_POSTGRES_URL"]
    name = f"windlass_contract_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base_url.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "rest"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    """A metadata store of each kind; names in tests are unique, so stores may be shared."""
    if request.param == "sqlite":
        from windlass.store.sql.store import SqlStore

        sql = SqlStore(f"sqlite:///{tmp_path / 'contract.db'}")
        yield sql
        sql.close()
    elif request.param == "postgresql":
        from windlass.store.sql.store import SqlStore

        pg = SqlStore(request.getfixturevalue("_pg_module_url"))
        yield pg
        pg.close()
    else:
        from windlass.store.rest import RestStore

        rest = RestStore(request.getfixturevalue("server").url)
        yield rest
        rest.close()
