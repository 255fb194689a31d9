"""Database engines for the SQL store: SQLite (WAL, busy timeout) and PostgreSQL (psycopg 3).

Schema migrations run automatically the first time a URI is opened in a process, under a
lock (a file lock for SQLite, an advisory lock for PostgreSQL) so that concurrent first
users do not race.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from windlass import config
from windlass.exceptions import InvalidUri

_MIGRATIONS = Path(__file__).parent / "migrations"
_HEAD = "0013"
_PG_LOCK_KEY = 0x77696E646C617373 & 0x7FFFFFFFFFFFFFFF  # "windlass"

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def _normalize(uri: str) -> str:
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://") :]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://") :]
    return uri


def create_store_engine(uri: str) -> Engine:
    """Return an engine for a ``sqlite:///`` or ``postgresql://`` URI, schema up to date."""
    try:
        url = make_url(_normalize(uri))
    except ArgumentError as exc:
        raise InvalidUri(f"cannot parse store URI {uri!r}: {exc}", uri=uri) from None
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url.database or "")
    elif url.get_backend_name() == "postgresql":
        if url.get_driver_name() != "psycopg":
            url = url.set(drivername="postgresql+psycopg")
        engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)
    else:
        raise InvalidUri(f"unsupported store URI {uri!r}", uri=uri)
    migrate(engine)
    return engine


def _sqlite_engine(database: str) -> Engine:
    if database in ("", ":memory:"):
        raise InvalidUri("an in-memory SQLite store cannot be shared; give a file path")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    busy_ms: int = config.settings.sqlite_busy_timeout_ms
    engine = create_engine(
        f"sqlite:///{Path(database).expanduser()}",
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # LIKE is case-sensitive on PostgreSQL; make SQLite agree (ILIKE is the other one).
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front: a deferred transaction that upgrades from reader to
        # writer in WAL mode fails at once with SQLITE_BUSY instead of waiting.
        if conn.get_execution_options().get("windlass_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on ``<db>.migrate.lock`` (SQLite only; no-op elsewhere)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    import fcntl

    with open(f"{engine.url.database}.migrate.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _current_revision(conn: Connection) -> str | None:
    # A plain query, so that an up-to-date store never imports Alembic (faster start).
    try:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        return None
    return None if row is None else str(row[0])


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (once per URI per process)."""
    key = str(engine.url)
    with _migrate_lock:
        if key in _migrated:
            return
        with engine.connect() as probe:
            current = _current_revision(probe)
            probe.rollback()
        if current != _HEAD:
            from alembic import command
            from alembic.config import Config

            # The SQLite file lock is held until the migration has committed, so the next
            # process waiting for it sees the finished schema; PostgreSQL's advisory lock is
            # transaction-scoped and released by the commit itself.
            with _sqlite_file_lock(engine), engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                cfg = Config(str(_MIGRATIONS / "alembic.ini"))
                cfg.set_main_option("script_location", str(_MIGRATIONS))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        _migrated.add(key)


def head_revision() -> str:
    """Return the newest schema revision this code knows."""
    return _HEAD
