"""The SQL governance store: project settings on the project row, and alias requests."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.engine import Row

from windlass.entities import Project
from windlass.entities.common import DEFAULT_PROTECTED_ALIASES
from windlass.entities.governance import AliasRequest
from windlass.exceptions import InvalidState, NotFound, ProjectNotFound
from windlass.store.governance import GovernanceStore
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database

__all__ = ["SqlGovernanceStore", "project_from_row"]

_r = s.alias_requests


def project_from_row(row: Row[Any, Any]) -> Project:
    """Return the project of a ``projects`` row, with its settings (NULL list: the default)."""
    stored = row.protected_aliases
    protected = DEFAULT_PROTECTED_ALIASES if stored is None else tuple(orjson.loads(stored))
    return Project(
        row.id,
        row.name,
        row.created_at,
        row.description,
        protected_aliases=protected,
        two_person_review=bool(row.two_person_review),
    )


def _request(row: Row[Any, Any]) -> AliasRequest:
    return AliasRequest(
        id=row.id,
        project_id=row.project_id,
        kind=row.kind,
        name=row.name,
        alias=row.alias,
        version=int(row.version),
        requested_by=row.requested_by,
        requested_at=int(row.requested_at),
        state=row.state,
        decided_by=row.decided_by,
        decided_at=None if row.decided_at is None else int(row.decided_at),
        requested_by_id=row.requested_by_id,
    )


class SqlGovernanceStore(GovernanceStore):
    """Project settings and alias requests over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def update_project_settings(
        self,
        project_id: str,
        *,
        protected_aliases: tuple[str, ...] | None = None,
        two_person_review: bool | None = None,
    ) -> Project:
        """Change the settings given (None: keep); return the project."""
        values: dict[str, Any] = {}
        if protected_aliases is not None:
            values["protected_aliases"] = orjson.dumps(list(protected_aliases)).decode()
        if two_person_review is not None:
            values["two_person_review"] = two_person_review
        with self._db.write() as conn:
            if values:
                conn.execute(
                    update(s.projects).where(s.projects.c.id == project_id).values(**values)
                )
            row = conn.execute(select(s.projects).where(s.projects.c.id == project_id)).first()
        if row is None:
            raise ProjectNotFound(f"project {project_id!r} does not exist", project=project_id)
        return project_from_row(row)

    def create_alias_request(self, request: AliasRequest) -> AliasRequest:
        """Store a new pending request and return it."""
        with self._db.write() as conn:
            conn.execute(
                _r.insert().values(
                    id=request.id,
                    project_id=request.project_id,
                    kind=request.kind,
                    name=request.name,
                    alias=request.alias,
                    version=request.version,
                    requested_by=request.requested_by,
                    requested_by_id=request.requested_by_id,
                    requested_at=request.requested_at,
                    state=request.state,
                )
            )
        return request

    def get_alias_request(self, project_id: str, request_id: str) -> AliasRequest:
        """Return one request of the project, or NotFound."""
        with self._db.read() as conn:
            row = conn.execute(
                select(_r).where(_r.c.project_id == project_id, _r.c.id == request_id)
            ).first()
        if row is None:
            raise NotFound(f"alias request {request_id!r} does not exist", request=request_id)
        return _request(row)

    def list_alias_requests(self, project_id: str, state: str | None = None) -> list[AliasRequest]:
        """Return the project's requests (of one state), oldest first."""
        query = select(_r).where(_r.c.project_id == project_id)
        if state is not None:
            query = query.where(_r.c.state == state)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(_r.c.requested_at, _r.c.id)).all()
        return [_request(r) for r in rows]

    def decide_alias_request(
        self, project_id: str, request_id: str, *, state: str, decided_by: str, at: int
    ) -> AliasRequest:
        """Mark a pending request approved or rejected; InvalidState if it is not pending."""
        with self._db.write() as conn:
            done = conn.execute(
                update(_r)
                .where(_r.c.project_id == project_id, _r.c.id == request_id)
                .where(_r.c.state == "pending")
                .values(state=state, decided_by=decided_by, decided_at=at)
            ).rowcount
            row = conn.execute(
                select(_r).where(_r.c.project_id == project_id, _r.c.id == request_id)
            ).first()
        if row is None:
            raise NotFound(f"alias request {request_id!r} does not exist", request=request_id)
        if not done:
            raise InvalidState(
                f"alias request {request_id!r} is already {row.state}",
                request=request_id,
                state=row.state,
            )
        return _request(row)
