"""The SQL core of every versioned kind: a named object with immutable numbered versions.

Models and prompts (and next datasets and evaluation suites) are each "a named object in a
project, with versions numbered 1, 2, 3... that never change, aliases naming one version
whose every move is recorded, and a description". Their tables differ only in names and in
the column naming the owner, which a :class:`VersionedKind` describes; the queries,
locks, page tokens and error messages live here once. A kind's store (for example
:mod:`~windlass.store.sql.registry`) adds only what is its own: its columns, the entities
it builds from rows, and checks such as "a deployment serves this version".

Locking: every write that reads the state it changes takes the object's row lock first
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every writer already holds the
database's write lock from ``BEGIN IMMEDIATE``). So per object, version numbers, alias
moves and deletions happen one at a time: numbers never repeat or skip, and each alias
event's ``from_version`` is the previous event's ``to_version``. Methods that take a
connection run inside the caller's transaction; those that do not open their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import Connection, Row

from windlass.entities import AliasMove, Page
from windlass.exceptions import AlreadyExists, InvalidState, NotFound
from windlass.store.paging import check_max_results, decode_token, encode_token
from windlass.store.sql import lookups
from windlass.store.sql.database import Database
from windlass.store.sql.idempotency import require_same
from windlass.store.sql.schema import VersionedTables
from windlass.store.versioned import VersionedStore

O = TypeVar("O")  # noqa: E741 - the object, as V is the version and E the alias event
V = TypeVar("V")
E = TypeVar("E", bound=AliasMove)
V_co = TypeVar("V_co", covariant=True)

#: Builds a kind's alias event from (name, alias, from_version, to_version, claimed_by, at).
EventFactory = Callable[[str, str, int | None, int | None, str, int], E]


class KindRows(Protocol[O, V_co]):
    """What a kind's own store gives the core: its entities, built from rows.

    The core reads the rows, builds the fields every kind shares
    (:meth:`VersionedObjects.object_fields`, :meth:`VersionedObjects.version_fields`) and
    leaves the kind's own columns to these.
    """

    def load_objects(self, conn: Connection, rows: Sequence[Row[Any, Any]]) -> list[O]:
        """Return the kind's objects of ``rows`` (one batch of queries for any page)."""
        ...

    def build_version(self, fields: dict[str, Any], row: Row[Any, Any]) -> V_co:
        """Return the kind's version from the shared ``fields`` and the row's own columns."""
        ...

    def check_delete(self, conn: Connection, obj: Row[Any, Any]) -> None:
        """Raise (InUse, naming it) while something of the kind's own depends on ``obj``."""
        ...


@dataclass(frozen=True)
class VersionedKind:
    """The tables and names of one versioned kind.

    The owner column of its versions, aliases, events and tags is ``<noun>_id``; its
    objects' page tokens are of the kind ``<noun>s``.
    """

    #: The word for one object in messages and error details ("model", "prompt").
    noun: str
    tables: VersionedTables
    not_found: type[NotFound]
    version_not_found: type[NotFound]
    #: The page-token kind of the version listing.
    versions_page_kind: str
    #: Key-value tags of an object, if the kind has them.
    tags: Table | None = None

    @property
    def objects(self) -> Table:
        """Return the table of the kind's objects."""
        return self.tables.objects

    @property
    def versions(self) -> Table:
        """Return the table of the kind's versions."""
        return self.tables.versions

    @property
    def aliases(self) -> Table:
        """Return the table of the kind's aliases."""
        return self.tables.aliases

    @property
    def events(self) -> Table:
        """Return the table of the kind's recorded alias moves."""
        return self.tables.events

    @property
    def owner(self) -> str:
        """Return the column of versions, aliases, events and tags naming the object."""
        return f"{self.noun}_id"

    @property
    def list_page_kind(self) -> str:
        """Return the page-token kind of the object listing."""
        return f"{self.noun}s"


class VersionedObjects(VersionedStore[O, V, E]):
    """Objects of one :class:`VersionedKind`, their versions, aliases and alias history.

    It is the SQL :class:`~windlass.store.versioned.VersionedStore` of every kind, and
    the helpers (taking a connection) a kind's own store builds on. Objects and versions
    come back as the kind's own entities, built by ``rows`` (the kind's store); alias moves
    as its event, built by ``event``. A page holds at most ``max_results``.
    """

    def __init__(
        self,
        db: Database,
        kind: VersionedKind,
        rows: KindRows[O, V],
        event: EventFactory[E],
        max_results: int,
    ) -> None:
        self.db = db
        self.kind = kind
        self.rows = rows
        self.event = event
        self.max_results = max_results

    # -- errors --------------------------------------------------------------------------
    def no_version(self, name: str, version: int) -> NotFound:
        """Return the error for a version number the object does not have."""
        noun = self.kind.noun
        return self.kind.version_not_found(
            f"{noun} {name!r} has no version {version}", **{noun: name}, version=version
        )

    def no_alias(self, name: str, alias: str) -> NotFound:
        """Return the error for an alias the object does not have."""
        noun = self.kind.noun
        return self.kind.version_not_found(
            f"{noun} {name!r} has no alias {alias!r}", **{noun: name}, alias=alias
        )

    # -- objects -------------------------------------------------------------------------
    def row(
        self, conn: Connection, project_id: str, name: str, *, lock: bool = False
    ) -> Row[Any, Any]:
        """Return the object's row (locked for this transaction with ``lock``)."""
        o = self.kind.objects
        query = select(o).where(o.c.project_id == project_id, o.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            project = lookups.project_name(conn, project_id)
            noun = self.kind.noun
            raise self.kind.not_found(
                f"{noun} {name!r} does not exist in project {project!r}",
                project=project,
                **{noun: name},
            )
        return row

    def create(
        self,
        conn: Connection,
        *,
        object_id: str,
        project_id: str,
        name: str,
        created_at: int,
        exist_ok: bool,
        values: dict[str, Any],
        fixed: tuple[str, ...] = (),
    ) -> bool:
        """Insert the object (with its own ``values``); return whether it is new.

        An existing name raises AlreadyExists unless ``exist_ok``. The same ``object_id``
        again is a retried create and returns False; the id of an object with another
        project, name or ``fixed`` value (keys of ``values``) is IdConflict.
        """
        o = self.kind.objects
        project = lookups.project_name(conn, project_id)
        created = conn.execute(
            self.db.insert(o)
            .values(
                id=object_id,
                project_id=project_id,
                name=name,
                created_at=created_at,
                updated_at=created_at,
                next_version=1,
                **values,
            )
            .on_conflict_do_nothing()  # the name or the id is taken
            .returning(o.c.id)
        ).first()
        if created is not None:
            return True
        columns = [o.c.project_id, o.c.name, *(o.c[key] for key in fixed)]
        retried = conn.execute(select(*columns).where(o.c.id == object_id)).first()
        if retried is not None:
            wanted = {"project_id": project_id, "name": name, **{k: values[k] for k in fixed}}
            require_same(self.kind.noun, object_id, retried._asdict(), wanted)
            return False
        if not exist_ok:
            noun = self.kind.noun
            raise AlreadyExists(
                f"{noun} {name!r} already exists in project {project!r}",
                project=project,
                **{noun: name},
            )
        return False

    def load_one(self, conn: Connection, project_id: str, name: str) -> O:
        """Return the kind's entity of one object, read in the caller's transaction."""
        return self.rows.load_objects(conn, [self.row(conn, project_id, name)])[0]

    def get_object(self, project_id: str, name: str) -> O:
        """Return an object with its aliases and newest version number."""
        with self.db.read() as conn:
            return self.load_one(conn, project_id, name)

    def list_objects(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[O]:
        """Return a project's objects ordered by name, keyset-paged."""
        check_max_results(max_results, self.max_results)
        o = self.kind.objects
        token_kind = f"{self.kind.list_page_kind}:{project_id}"
        query = (
            select(o).where(o.c.project_id == project_id).order_by(o.c.name).limit(max_results + 1)
        )
        if page_token:
            query = query.where(o.c.name > decode_token(page_token, token_kind, {"n": str})["n"])
        with self.db.read() as conn:
            lookups.project_name(conn, project_id)
            rows = conn.execute(query).all()
            items = self.rows.load_objects(conn, rows[:max_results])
        token = (
            encode_token({"k": token_kind, "n": rows[max_results - 1].name})
            if len(rows) > max_results
            else None
        )
        return Page(items, token)

    def delete_object(self, project_id: str, name: str) -> None:
        """Delete an object, its versions, tags and alias history (refused while in use)."""
        with self.db.write() as conn:
            obj = self.row(conn, project_id, name, lock=True)
            self.check_unaliased(conn, obj)
            self.rows.check_delete(conn, obj)
            self.delete(conn, obj)

    def object_fields(
        self, conn: Connection, rows: Sequence[Row[Any, Any]]
    ) -> list[dict[str, Any]]:
        """Return the fields every kind's objects have, one dict per row (two queries).

        They are :class:`~windlass.entities.VersionedObject`'s: id, project, name, times,
        description, aliases (alias -> version) and the newest version number.
        """
        aliases, latest = self._aliases_and_latest(conn, [r.id for r in rows])
        return [
            {
                "id": r.id,
                "project_id": r.project_id,
                "name": r.name,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "description": r.description,
                "aliases": aliases[r.id],
                "latest_version": latest.get(r.id),
            }
            for r in rows
        ]

    def version_fields(
        self, obj: Row[Any, Any], row: Row[Any, Any], aliases: list[str]
    ) -> dict[str, Any]:
        """Return the fields every kind's versions have (the owner's id under its key)."""
        return {
            "id": row.id,
            self.kind.owner: obj.id,
            "project_id": obj.project_id,
            "name": obj.name,
            "version": row.version,
            "created_at": row.created_at,
            "claimed_by": row.claimed_by,
            "aliases": aliases,
        }

    def _aliases_and_latest(
        self, conn: Connection, ids: list[str]
    ) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Return each object's aliases (alias -> version) and newest version number."""
        a, v, owner = self.kind.aliases, self.kind.versions, self.kind.owner
        aliases: dict[str, dict[str, int]] = {i: {} for i in ids}
        latest: dict[str, int] = {}
        if ids:
            for object_id, alias, version in conn.execute(
                select(a.c[owner], a.c.alias, a.c.version)
                .where(self.db.in_ids(a.c[owner], ids))
                .order_by(a.c.alias)
            ):
                aliases[object_id][alias] = version
            for object_id, version in conn.execute(
                select(v.c[owner], func.max(v.c.version))
                .where(self.db.in_ids(v.c[owner], ids))
                .group_by(v.c[owner])
            ):
                latest[object_id] = version
        return aliases, latest

    def check_unaliased(self, conn: Connection, obj: Row[Any, Any]) -> None:
        """Raise InvalidState (naming them) while any alias of the object exists."""
        a = self.kind.aliases
        aliases = list(
            conn.execute(
                select(a.c.alias).where(a.c[self.kind.owner] == obj.id).order_by(a.c.alias)
            ).scalars()
        )
        if aliases:
            noun = self.kind.noun
            raise InvalidState(
                f"{noun} {obj.name!r} still has alias(es) {', '.join(map(repr, aliases))}; "
                "delete them first",
                **{noun: obj.name},
                aliases=aliases,
            )

    def delete(self, conn: Connection, obj: Row[Any, Any]) -> None:
        """Delete the object with its versions, tags and alias history."""
        k = self.kind
        tables = [k.events, *([k.tags] if k.tags is not None else []), k.versions]
        for table in tables:
            conn.execute(delete(table).where(table.c[k.owner] == obj.id))
        conn.execute(delete(k.objects).where(k.objects.c.id == obj.id))

    # -- versions ------------------------------------------------------------------------
    def retried_version(
        self, conn: Connection, obj: Row[Any, Any], version_id: str
    ) -> Row[Any, Any] | None:
        """Return the version already stored under ``version_id`` (a retry), if any.

        Call it under the object's lock: a concurrent retry waits for the lock, then finds
        the version its twin committed. An id of another object's version: AlreadyExists.
        """
        v = self.kind.versions
        existing = conn.execute(select(v).where(v.c.id == version_id)).first()
        if existing is not None and existing._mapping[self.kind.owner] != obj.id:
            raise AlreadyExists(
                f"version id {version_id} already belongs to another {self.kind.noun}",
                version_id=version_id,
            )
        return existing

    def newest_version(self, conn: Connection, obj: Row[Any, Any]) -> Row[Any, Any] | None:
        """Return the object's newest version row (None: it has none)."""
        v = self.kind.versions
        return conn.execute(
            select(v).where(v.c[self.kind.owner] == obj.id).order_by(v.c.version.desc()).limit(1)
        ).first()

    def add_version(
        self,
        conn: Connection,
        obj: Row[Any, Any],
        *,
        version_id: str,
        claimed_by: str,
        created_at: int,
        values: dict[str, Any],
    ) -> int:
        """Insert the object's next version (its own ``values``) and return its number."""
        o, v = self.kind.objects, self.kind.versions
        number: int = (
            conn.execute(
                update(o)
                .where(o.c.id == obj.id)
                .values(next_version=o.c.next_version + 1, updated_at=created_at)
                .returning(o.c.next_version)
            ).scalar_one()
            - 1
        )
        conn.execute(
            v.insert().values(
                id=version_id,
                version=number,
                claimed_by=claimed_by,
                created_at=created_at,
                **{self.kind.owner: obj.id},
                **values,
            )
        )
        return number

    def register_version(
        self,
        project_id: str,
        name: str,
        *,
        version_id: str,
        claimed_by: str,
        created_at: int,
        values: dict[str, Any],
        same_as: Callable[[Row[Any, Any]], bool] | None = None,
    ) -> V:
        """Add the object's next version (its own ``values``) and return it, in one transaction.

        The same ``version_id`` again returns the version stored under it (a retry). With
        ``same_as``, a newest version it holds equal (same content) is returned instead of
        adding one. Both checks run under the object's lock, so a concurrent retry (or an
        identical register) waits, then finds the version its twin committed.
        """
        with self.db.write() as conn:
            obj = self.row(conn, project_id, name, lock=True)
            found = self.retried_version(conn, obj, version_id)
            if found is None and same_as is not None:
                newest = self.newest_version(conn, obj)
                found = newest if newest is not None and same_as(newest) else None
            if found is None:
                self.add_version(
                    conn,
                    obj,
                    version_id=version_id,
                    claimed_by=claimed_by,
                    created_at=created_at,
                    values=values,
                )
                v = self.kind.versions
                found = conn.execute(select(v).where(v.c.id == version_id)).one()
            return self.with_aliases(conn, obj, found)

    def version_row(self, conn: Connection, obj: Row[Any, Any], version: int) -> Row[Any, Any]:
        """Return one version's row, or raise the kind's version-not-found error."""
        v = self.kind.versions
        row = conn.execute(
            select(v).where(v.c[self.kind.owner] == obj.id, v.c.version == version)
        ).first()
        if row is None:
            raise self.no_version(obj.name, version)
        return row

    def versions_page(
        self,
        conn: Connection,
        obj: Row[Any, Any],
        max_results: int,
        page_token: str | None,
        limit: int,
    ) -> tuple[list[Row[Any, Any]], dict[int, list[str]], str | None]:
        """Return a page of version rows (newest first), their aliases and the next token."""
        check_max_results(max_results, limit)
        v = self.kind.versions
        token_kind = f"{self.kind.versions_page_kind}:{obj.id}"
        query = (
            select(v)
            .where(v.c[self.kind.owner] == obj.id)
            .order_by(v.c.version.desc())
            .limit(max_results + 1)
        )
        if page_token:
            query = query.where(v.c.version < decode_token(page_token, token_kind, {"v": int})["v"])
        rows = conn.execute(query).all()
        numbers = [r.version for r in rows[:max_results]]
        aliases = self.aliases_by_version(conn, obj.id, numbers)
        token = (
            encode_token({"k": token_kind, "v": numbers[-1]}) if len(rows) > max_results else None
        )
        return list(rows[:max_results]), aliases, token

    def with_aliases(self, conn: Connection, obj: Row[Any, Any], row: Row[Any, Any]) -> V:
        """Return the kind's version entity of a version row, with the aliases naming it."""
        return self.rows.build_version(
            self.version_fields(obj, row, self.aliases_of(conn, obj.id, row.version)), row
        )

    def get_version(self, project_id: str, name: str, version: int) -> V:
        """Return one version with its aliases."""
        with self.db.read() as conn:
            obj = self.row(conn, project_id, name)
            return self.with_aliases(conn, obj, self.version_row(conn, obj, version))

    def get_version_by_alias(self, project_id: str, name: str, alias: str) -> V:
        """Return the version ``alias`` points to."""
        with self.db.read() as conn:
            obj = self.row(conn, project_id, name)
            number = self.version_by_alias(conn, obj, alias)
            return self.with_aliases(conn, obj, self.version_row(conn, obj, number))

    def list_versions(
        self, project_id: str, name: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[V]:
        """Return an object's versions, newest first, keyset-paged."""
        with self.db.read() as conn:
            obj = self.row(conn, project_id, name)
            rows, aliases, token = self.versions_page(
                conn, obj, max_results, page_token, self.max_results
            )
        return Page(
            [
                self.rows.build_version(self.version_fields(obj, r, aliases[r.version]), r)
                for r in rows
            ],
            token,
        )

    # -- aliases -------------------------------------------------------------------------
    def target(self, conn: Connection, object_id: str, alias: str) -> int | None:
        """Return the version ``alias`` names now (None: no such alias)."""
        a = self.kind.aliases
        version: int | None = conn.execute(
            select(a.c.version).where(a.c[self.kind.owner] == object_id, a.c.alias == alias)
        ).scalar()
        return version

    def aliases_by_version(
        self, conn: Connection, object_id: str, versions: Sequence[int]
    ) -> dict[int, list[str]]:
        """Return the aliases naming each of ``versions`` (every version a key), by name."""
        named: dict[int, list[str]] = {v: [] for v in versions}
        if versions:
            a = self.kind.aliases
            for alias, version in conn.execute(
                select(a.c.alias, a.c.version)
                .where(a.c[self.kind.owner] == object_id, a.c.version.in_(list(versions)))
                .order_by(a.c.alias)
            ):
                named[version].append(alias)
        return named

    def aliases_of(self, conn: Connection, object_id: str, version: int) -> list[str]:
        """Return the aliases naming one version, by name."""
        return self.aliases_by_version(conn, object_id, [version])[version]

    def version_by_alias(self, conn: Connection, obj: Row[Any, Any], alias: str) -> int:
        """Return the version number ``alias`` names, or raise naming the alias."""
        version = self.target(conn, obj.id, alias)
        if version is None:
            raise self.no_alias(obj.name, alias)
        return version

    def set_alias(
        self, project_id: str, name: str, alias: str, version: int, *, claimed_by: str, at: int
    ) -> E:
        """Point ``alias`` at ``version`` and record the move, in one transaction.

        Setting an alias to the version it already names changes and records nothing; the
        event returned then has ``from_version == to_version``.
        """
        with self.db.write() as conn:
            obj = self.row(conn, project_id, name, lock=True)
            self.version_row(conn, obj, version)
            current = self.target(conn, obj.id, alias)
            if current != version:
                owner = self.kind.owner
                stmt = self.db.insert(self.kind.aliases)
                row = {owner: obj.id, "alias": alias, "version": version}
                conn.execute(
                    stmt.values(row).on_conflict_do_update(
                        index_elements=[owner, "alias"], set_={"version": stmt.excluded.version}
                    )
                )
                self._record(conn, obj.id, alias, current, version, claimed_by=claimed_by, at=at)
        return self.event(name, alias, current, version, claimed_by, at)

    def delete_alias(
        self, project_id: str, name: str, alias: str, *, claimed_by: str, at: int
    ) -> E:
        """Remove ``alias`` and record it (``to_version`` None); a missing alias raises."""
        with self.db.write() as conn:
            obj = self.row(conn, project_id, name, lock=True)
            current = self.version_by_alias(conn, obj, alias)
            a = self.kind.aliases
            conn.execute(delete(a).where(a.c[self.kind.owner] == obj.id, a.c.alias == alias))
            self._record(conn, obj.id, alias, current, None, claimed_by=claimed_by, at=at)
        return self.event(name, alias, current, None, claimed_by, at)

    def alias_history(self, project_id: str, name: str, alias: str | None = None) -> list[E]:
        """Return the object's alias moves (or one alias's), oldest first."""
        e = self.kind.events
        with self.db.read() as conn:
            obj = self.row(conn, project_id, name)
            query = (
                select(e.c.alias, e.c.from_version, e.c.to_version, e.c.claimed_by, e.c.at)
                .where(e.c[self.kind.owner] == obj.id)
                .order_by(e.c.id)
            )
            if alias is not None:
                query = query.where(e.c.alias == alias)
            rows = conn.execute(query).all()
        return [self.event(name, a, f, t, u, at) for a, f, t, u, at in rows]

    def _record(
        self,
        conn: Connection,
        object_id: str,
        alias: str,
        from_version: int | None,
        to_version: int | None,
        *,
        claimed_by: str,
        at: int,
    ) -> None:
        conn.execute(
            self.kind.events.insert().values(
                {
                    self.kind.owner: object_id,
                    "alias": alias,
                    "from_version": from_version,
                    "to_version": to_version,
                    "claimed_by": claimed_by,
                    "at": at,
                }
            )
        )
