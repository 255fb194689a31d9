"""The metadata-store contract fixture: SQLite, PostgreSQL and the REST client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from windlass.store.metadata import MetadataStore
from windlass_testing import POSTGRES_SKIP, scratch_postgres_database


@pytest.fixture(scope="module")
def _pg_module_url() -> Iterator[str]:
    if os.environ.get("WINDLASS_TEST_POSTGRES_URL") is None:
        pytest.skip(POSTGRES_SKIP)
    with scratch_postgres_database("windlass_contract") as url:
        yield url


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
        from windlass.store.rest.store import RestStore

        rest = RestStore(request.getfixturevalue("server").url)
        yield rest
        rest.close()
