"""Checks several SQL area stores make inside their transactions: does a project or run exist.

Each takes the caller's connection, so the check and the write it guards are one
transaction, and raises the not-found error of :mod:`windlass.exceptions`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, Row

from windlass.exceptions import InvalidState, ProjectNotFound, RunNotFound
from windlass.ids import is_id
from windlass.store.sql import schema as s


def project_name(conn: Connection, project_id: str) -> str:
    """Return the name of the project ``project_id``, or raise ProjectNotFound."""
    name = conn.execute(select(s.projects.c.name).where(s.projects.c.id == project_id)).scalar()
    if name is None:
        raise ProjectNotFound(f"project id {project_id!r} does not exist", project=project_id)
    return str(name)


def project_ids(conn: Connection, names_or_ids: list[str]) -> list[str]:
    """Return the ids of projects named by name or id, in one query; a stranger raises."""
    pr = s.projects
    rows = conn.execute(
        select(pr.c.id, pr.c.name).where(
            or_(pr.c.name.in_(names_or_ids), pr.c.id.in_(names_or_ids))
        )
    ).all()
    known = {name for row in rows for name in row}
    for wanted in names_or_ids:
        if wanted not in known:
            raise ProjectNotFound(f"project {wanted!r} does not exist", project=wanted)
    return [row[0] for row in rows]


def require_run(conn: Connection, run_id: str, *, writable: bool = False) -> Row[Any, Any]:
    """Return the run's ``(id, deleted)`` row, or raise RunNotFound.

    With ``writable``, a deleted run raises InvalidState: it must be restored first.
    """
    if not is_id(run_id):
        raise RunNotFound(f"run {run_id!r} does not exist (not a run id)", run_id=run_id)
    row = conn.execute(select(s.runs.c.id, s.runs.c.deleted).where(s.runs.c.id == run_id)).first()
    if row is None:
        raise RunNotFound(f"run {run_id} does not exist", run_id=run_id)
    if writable and row.deleted:
        raise InvalidState(
            f"run {run_id} is deleted; restore it before writing to it", run_id=run_id
        )
    return row


def require_project(conn: Connection, project_id: str) -> None:
    """Raise ProjectNotFound unless the project ``project_id`` exists."""
    if conn.execute(select(s.projects.c.id).where(s.projects.c.id == project_id)).first() is None:
        raise ProjectNotFound(f"project id {project_id!r} does not exist", project=project_id)
