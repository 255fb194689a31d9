"""The plumbing every SQL area store shares: one engine, transactions, dialect helpers.

One :class:`Database` is built per store URI and passed to each area's store
(:mod:`~windlass.store.sql.runs`, :mod:`~windlass.store.sql.registry`, ...), which hold it
rather than inherit from it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import ARRAY, ColumnElement, String, any_, bindparam, func, select
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
        # The dialect's INSERT (imported for the dialect in use only: PostgreSQL's package
        # costs a SQLite server ~30 ms of start-up).
        self._insert: Callable[[Any], Any]
        if self.pg:
            from sqlalchemy.dialects import postgresql

            self._insert = postgresql.insert
        else:
            from sqlalchemy.dialects import sqlite

            self._insert = sqlite.insert
        # The connection of the unit of work open in this context (thread, task), if any.
        self._unit: ContextVar[Connection | None] = ContextVar(
            f"windlass_unit_{id(self)}", default=None
        )

    @contextlib.contextmanager
    def unit(self) -> Iterator[Connection]:
        """Yield a write transaction that every read and write in this context joins.

        Inside it, :meth:`write` and :meth:`read` (of this database, in this thread or task)
        use its connection, so they all commit together when the block ends, or roll back
        together when it raises. A unit inside a unit joins the outer one.
        """
        joined = self._unit.get()
        if joined is not None:
            yield joined
            return
        with self.write() as conn:
            reset = self._unit.set(conn)
            try:
                yield conn
            finally:
                self._unit.reset(reset)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """Yield a connection in a write transaction (SQLite: ``BEGIN IMMEDIATE``).

        Inside a :meth:`unit` it is the unit's connection: the write commits with the unit.
        """
        joined = self._unit.get()
        if joined is not None:
            yield joined
            return
        try:
            with self.engine.connect().execution_options(windlass_write=True) as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise BackendUnavailable(f"metadata store write failed: {exc.orig}") from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection for reading (inside a :meth:`unit`: the unit's, seeing its writes)."""
        joined = self._unit.get()
        if joined is not None:
            yield joined
            return
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise BackendUnavailable(f"metadata store read failed: {exc.orig}") from exc

    def insert(self, table: Any) -> Any:
        """Return the dialect's INSERT for ``table`` (one with ``on_conflict_do_*``)."""
        return self._insert(table)

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
