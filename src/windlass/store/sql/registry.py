"""The SQL model registry: registered models, versions, aliases and alias history.

Built on the versioned-object core (:mod:`~windlass.store.sql.versioned`), which holds the
locking, numbering, alias moves and paging, and is the model's
:class:`~windlass.store.versioned.VersionedStore` (``store.registry.objects``: reading
models and versions, deleting a model, moving aliases); this module adds what only models
have: tags, a Markdown card, a version's files and manifest, and the check that no
deployment serves a model or version about to be deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Row

from windlass.entities import (
    AliasEvent,
    ArtifactEntry,
    ModelVersion,
    RegisteredModel,
)
from windlass.exceptions import (
    InUse,
    InvalidInput,
    InvalidState,
    ModelNotFound,
    ModelVersionNotFound,
)
from windlass.principal import AuthMethod
from windlass.store.registry import MAX_REGISTRY_RESULTS, RegistryStore
from windlass.store.sql import schema as s
from windlass.store.sql.database import Database
from windlass.store.sql.versioned import VersionedKind, VersionedObjects
from windlass.uris import LATEST, parse_object_uri

_m, _t, _v = s.registered_models, s.registered_model_tags, s.model_versions
_d = s.deployments

MODELS = VersionedKind("model", s.model_tables, ModelNotFound, ModelVersionNotFound, "versions", _t)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlRegistryStore(RegistryStore):
    """Registered models, versions, aliases and alias history over SQLAlchemy Core."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._models = VersionedObjects(db, MODELS, self, AliasEvent, MAX_REGISTRY_RESULTS)
        self.objects = self._models

    # -- building entities ---------------------------------------------------------------
    def load_objects(
        self, conn: Connection, rows: Sequence[Row[Any, Any]]
    ) -> list[RegisteredModel]:
        """Build models with their card and tags: three queries for any page."""
        ids = [r.id for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for model_id, key, value in conn.execute(
                select(_t.c.model_id, _t.c.key, _t.c.value)
                .where(self._db.in_ids(_t.c.model_id, ids))
                .order_by(_t.c.key)
            ):
                tags[model_id][key] = value
        shared = self._models.object_fields(conn, rows)
        return [
            RegisteredModel(**fields, card=r.card, tags=tags[r.id])
            for r, fields in zip(rows, shared, strict=True)
        ]

    def build_version(self, fields: dict[str, Any], row: Row[Any, Any]) -> ModelVersion:
        """Return a model version: the shared fields, its source, run, files and manifest."""
        return ModelVersion(
            **fields,
            source=row.source,
            run_id=row.run_id,
            files=[
                ArtifactEntry(path, digest, size) for path, digest, size in orjson.loads(row.files)
            ],
            manifest=orjson.loads(row.manifest),
            description=row.description,
            registered_auth=AuthMethod(row.registered_auth),
        )

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

    def check_delete(self, conn: Connection, model: Row[Any, Any]) -> None:
        """Raise InUse, naming them, while a deployment serves any version of ``model``."""
        served = self._served_by(conn, model, None, newest=True)
        if served:
            raise InUse(
                f"model {model.name!r} is served by {'; '.join(served)}; change or "
                "delete the deployment(s) first",
                model=model.name,
                used_by=served,
            )

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
        with self._db.write() as conn:
            created = self._models.create(
                conn,
                object_id=model_id,
                project_id=project_id,
                name=name,
                created_at=created_at,
                exist_ok=exist_ok,
                values={"description": description, "card": ""},
            )
            if created and tags:
                conn.execute(
                    _t.insert(),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
                )
            return self._models.load_one(conn, project_id, name)

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
        with self._db.write() as conn:
            model = self._models.row(conn, project_id, name, lock=True)
            conn.execute(update(_m).where(_m.c.id == model.id).values(**values))
            if delete_tags:
                conn.execute(delete(_t).where(_t.c.model_id == model.id, _t.c.key.in_(delete_tags)))
            if set_tags:
                stmt = self._db.insert(_t)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["model_id", "key"], set_={"value": stmt.excluded.value}
                    ),
                    [{"model_id": model.id, "key": k, "value": v} for k, v in set_tags.items()],
                )
            return self._models.load_one(conn, project_id, name)

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
        registered_auth: AuthMethod = AuthMethod.LOCAL,
    ) -> ModelVersion:
        """Add the model's next version; the same ``version_id`` again returns it as it is."""
        values = {
            "source": source,
            "run_id": run_id,
            "files": _dumps([[f.path, f.digest, f.size] for f in files]),
            "manifest": _dumps(manifest),
            "description": description,
            "registered_auth": AuthMethod(registered_auth).value,
        }
        return self._models.register_version(
            project_id,
            name,
            version_id=version_id,
            claimed_by=claimed_by,
            created_at=created_at,
            values=values,
        )

    def delete_model_version(self, project_id: str, name: str, version: int) -> None:
        """Delete a version (refused, naming them, while aliases or deployments use it)."""
        with self._db.write() as conn:
            model = self._models.row(conn, project_id, name, lock=True)
            found = self._models.version_row(conn, model, version)
            aliases = self._models.aliases_of(conn, model.id, version)
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
