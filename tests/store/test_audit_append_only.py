"""The database itself keeps the audit log append-only: UPDATE and DELETE are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from windlass.entities import AuditRecord
from windlass.ids import new_id
from windlass.store.sql.store import SqlStore


def _refuses_rewrites(uri: str, *, pg: bool) -> None:
    store = SqlStore(uri)
    try:
        record = AuditRecord(
            id=new_id(),
            at=1,
            principal="ada",
            principal_kind="user",
            auth_method="token",
            action="run.create",
            object_uri="runs:/" + "0" * 32,
            after={"name": "r"},
        )
        store.audit.append(record)
        statements = [
            "UPDATE audit_log SET principal = 'mallory'",
            "UPDATE audit_log SET after = NULL WHERE action = 'run.create'",
            "DELETE FROM audit_log",
            "DELETE FROM audit_log WHERE principal = 'ada'",
        ]
        if pg:
            statements.append("TRUNCATE audit_log")
        for statement in statements:
            with (
                pytest.raises(DBAPIError, match="audit_log is append-only"),
                store.engine.begin() as conn,
            ):
                conn.execute(text(statement))
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, principal FROM audit_log")).all()
        assert [tuple(r) for r in rows] == [(record.id, "ada")]
        assert store.audit.list().items == [record]
        # Appending still works after the refusals.
        store.audit.append(AuditRecord(**{**record.to_dict(), "id": new_id(), "at": 2}))
        assert len(store.audit.list().items) == 2
    finally:
        store.close()


def test_sqlite_refuses_update_and_delete(tmp_path: Path) -> None:
    _refuses_rewrites(f"sqlite:///{tmp_path / 'a.db'}", pg=False)


def test_postgres_refuses_update_delete_and_truncate(postgres_url: str) -> None:
    _refuses_rewrites(postgres_url, pg=True)
