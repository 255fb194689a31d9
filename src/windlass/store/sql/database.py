"""The plumbing every SQL area store shares: one engine, transactions, dialect helpers.

One :class:`Database` is built per store URI and passed to each area's store
(:mod:`~windlass.store.sql.runs`, :mod:`~windlass.store.sql.registry`, ...), which hold it
rather than inherit from it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import ARRAY, ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from windlass.exceptions import BackendUnavailable
from windlass.store.sql.engine import create_store_engine


class Database:
    """A SQLite (WAL) or PostgreSQL (psycopg 3) database, schema up to date."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.engine: Engine = create_store_engine(uri)
        #: Whether the dialect is PostgreSQL (else SQLite).
        self.pg = self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """Yield a connection in a write transaction (SQLite: ``BEGIN IMMEDIATE``)."""
        try:
            with self.engine.connect().execution_options(windlass_write=True) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise BackendUnavailable(f"metadata store write failed: {exc.orig}") from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection for reading."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise BackendUnavailable(f"metadata store read failed: {exc.orig}") from exc

    def insert(self, table: Any) -> Any:
        """Return the dialect's INSERT for ``table`` (one with ``on_conflict_do_*``)."""
        return (postgresql.insert if self.pg else sqlite.insert)(table)

    def in_ids(self, column: Any, ids: list[str]) -> ColumnElement[bool]:
        """Return ``column IN ids`` as one bound parameter (no per-id placeholders to compile)."""
        if self.pg:
            return column == any_(bindparam("ids", ids, type_=ARRAY(String)))  # type: ignore[no-any-return]
        ids_table = func.json_each(bindparam("ids", orjson.dumps(ids).decode())).table_valued(
            "value"
        )
        return column.in_(select(ids_table.c.value))  # type: ignore[no-any-return]

    @staticmethod
    def fetch(conn: Connection, statement: Any) -> list[Any]:
        """Return all rows as the driver's own tuples.

        SQLAlchemy's Row objects cost ~40% more on thousands of rows; every column read this
        way needs no type processing.
        """
        result = conn.execute(statement)
        try:
            return list(result.cursor.fetchall())
        finally:
            result.close()

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()
