"""Registry listings cost a fixed number of queries per page, however many items it holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from windlass.entities import MANIFEST_FILE, ArtifactEntry
from windlass.ids import new_id, now_ms
from windlass.store.sql.store import SqlStore


@pytest.fixture(params=["sqlite", "postgresql"])
def sql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    uri = (
        f"sqlite:///{tmp_path / 'q.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = SqlStore(uri)
    yield store
    store.close()


def count_queries(store: SqlStore) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("count", [3, 40])
def test_listing_queries_do_not_grow_with_the_page(sql: SqlStore, count: int) -> None:
    project = sql.runs.get_or_create_project(f"q-{new_id()[-8:]}", new_id(), now_ms()).id
    files = [ArtifactEntry(MANIFEST_FILE, "a" * 64, 1)]
    for i in range(count):
        name = f"m{i:03d}"
        sql.registry.create_registered_model(
            model_id=new_id(),
            project_id=project,
            name=name,
            description="",
            tags={"a": "1", "b": "2"},
            created_at=now_ms(),
        )
        for _ in range(2):
            sql.registry.create_model_version(
                version_id=new_id(),
                project_id=project,
                name=name,
                source="s",
                run_id=None,
                files=files,
                manifest={},
                description="",
                claimed_by="",
                created_at=now_ms(),
            )
        sql.registry.objects.set_alias(project, name, "prod", 2, claimed_by="u", at=now_ms())
    queries = count_queries(sql)
    models = sql.registry.objects.list_objects(project, 100)
    assert len(models.items) == count and all(m.aliases == {"prod": 2} for m in models.items)
    assert len(queries) <= 5, queries
    queries.clear()
    versions = sql.registry.objects.list_versions(project, "m000", 100)
    assert [v.aliases for v in versions.items] == [["prod"], []]
    assert len(queries) <= 4, queries
