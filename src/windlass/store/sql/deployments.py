"""The SQL deployment store: deployments and their revision history.

Every change of a deployment takes its row lock first (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite every writer already holds the database's write lock from
``BEGIN IMMEDIATE``), then bumps the revision and writes the event in the same
transaction. So per deployment, revisions are 1, 2, 3... without gaps or repeats, and each
event holds exactly the state its revision had.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Row

from windlass.entities import Deployment, DeploymentEvent, Page, Variant
from windlass.exceptions import AlreadyExists, Conflict, DeploymentNotFound
from windlass.store.deployments import MAX_DEPLOYMENT_RESULTS, DeploymentStore
from windlass.store.paging import check_max_results, decode_token, encode_token
from windlass.store.sql import lookups
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database

_d, _ev = s.deployments, s.deployment_events


def _variants_json(variants: list[Variant]) -> str:
    return orjson.dumps([v.to_dict() for v in variants]).decode()


def _shadow_json(shadow: Variant | None) -> str | None:
    return None if shadow is None else orjson.dumps(shadow.to_dict()).decode()


def _variants(text: str) -> list[Variant]:
    return [Variant.from_dict(v) for v in orjson.loads(text)]


def _shadow(text: str | None) -> Variant | None:
    return None if text is None else Variant.from_dict(orjson.loads(text))


class SqlDeploymentStore(DeploymentStore):
    """Deployments and their revision history over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- lookups -------------------------------------------------------------------------
    def _deployment_row(
        self, conn: Connection, project_id: str, name: str, *, lock: bool = False
    ) -> Row[Any, Any]:
        """Return the deployment's row (locked for this transaction with ``lock``)."""
        query = select(_d).where(_d.c.project_id == project_id, _d.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            project = lookups.project_name(conn, project_id)
            raise DeploymentNotFound(
                f"deployment {name!r} does not exist in project {project!r}",
                project=project,
                deployment=name,
            )
        return row

    @staticmethod
    def _deployment(row: Row[Any, Any]) -> Deployment:
        return Deployment(
            id=row.id,
            project_id=row.project_id,
            name=row.name,
            variants=_variants(row.variants),
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
            shadow=_shadow(row.shadow),
            description=row.description,
        )

    @staticmethod
    def _event(name: str, row: Row[Any, Any]) -> DeploymentEvent:
        return DeploymentEvent(
            name,
            row.revision,
            row.action,
            _variants(row.variants),
            _shadow(row.shadow),
            row.claimed_by,
            row.at,
        )

    # -- deployments ---------------------------------------------------------------------
    def create_deployment(
        self,
        *,
        deployment_id: str,
        project_id: str,
        name: str,
        description: str,
        variants: list[Variant],
        shadow: Variant | None,
        claimed_by: str,
        at: int,
    ) -> Deployment:
        """Create a deployment at revision 1 (the same id again returns it as it is)."""
        variants_text, shadow_text = _variants_json(variants), _shadow_json(shadow)
        with self._db.write() as conn:
            project = lookups.project_name(conn, project_id)
            created = conn.execute(
                self._db.insert(_d)
                .values(
                    id=deployment_id,
                    project_id=project_id,
                    name=name,
                    description=description,
                    variants=variants_text,
                    shadow=shadow_text,
                    revision=1,
                    created_at=at,
                    updated_at=at,
                )
                .on_conflict_do_nothing()
                .returning(_d.c.id)
            ).first()
            if created is None:
                existing = conn.execute(
                    select(_d).where(_d.c.project_id == project_id, _d.c.name == name)
                ).first()
                if existing is not None and existing.id == deployment_id:
                    return self._deployment(existing)
                if existing is None:
                    raise AlreadyExists(
                        f"deployment id {deployment_id} already belongs to another deployment",
                        deployment_id=deployment_id,
                    )
                raise AlreadyExists(
                    f"deployment {name!r} already exists in project {project!r}",
                    project=project,
                    deployment=name,
                )
            conn.execute(
                _ev.insert().values(
                    deployment_id=deployment_id,
                    revision=1,
                    action="create",
                    variants=variants_text,
                    shadow=shadow_text,
                    claimed_by=claimed_by,
                    at=at,
                )
            )
        return Deployment(
            id=deployment_id,
            project_id=project_id,
            name=name,
            variants=list(variants),
            revision=1,
            created_at=at,
            updated_at=at,
            shadow=shadow,
            description=description,
        )

    def get_deployment(self, project_id: str, name: str) -> Deployment:
        """Return a deployment."""
        with self._db.read() as conn:
            return self._deployment(self._deployment_row(conn, project_id, name))

    def list_deployments(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Deployment]:
        """Return a project's deployments ordered by name, keyset-paged."""
        check_max_results(max_results, MAX_DEPLOYMENT_RESULTS)
        kind = f"deployments:{project_id}"
        query = (
            select(_d)
            .where(_d.c.project_id == project_id)
            .order_by(_d.c.name)
            .limit(max_results + 1)
        )
        if page_token:
            query = query.where(_d.c.name > decode_token(page_token, kind, {"n": str})["n"])
        with self._db.read() as conn:
            lookups.project_name(conn, project_id)
            rows = conn.execute(query).all()
        items = [self._deployment(r) for r in rows[:max_results]]
        token = encode_token({"k": kind, "n": items[-1].name}) if len(rows) > max_results else None
        return Page(items, token)

    def update_deployment(
        self,
        project_id: str,
        name: str,
        *,
        variants: list[Variant],
        shadow: Variant | None,
        action: str,
        claimed_by: str,
        at: int,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Make variants and shadow the next revision and record it, in one transaction."""
        with self._db.write() as conn:
            row = self._deployment_row(conn, project_id, name, lock=True)
            current = self._deployment(row)
            if current.variants == variants and current.shadow == shadow:
                return current
            if expected_revision is not None and row.revision != expected_revision:
                raise Conflict(
                    f"deployment {name!r} changed concurrently: expected revision "
                    f"{expected_revision}, it is at revision {row.revision}",
                    deployment=name,
                    expected_revision=expected_revision,
                    revision=row.revision,
                )
            revision = row.revision + 1
            variants_text, shadow_text = _variants_json(variants), _shadow_json(shadow)
            conn.execute(
                update(_d)
                .where(_d.c.id == row.id)
                .values(
                    variants=variants_text, shadow=shadow_text, revision=revision, updated_at=at
                )
            )
            conn.execute(
                _ev.insert().values(
                    deployment_id=row.id,
                    revision=revision,
                    action=action,
                    variants=variants_text,
                    shadow=shadow_text,
                    claimed_by=claimed_by,
                    at=at,
                )
            )
        return Deployment(
            id=row.id,
            project_id=project_id,
            name=name,
            variants=list(variants),
            revision=revision,
            created_at=row.created_at,
            updated_at=at,
            shadow=shadow,
            description=row.description,
        )

    def deployment_history(
        self,
        project_id: str,
        name: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        newest_first: bool = False,
    ) -> Page[DeploymentEvent]:
        """Return a deployment's recorded changes by revision, keyset-paged."""
        check_max_results(max_results, MAX_DEPLOYMENT_RESULTS)
        with self._db.read() as conn:
            row = self._deployment_row(conn, project_id, name)
            kind = f"deployment-history:{row.id}:{'desc' if newest_first else 'asc'}"
            order = _ev.c.revision.desc() if newest_first else _ev.c.revision
            query = (
                select(_ev)
                .where(_ev.c.deployment_id == row.id)
                .order_by(order)
                .limit(max_results + 1)
            )
            if page_token:
                after = decode_token(page_token, kind, {"r": int})["r"]
                query = query.where(
                    _ev.c.revision < after if newest_first else _ev.c.revision > after
                )
            rows = conn.execute(query).all()
        items = [self._event(name, r) for r in rows[:max_results]]
        token = (
            encode_token({"k": kind, "r": items[-1].revision}) if len(rows) > max_results else None
        )
        return Page(items, token)

    def get_deployment_revision(self, project_id: str, name: str, revision: int) -> DeploymentEvent:
        """Return the recorded change that made ``revision``."""
        with self._db.read() as conn:
            row = self._deployment_row(conn, project_id, name)
            event = conn.execute(
                select(_ev).where(_ev.c.deployment_id == row.id, _ev.c.revision == revision)
            ).first()
        if event is None:
            raise DeploymentNotFound(
                f"deployment {name!r} has no revision {revision} (it is "
                f"at revision {row.revision})",
                deployment=name,
                revision=revision,
            )
        return self._event(name, event)

    def delete_deployment(self, project_id: str, name: str) -> None:
        """Delete a deployment and its history."""
        with self._db.write() as conn:
            row = self._deployment_row(conn, project_id, name, lock=True)
            conn.execute(delete(_ev).where(_ev.c.deployment_id == row.id))
            conn.execute(delete(_d).where(_d.c.id == row.id))
