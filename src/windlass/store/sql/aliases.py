"""Alias moves shared by the SQL registries of models and of prompts.

A registered model and a prompt each have named aliases pointing at one of their
versions, plus an append-only log of every move. The tables differ only in name and in
the column naming the owner, which an :class:`AliasTables` describes. The functions here
neither lock nor raise: the caller takes the owner's row lock first, in the same
transaction, and turns a ``False`` or ``None`` into its own not-found error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Connection, Row

from windlass.store.sql import schema as s


@dataclass(frozen=True)
class AliasTables:
    """The tables of one kind of alias and the column naming their owner."""

    versions: Table
    aliases: Table
    events: Table
    owner: str


MODEL_ALIASES = AliasTables(s.model_versions, s.model_aliases, s.model_alias_events, "model_id")
PROMPT_ALIASES = AliasTables(
    s.prompt_versions, s.prompt_aliases, s.prompt_alias_events, "prompt_id"
)


def has_version(conn: Connection, tables: AliasTables, owner_id: str, version: int) -> bool:
    """Return whether the owner has ``version``, the only kind an alias may name."""
    v = tables.versions
    return (
        conn.execute(
            select(v.c.id).where(v.c[tables.owner] == owner_id, v.c.version == version)
        ).first()
        is not None
    )


def target(conn: Connection, tables: AliasTables, owner_id: str, alias: str) -> int | None:
    """Return the version ``alias`` names now (None: no such alias)."""
    a = tables.aliases
    version: int | None = conn.execute(
        select(a.c.version).where(a.c[tables.owner] == owner_id, a.c.alias == alias)
    ).scalar()
    return version


def move(
    conn: Connection,
    tables: AliasTables,
    insert: Callable[[Table], Any],
    owner_id: str,
    alias: str,
    version: int,
    *,
    claimed_by: str,
    at: int,
) -> int | None:
    """Return the version ``alias`` named before pointing it at ``version`` (None: none).

    When that is ``version`` already, nothing is changed or recorded. ``insert`` is the
    dialect's INSERT (one with ``on_conflict_do_update``).
    """
    current = target(conn, tables, owner_id, alias)
    if current == version:
        return current
    stmt = insert(tables.aliases)
    conn.execute(
        stmt.values(
            {tables.owner: owner_id, "alias": alias, "version": version}
        ).on_conflict_do_update(
            index_elements=[tables.owner, "alias"], set_={"version": stmt.excluded.version}
        )
    )
    _record(conn, tables, owner_id, alias, current, version, claimed_by=claimed_by, at=at)
    return current


def remove(
    conn: Connection, tables: AliasTables, owner_id: str, alias: str, *, claimed_by: str, at: int
) -> int | None:
    """Return the version ``alias`` named after deleting it (None: no such alias)."""
    current = target(conn, tables, owner_id, alias)
    if current is None:
        return None
    a = tables.aliases
    conn.execute(delete(a).where(a.c[tables.owner] == owner_id, a.c.alias == alias))
    _record(conn, tables, owner_id, alias, current, None, claimed_by=claimed_by, at=at)
    return current


def by_version(
    conn: Connection, tables: AliasTables, owner_id: str, versions: Sequence[int]
) -> dict[int, list[str]]:
    """Return the aliases naming each of ``versions`` (every version a key), by name."""
    named: dict[int, list[str]] = {v: [] for v in versions}
    if versions:
        a = tables.aliases
        for alias, version in conn.execute(
            select(a.c.alias, a.c.version)
            .where(a.c[tables.owner] == owner_id, a.c.version.in_(list(versions)))
            .order_by(a.c.alias)
        ):
            named[version].append(alias)
    return named


def history(
    conn: Connection, tables: AliasTables, owner_id: str, alias: str | None
) -> Sequence[Row[Any, Any, Any, Any, Any]]:
    """Return the owner's alias moves (or one alias's), oldest first.

    Each row is ``(alias, from_version, to_version, claimed_by, at)``.
    """
    e = tables.events
    query = (
        select(e.c.alias, e.c.from_version, e.c.to_version, e.c.claimed_by, e.c.at)
        .where(e.c[tables.owner] == owner_id)
        .order_by(e.c.id)
    )
    if alias is not None:
        query = query.where(e.c.alias == alias)
    return conn.execute(query).all()


def _record(
    conn: Connection,
    tables: AliasTables,
    owner_id: str,
    alias: str,
    from_version: int | None,
    to_version: int | None,
    *,
    claimed_by: str,
    at: int,
) -> None:
    conn.execute(
        tables.events.insert().values(
            {
                tables.owner: owner_id,
                "alias": alias,
                "from_version": from_version,
                "to_version": to_version,
                "claimed_by": claimed_by,
                "at": at,
            }
        )
    )
