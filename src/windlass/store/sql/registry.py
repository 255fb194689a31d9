"""The SQL store's model registry and run inputs (a base class of :class:`SqlStore`).

Every write that reads the state it changes takes the registered model's row lock first
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every writer already holds the
database's write lock from ``BEGIN IMMEDIATE``). So per model, version numbers, alias
moves and deletions happen one at a time: numbers never repeat or skip, and each alias
event's ``from_version`` is the previous event's ``to_version``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.engine import Connection, Row

from windlass.entities import (
    AliasEvent,
    ArtifactEntry,
    DatasetInput,
    ModelVersion,
    Page,
    RegisteredModel,
)
from windlass.exceptions import (
    AlreadyExists,
    InUse,
    InvalidInput,
    InvalidState,
    ModelNotFound,
    ModelVersionNotFound,
    ProjectNotFound,
)
from windlass.store.base import MetadataStore
from windlass.store.paging import check_max_results, decode_token, encode_token
from windlass.store.sql import aliases as sql_aliases
from windlass.store.sql import schema as s
from windlass.store.sql.idempotency import require_same
from windlass.uris import LATEST, parse_object_uri

#: The largest page of registered models or versions one call returns.
MAX_REGISTRY_RESULTS = 1000

_m, _t, _v = s.registered_models, s.registered_model_tags, s.model_versions
_a, _e, _i = s.model_aliases, s.model_alias_events, s.run_inputs
_d = s.deployments


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlRegistry(MetadataStore):
    """Registered models, versions, aliases and run inputs over SQLAlchemy Core."""

    if TYPE_CHECKING:
        # Plumbing that SqlStore provides.
        _pg: bool

        def _write(self) -> contextlib.AbstractContextManager[Connection]: ...
        def _read(self) -> contextlib.AbstractContextManager[Connection]: ...
        def _insert(self, table: Any) -> Any: ...
        def _in_ids(self, column: Any, ids: list[str]) -> ColumnElement[bool]: ...
        def _require_run(
            self, conn: Connection, run_id: str, *, writable: bool = False
        ) -> Row[Any, Any]: ...

    # -- run inputs ----------------------------------------------------------------------
    def log_inputs(self, run_id: str, inputs: list[DatasetInput]) -> None:
        """Record datasets a run read (the same name, digest and context again: no-op)."""
        with self._write() as conn:
            self._require_run(conn, run_id, writable=True)
            if not inputs:
                return
            conn.execute(
                self._insert(_i).on_conflict_do_nothing(
                    index_elements=["run_id", "name", "digest", "context"]
                ),
                [
                    {
                        "run_id": run_id,
                        "name": d.name,
                        "digest": d.digest,
                        "context": d.context,
                        "source": d.source,
                        "num_rows": d.rows,
                        "dataset_schema": _dumps(d.schema),
                    }
                    for d in inputs
                ],
            )

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""
        with self._read() as conn:
            self._require_run(conn, run_id)
            rows = conn.execute(
                select(
                    _i.c.name,
                    _i.c.digest,
                    _i.c.context,
                    _i.c.source,
                    _i.c.num_rows,
                    _i.c.dataset_schema,
                )
                .where(_i.c.run_id == run_id)
                .order_by(_i.c.id)
            ).all()
        return [
            DatasetInput(name, digest, context, source, num_rows, orjson.loads(schema))
            for name, digest, context, source, num_rows, schema in rows
        ]

    # -- lookups -------------------------------------------------------------------------
    @staticmethod
    def _project_name(conn: Connection, project_id: str) -> str:
        name = conn.execute(select(s.projects.c.name).where(s.projects.c.id == project_id)).scalar()
        if name is None:
            raise ProjectNotFound(f"project id {project_id!r} does not exist", project=project_id)
        return str(name)

    def _model(
        self, conn: Connection, project_id: str, name: str, *, lock: bool = False
    ) -> Row[Any, Any]:
        """Return the model's row (locked for this transaction with ``lock``)."""
        query = select(_m).where(_m.c.project_id == project_id, _m.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            project = self._project_name(conn, project_id)
            raise ModelNotFound(
                f"model {name!r} does not exist in project {project!r}", project=project, model=name
            )
        return row

    @staticmethod
    def _no_version(name: str, version: int) -> ModelVersionNotFound:
        return ModelVersionNotFound(
            f"model {name!r} has no version {version}", model=name, version=version
        )

    def _load_models(
        self, conn: Connection, rows: Sequence[Row[Any, Any]]
    ) -> list[RegisteredModel]:
        """Build models with tags, aliases and newest version: three queries for any page."""
        ids = [r.id for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        aliases: dict[str, dict[str, int]] = {i: {} for i in ids}
        latest: dict[str, int] = {}
        if ids:
            for model_id, key, value in conn.execute(
                select(_t.c.model_id, _t.c.key, _t.c.value)
                .where(self._in_ids(_t.c.model_id, ids))
                .order_by(_t.c.key)
            ):
                tags[model_id][key] = value
            for model_id, alias, version in conn.execute(
                select(_a.c.model_id, _a.c.alias, _a.c.version)
                .where(self._in_ids(_a.c.model_id, ids))
                .order_by(_a.c.alias)
            ):
                aliases[model_id][alias] = version
            for model_id, version in conn.execute(
                select(_v.c.model_id, func.max(_v.c.version))
                .where(self._in_ids(_v.c.model_id, ids))
                .group_by(_v.c.model_id)
            ):
                latest[model_id] = version
        return [
            RegisteredModel(
                id=r.id,
                project_id=r.project_id,
                name=r.name,
                created_at=r.created_at,
                updated_at=r.updated_at,
                description=r.description,
                card=r.card,
                tags=tags[r.id],
                aliases=aliases[r.id],
                latest_version=latest.get(r.id),
            )
            for r in rows
        ]

    @staticmethod
    def _version(model: Row[Any, Any], row: Row[Any, Any], aliases: list[str]) -> ModelVersion:
        return ModelVersion(
            id=row.id,
            model_id=model.id,
            project_id=model.project_id,
            name=model.name,
            version=row.version,
            source=row.source,
            run_id=row.run_id,
            files=[
                ArtifactEntry(path, digest, size) for path, digest, size in orjson.loads(row.files)
            ],
            manifest=orjson.loads(row.manifest),
            created_at=row.created_at,
            claimed_by=row.claimed_by,
            description=row.description,
            aliases=aliases,
        )

    @staticmethod
    def _aliases_of(conn: Connection, model_id: str, version: int) -> list[str]:
        return sql_aliases.by_version(conn, sql_aliases.MODEL_ALIASES, model_id, [version])[version]

    @staticmethod
    def _served_by(
        conn: Connection, model: Row[Any, Any], version: int | None, newest: bool
    ) -> list[str]:
        """Return ``deployment 'd' (variant 'v')`` for each variant serving the version.

        ``version`` None: any version of the model. A variant serves a version when its URI
        names it by number, or names the model without a version or with ``@latest`` and
        the version is the newest (``newest``). Other aliases are guarded as aliases.
        """
        needle = f"models:/{model.name}"
        rows = conn.execute(
            select(_d.c.name, _d.c.variants, _d.c.shadow)
            .where(
                _d.c.project_id == model.project_id,
                _d.c.variants.contains(needle, autoescape=True)
                | _d.c.shadow.contains(needle, autoescape=True),
            )
            .order_by(_d.c.name)
        ).all()
        users: list[str] = []
        for name, variants_text, shadow_text in rows:
            variants = orjson.loads(variants_text)
            if shadow_text is not None:
                variants.append(orjson.loads(shadow_text))
            for variant in variants:
                try:
                    uri = parse_object_uri(str(variant.get("model_uri", "")))
                except InvalidInput:
                    continue
                if uri.kind != "models" or uri.name != model.name:
                    continue
                if (
                    version is None
                    or uri.version == version
                    or (newest and uri.version is None and uri.alias in (None, LATEST))
                ):
                    users.append(f"deployment {name!r} (variant {variant.get('name')!r})")
        return users

    def _load_version(self, conn: Connection, model: Row[Any, Any], version: int) -> ModelVersion:
        row = conn.execute(
            select(_v).where(_v.c.model_id == model.id, _v.c.version == version)
        ).first()
        if row is None:
            raise self._no_version(model.name, version)
        return self._version(model, row, self._aliases_of(conn, model.id, version))

    # -- registered models ---------------------------------------------------------------
    def create_registered_model(
        self,
        *,
        model_id: str,
        project_id: str,
        name: str,
        description: str,
        tags: dict[str, str],
        created_at: int,
        exist_ok: bool = False,
    ) -> RegisteredModel:
        """Create a registered model (an existing name: AlreadyExists unless ``exist_ok``).

        The same ``model_id`` again returns the model it created (a retried create); the
        id of a model with another project or name is IdConflict.
        """
        with self._write() as conn:
            project = self._project_name(conn, project_id)
            created = conn.execute(
                self._insert(_m)
                .values(
                    id=model_id,
                    project_id=project_id,
                    name=name,
                    description=description,
                    card="",
                    created_at=created_at,
                    updated_at=created_at,
                    next_version=1,
                )
                .on_conflict_do_nothing()  # the name or the id is taken
                .returning(_m.c.id)
            ).first()
            retried = None
            if created is None:
                retried = conn.execute(
                    select(_m.c.project_id, _m.c.name).where(_m.c.id == model_id)
                ).first()
            if retried is not None:
                require_same(
                    "model",
                    model_id,
                    retried._asdict(),
                    {"project_id": project_id, "name": name},
                )
            elif created is None and not exist_ok:
                raise AlreadyExists(
                    f"model {name!r} already exists in project {project!r}",
                    project=project,
                    model=name,
                )
            if created is not None and tags:
                conn.execute(
                    _t.insert(),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
                )
            return self._load_models(conn, [self._model(conn, project_id, name)])[0]

    def get_registered_model(self, project_id: str, name: str) -> RegisteredModel:
        """Return a registered model with its tags, aliases and newest version number."""
        with self._read() as conn:
            return self._load_models(conn, [self._model(conn, project_id, name)])[0]

    def list_registered_models(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Return a project's registered models ordered by name, keyset-paged."""
        check_max_results(max_results, MAX_REGISTRY_RESULTS)
        kind = f"models:{project_id}"
        query = (
            select(_m)
            .where(_m.c.project_id == project_id)
            .order_by(_m.c.name)
            .limit(max_results + 1)
        )
        if page_token:
            query = query.where(_m.c.name > decode_token(page_token, kind, {"n": str})["n"])
        with self._read() as conn:
            self._project_name(conn, project_id)
            rows = conn.execute(query).all()
            items = self._load_models(conn, rows[:max_results])
        token = encode_token({"k": kind, "n": items[-1].name}) if len(rows) > max_results else None
        return Page(items, token)

    def update_registered_model(
        self,
        project_id: str,
        name: str,
        *,
        description: str | None = None,
        card: str | None = None,
        set_tags: dict[str, str] | None = None,
        delete_tags: list[str] | None = None,
        updated_at: int,
    ) -> RegisteredModel:
        """Change description, card or tags (tags are deleted first, then set)."""
        values: dict[str, Any] = {"updated_at": updated_at}
        if description is not None:
            values["description"] = description
        if card is not None:
            values["card"] = card
        with self._write() as conn:
            model = self._model(conn, project_id, name, lock=True)
            conn.execute(update(_m).where(_m.c.id == model.id).values(**values))
            if delete_tags:
                conn.execute(delete(_t).where(_t.c.model_id == model.id, _t.c.key.in_(delete_tags)))
            if set_tags:
                stmt = self._insert(_t)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["model_id", "key"], set_={"value": stmt.excluded.value}
                    ),
                    [{"model_id": model.id, "key": k, "value": v} for k, v in set_tags.items()],
                )
            return self._load_models(conn, [self._model(conn, project_id, name)])[0]

    def delete_registered_model(self, project_id: str, name: str) -> None:
        """Delete a model, its versions, tags and alias history (refused while in use).

        In use: an alias exists (InvalidState), or a deployment serves one of its versions
        (InUse, naming the deployment).
        """
        with self._write() as conn:
            model = self._model(conn, project_id, name, lock=True)
            aliases = list(
                conn.execute(
                    select(_a.c.alias).where(_a.c.model_id == model.id).order_by(_a.c.alias)
                ).scalars()
            )
            if aliases:
                raise InvalidState(
                    f"model {name!r} still has alias(es) {', '.join(map(repr, aliases))}; "
                    "delete them first",
                    model=name,
                    aliases=aliases,
                )
            served = self._served_by(conn, model, None, newest=True)
            if served:
                raise InUse(
                    f"model {name!r} is served by {'; '.join(served)}; change or "
                    "delete the deployment(s) first",
                    model=name,
                    used_by=served,
                )
            for table in (_e, _t, _v):
                conn.execute(delete(table).where(table.c.model_id == model.id))
            conn.execute(delete(_m).where(_m.c.id == model.id))

    # -- versions ------------------------------------------------------------------------
    def create_model_version(
        self,
        *,
        version_id: str,
        project_id: str,
        name: str,
        source: str,
        run_id: str | None,
        files: list[ArtifactEntry],
        manifest: dict[str, Any],
        description: str,
        claimed_by: str,
        created_at: int,
    ) -> ModelVersion:
        """Add the model's next version; the same ``version_id`` again returns it as it is."""
        with self._write() as conn:
            # The lock comes before the retry check: a concurrent retry of this version id
            # waits here, then finds the version its twin committed.
            model = self._model(conn, project_id, name, lock=True)
            existing = conn.execute(select(_v).where(_v.c.id == version_id)).first()
            if existing is not None:
                if existing.model_id != model.id:
                    raise AlreadyExists(
                        f"version id {version_id} already belongs to another model",
                        version_id=version_id,
                    )
                return self._version(
                    model, existing, self._aliases_of(conn, model.id, existing.version)
                )
            number = (
                conn.execute(
                    update(_m)
                    .where(_m.c.id == model.id)
                    .values(next_version=_m.c.next_version + 1, updated_at=created_at)
                    .returning(_m.c.next_version)
                ).scalar_one()
                - 1
            )
            conn.execute(
                _v.insert().values(
                    id=version_id,
                    model_id=model.id,
                    version=number,
                    source=source,
                    run_id=run_id,
                    files=_dumps([[f.path, f.digest, f.size] for f in files]),
                    manifest=_dumps(manifest),
                    description=description,
                    claimed_by=claimed_by,
                    created_at=created_at,
                )
            )
        return ModelVersion(
            id=version_id,
            model_id=model.id,
            project_id=project_id,
            name=name,
            version=number,
            source=source,
            run_id=run_id,
            files=list(files),
            manifest=dict(manifest),
            created_at=created_at,
            claimed_by=claimed_by,
            description=description,
        )

    def get_model_version(self, project_id: str, name: str, version: int) -> ModelVersion:
        """Return one version with its aliases."""
        with self._read() as conn:
            return self._load_version(conn, self._model(conn, project_id, name), version)

    def get_model_version_by_alias(self, project_id: str, name: str, alias: str) -> ModelVersion:
        """Return the version ``alias`` points to."""
        with self._read() as conn:
            model = self._model(conn, project_id, name)
            version = sql_aliases.target(conn, sql_aliases.MODEL_ALIASES, model.id, alias)
            if version is None:
                raise ModelVersionNotFound(
                    f"model {name!r} has no alias {alias!r}", model=name, alias=alias
                )
            return self._load_version(conn, model, version)

    def list_model_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        """Return a model's versions, newest first, keyset-paged."""
        check_max_results(max_results, MAX_REGISTRY_RESULTS)
        with self._read() as conn:
            model = self._model(conn, project_id, name)
            kind = f"versions:{model.id}"
            query = (
                select(_v)
                .where(_v.c.model_id == model.id)
                .order_by(_v.c.version.desc())
                .limit(max_results + 1)
            )
            if page_token:
                query = query.where(_v.c.version < decode_token(page_token, kind, {"v": int})["v"])
            rows = conn.execute(query).all()
            numbers = [r.version for r in rows[:max_results]]
            aliases = sql_aliases.by_version(conn, sql_aliases.MODEL_ALIASES, model.id, numbers)
        items = [self._version(model, r, aliases[r.version]) for r in rows[:max_results]]
        token = encode_token({"k": kind, "v": numbers[-1]}) if len(rows) > max_results else None
        return Page(items, token)

    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version (refused, naming them, while aliases or deployments use it)."""
        with self._write() as conn:
            model = self._model(conn, project_id, name, lock=True)
            found = conn.execute(
                select(_v.c.id).where(_v.c.model_id == model.id, _v.c.version == version)
            ).first()
            if found is None:
                raise self._no_version(name, version)
            aliases = self._aliases_of(conn, model.id, version)
            if aliases:
                raise InvalidState(
                    f"model {name!r} version {version} is the target of alias(es) "
                    f"{', '.join(map(repr, aliases))}; move or delete them first",
                    model=name,
                    version=version,
                    aliases=aliases,
                )
            newest = (
                conn.execute(
                    select(func.max(_v.c.version)).where(_v.c.model_id == model.id)
                ).scalar()
                == version
            )
            served = self._served_by(conn, model, version, newest)
            if served:
                raise InUse(
                    f"model {name!r} version {version} is served by "
                    f"{'; '.join(served)}; change or delete the deployment(s) first",
                    model=name,
                    version=version,
                    used_by=served,
                )
            conn.execute(delete(_v).where(_v.c.id == found.id))

    # -- aliases -------------------------------------------------------------------------
    def set_model_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` and record the move, in one transaction.

        Setting an alias to the version it already names changes and records nothing; the
        event returned then has ``from_version == to_version``.
        """
        with self._write() as conn:
            model = self._model(conn, project_id, name, lock=True)
            if not sql_aliases.has_version(conn, sql_aliases.MODEL_ALIASES, model.id, version):
                raise self._no_version(name, version)
            previous = sql_aliases.move(
                conn,
                sql_aliases.MODEL_ALIASES,
                self._insert,
                model.id,
                alias,
                version,
                claimed_by=claimed_by,
                at=at,
            )
        return AliasEvent(name, alias, previous, version, claimed_by, at)

    def delete_model_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> AliasEvent:
        """Remove an alias and record it; a missing alias is ModelVersionNotFound."""
        with self._write() as conn:
            model = self._model(conn, project_id, name, lock=True)
            previous = sql_aliases.remove(
                conn, sql_aliases.MODEL_ALIASES, model.id, alias, claimed_by=claimed_by, at=at
            )
            if previous is None:
                raise ModelVersionNotFound(
                    f"model {name!r} has no alias {alias!r}", model=name, alias=alias
                )
        return AliasEvent(name, alias, previous, None, claimed_by, at)

    def alias_history(
        self, project_id: str, name: str, alias: str | None = None
    ) -> list[AliasEvent]:
        """Return the model's alias moves (or one alias's), oldest first."""
        with self._read() as conn:
            model = self._model(conn, project_id, name)
            rows = sql_aliases.history(conn, sql_aliases.MODEL_ALIASES, model.id, alias)
        return [AliasEvent(name, a, f, t, u, at) for a, f, t, u, at in rows]
