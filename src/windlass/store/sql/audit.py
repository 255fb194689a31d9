"""The SQL audit store: rows appended to ``audit_log``, listed newest first.

The table is append-only in the database itself (triggers of migration 0009 refuse UPDATE
and DELETE); this module only ever inserts and selects. Pages are keyset-paged on
``(at, id)`` descending, so a page costs the same however deep it is.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.engine import Row

from windlass.entities import AuditRecord, Page
from windlass.store.audit import MAX_AUDIT_RESULTS, AuditStore
from windlass.store.paging import check_max_results, decode_token, encode_token
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database

_a = s.audit_log
_KIND = "audit"


def _dump(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _load(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _record(row: Row[Any, Any]) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        principal=row.principal,
        principal_kind=row.principal_kind,
        auth_method=row.auth_method,
        action=row.action,
        object_uri=row.object_uri,
        address=row.address,
        project_id=row.project_id,
        before=_load(row.before),
        after=_load(row.after),
    )


def object_filter(uri: str) -> ColumnElement[bool]:
    """Return the condition matching ``uri`` and every URI under it (``/...`` or ``@...``).

    A prefix compared with ``substr`` rather than LIKE: names may hold ``_`` (a LIKE
    wildcard), and SQLite's LIKE ignores case.
    """
    head = func.substr(_a.c.object_uri, 1, len(uri) + 1)
    return or_(_a.c.object_uri == uri, head.in_([f"{uri}/", f"{uri}@"]))


class SqlAuditStore(AuditStore):
    """The append-only audit log over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Built once: a statement with bound parameters compiles once and is reused.
        self._insert = db.insert(_a).on_conflict_do_nothing()

    def append(self, record: AuditRecord) -> None:
        """Insert one record (the same id again changes nothing)."""
        with self._db.write() as conn:
            conn.execute(
                self._insert,
                {
                    "id": record.id,
                    "at": record.at,
                    "principal": record.principal,
                    "principal_kind": record.principal_kind,
                    "auth_method": record.auth_method,
                    "address": record.address,
                    "action": record.action,
                    "object_uri": record.object_uri,
                    "project_id": record.project_id,
                    "before": _dump(record.before),
                    "after": _dump(record.after),
                },
            )

    def list(
        self,
        *,
        project_id: str | tuple[str, ...] | None = None,
        object_uri: str | None = None,
        principal: str | None = None,
        action: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        """Return records newest first, keyset-paged on ``(at, id)``."""
        check_max_results(max_results, MAX_AUDIT_RESULTS)
        where: list[ColumnElement[bool]] = []
        if isinstance(project_id, tuple):
            where.append(_a.c.project_id.in_(project_id) if project_id else false())
        elif project_id is not None:
            where.append(_a.c.project_id == project_id)
        if object_uri is not None:
            where.append(object_filter(object_uri))
        if principal is not None:
            where.append(_a.c.principal == principal)
        if action is not None:
            where.append(_a.c.action == action)
        if since is not None:
            where.append(_a.c.at >= since)
        if until is not None:
            where.append(_a.c.at < until)
        if page_token:
            position = decode_token(page_token, _KIND, {"a": int, "i": str})
            at, last_id = position["a"], position["i"]
            where.append(or_(_a.c.at < at, and_(_a.c.at == at, _a.c.id < last_id)))
        query = (
            select(_a).where(*where).order_by(_a.c.at.desc(), _a.c.id.desc()).limit(max_results + 1)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        items = [_record(r) for r in rows[:max_results]]
        token = (
            encode_token({"k": _KIND, "a": items[-1].at, "i": items[-1].id})
            if len(rows) > max_results
            else None
        )
        return Page(items, token)
