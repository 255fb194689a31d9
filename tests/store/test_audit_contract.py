"""The audit store contract: SQLite, PostgreSQL, and the REST client (list only).

A REST store cannot append (the server writes its own records), so its records are
appended to the server's own SQLite file and read back through ``GET /api/v1/audit``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from windlass.entities import AuditRecord, all_pages
from windlass.exceptions import InvalidInput, InvalidPageToken, PermissionDenied
from windlass.ids import new_id
from windlass.store.audit import MAX_AUDIT_RESULTS, AuditStore
from windlass.store.metadata import MetadataStore
from windlass_testing import POSTGRES_SKIP, ServerProcess, scratch_postgres_database


@dataclass
class Stores:
    """Where a test appends records, and the store it lists them through."""

    writer: AuditStore
    reader: AuditStore


@pytest.fixture(scope="module")
def _pg_url() -> Iterator[str]:
    if os.environ.get("WINDLASS_TEST_POSTGRES_URL") is None:
        pytest.skip(POSTGRES_SKIP)
    with scratch_postgres_database("windlass_audit") as url:
        yield url


@pytest.fixture(scope="module")
def _audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("audit-server")
    store = f"sqlite:///{root / 'server.db'}"
    proc = ServerProcess(store, str(root / "artifacts"))
    yield store, proc.url
    proc.stop()


@pytest.fixture(params=["sqlite", "postgresql", "rest"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """An audit store of each kind; tests tell their records apart by a unique principal."""
    from windlass.store.sql.store import SqlStore

    opened: list[MetadataStore] = []
    if request.param == "sqlite":
        sql = SqlStore(f"sqlite:///{tmp_path / 'audit.db'}")
        opened.append(sql)
        yield Stores(sql.audit, sql.audit)
    elif request.param == "postgresql":
        pg = SqlStore(request.getfixturevalue("_pg_url"))
        opened.append(pg)
        yield Stores(pg.audit, pg.audit)
    else:
        from windlass.store.rest.store import RestStore

        store_uri, url = request.getfixturevalue("_audit_server")
        writer, rest = SqlStore(store_uri), RestStore(url)
        opened += [writer, rest]
        yield Stores(writer.audit, rest.audit)
    for store in opened:
        store.close()


def _record(who: str, at: int, **fields: object) -> AuditRecord:
    values: dict[str, object] = {
        "id": new_id(),
        "at": at,
        "principal": who,
        "principal_kind": "user",
        "auth_method": "token",
        "action": "model.create",
        "object_uri": "models:/churn",
        **fields,
    }
    return AuditRecord(**values)  # type: ignore[arg-type]


def _who() -> str:
    return f"ada-{uuid.uuid4().hex[:10]}"


def test_a_record_reads_back_as_written(stores: Stores) -> None:
    who = _who()
    record = _record(
        who,
        1_700_000_000_123,
        address="10.0.0.7",
        action="model.alias.set",
        object_uri="models:/churn@production",
        project_id="a" * 32,
        before={"alias": "production", "version": 2, "note": "Zürich ✓", "nested": [1, None]},
        after={"alias": "production", "version": 3},
    )
    stores.writer.append(record)
    stores.writer.append(record)  # the same id again: still one record
    assert stores.reader.list(principal=who).items == [record]


def test_records_come_newest_first_in_keyset_pages(stores: Stores) -> None:
    who = _who()
    written = [_record(who, 1_000 + i // 2) for i in range(7)]  # pairs share a time
    for record in written:
        stores.writer.append(record)
    expected = sorted(written, key=lambda r: (r.at, r.id), reverse=True)
    pages = []
    token: str | None = None
    while True:
        page = stores.reader.list(principal=who, max_results=2, page_token=token)
        pages.append(page.items)
        token = page.next_page_token
        if token is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert [r for p in pages for r in p] == expected


def test_filters(stores: Stores) -> None:
    who, other = _who(), _who()
    p1, p2 = "1" * 32, "2" * 32
    records = {
        "model": _record(who, 10, object_uri="models:/churn", project_id=p1),
        "version": _record(who, 20, object_uri="models:/churn/3", project_id=p1),
        "alias": _record(
            who, 30, object_uri="models:/churn@prod", project_id=p1, action="model.alias.set"
        ),
        "longer": _record(who, 40, object_uri="models:/churner", project_id=p2),
        "case": _record(who, 50, object_uri="models:/Churn/1", project_id=p2),
        "underscore": _record(who, 60, object_uri="models:/a_b/1"),
        "wildcard": _record(who, 70, object_uri="models:/axb/1"),
        "other": _record(other, 80, object_uri="models:/churn/4", project_id=p1),
    }
    for record in records.values():
        stores.writer.append(record)

    def names(**filters: object) -> list[str]:
        found = stores.reader.list(**filters).items  # type: ignore[arg-type]
        return sorted(k for k, r in records.items() if r in found)

    assert names(principal=who, object_uri="models:/churn") == ["alias", "model", "version"]
    assert names(principal=who, object_uri="models:/churn/3") == ["version"]
    assert names(object_uri="models:/a_b") == ["underscore"]
    assert names(principal=who, project_id=p2) == ["case", "longer"]
    assert names(principal=who, project_id=(p1, p2)) == [
        "alias",
        "case",
        "longer",
        "model",
        "version",
    ]
    assert names(principal=who, project_id=()) == []
    assert names(principal=who, action="model.alias.set") == ["alias"]
    assert names(principal=who, since=20, until=40) == ["alias", "version"]
    assert names(object_uri="models:/churn/4") == ["other"]


def test_limits_and_tokens_are_checked(stores: Stores) -> None:
    for bad in (0, MAX_AUDIT_RESULTS + 1):
        with pytest.raises(InvalidInput):
            stores.reader.list(max_results=bad)
    with pytest.raises(InvalidPageToken):
        stores.reader.list(page_token="not-a-token")
    assert len(all_pages(lambda t: stores.reader.list(principal=_who(), page_token=t))) == 0


def test_a_rest_client_cannot_append(tmp_path: Path, server: ServerProcess) -> None:
    from windlass.store.rest.store import RestStore

    rest = RestStore(server.url)
    try:
        assert rest.audit.appends is False
        with pytest.raises(PermissionDenied, match="server writes its own audit records"):
            rest.audit.append(_record(_who(), 1))
    finally:
        rest.close()
