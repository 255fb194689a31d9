"""``MetadataStore.transaction()``: writes of every area commit together, or none do.

A domain service stores a mutation and its audit record in one transaction. These tests
check the contract on SQLite and PostgreSQL (a REST store's transaction is no transaction:
the server makes its own), and, through the tracking service, that a mutation whose audit
record cannot be written is not kept either.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from windlass.access.audit import AuditTrail
from windlass.access.gate import Access
from windlass.access.policy import Policy
from windlass.artifacts import open_blob_store
from windlass.entities import AuditRecord, RunSource
from windlass.exceptions import BackendUnavailable, RunNotFound
from windlass.ids import new_id, now_ms
from windlass.principal import AuthMethod, Principal
from windlass.store.sql.store import SqlStore
from windlass.tracking.service import Tracking
from windlass_testing import POSTGRES_SKIP, scratch_postgres_database


@pytest.fixture(scope="module")
def _pg_url() -> Iterator[str]:
    if os.environ.get("WINDLASS_TEST_POSTGRES_URL") is None:
        pytest.skip(POSTGRES_SKIP)
    with scratch_postgres_database("windlass_unit") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A SQL store of each kind."""
    uri = (
        f"sqlite:///{tmp_path / 'unit.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("_pg_url")
    )
    sql = SqlStore(uri)
    yield sql
    sql.close()


def _record(principal: str, object_uri: str) -> AuditRecord:
    return AuditRecord(
        id=new_id(),
        at=now_ms(),
        principal=principal,
        principal_kind="user",
        auth_method="token",
        address=None,
        action="run.create",
        object_uri=object_uri,
        project_id=None,
        before=None,
        after=None,
    )


def _create_run(store: SqlStore, project_id: str) -> str:
    run_id = new_id()
    store.runs.create_run(
        run_id=run_id,
        project_id=project_id,
        name="r",
        start_time=now_ms(),
        parent_run_id=None,
        source=RunSource(),
        tags={},
    )
    return run_id


def _records_of(store: SqlStore, principal: str) -> list[AuditRecord]:
    return store.audit.list(principal=principal).items


def test_a_unit_commits_every_area_together(store: SqlStore) -> None:
    project = store.runs.get_or_create_project(f"p-{new_id()[:8]}", new_id(), now_ms())
    who = f"ada-{new_id()[:8]}"
    with store.transaction():
        run_id = _create_run(store, project.id)
        # Reads inside the unit see its own writes.
        assert store.runs.get_run(run_id).project_id == project.id
        store.audit.append(_record(who, f"runs:/{run_id}"))
    assert store.runs.get_run(run_id).id == run_id
    assert [r.object_uri for r in _records_of(store, who)] == [f"runs:/{run_id}"]


class Crash(Exception):
    """A failure in the middle of a unit of work."""


def _crash_in_unit(store: SqlStore, body: Callable[[], object]) -> None:
    """Run ``body`` in a unit, then fail before the unit ends."""
    with store.transaction():
        body()
        raise Crash("crash mid-write")


def test_a_unit_that_raises_keeps_nothing(store: SqlStore) -> None:
    project = store.runs.get_or_create_project(f"p-{new_id()[:8]}", new_id(), now_ms())
    who = f"bob-{new_id()[:8]}"
    made: list[str] = []

    def body() -> None:
        made.append(_create_run(store, project.id))
        store.audit.append(_record(who, f"runs:/{made[0]}"))

    with pytest.raises(Crash):
        _crash_in_unit(store, body)
    with pytest.raises(RunNotFound):
        store.runs.get_run(made[0])
    assert _records_of(store, who) == []


def test_a_unit_inside_a_unit_joins_it(store: SqlStore) -> None:
    project = store.runs.get_or_create_project(f"p-{new_id()[:8]}", new_id(), now_ms())
    made: list[str] = []

    def inner_unit() -> None:
        with store.transaction():
            made.append(_create_run(store, project.id))

    with pytest.raises(Crash):  # the outer unit fails after the inner one ended
        _crash_in_unit(store, inner_unit)
    with pytest.raises(RunNotFound):
        store.runs.get_run(made[0])


def test_another_thread_does_not_join_a_unit(store: SqlStore) -> None:
    """A unit belongs to its thread: another thread's writes commit on their own."""
    project = store.runs.get_or_create_project(f"p-{new_id()[:8]}", new_id(), now_ms())
    other: list[str] = []
    thread = threading.Thread(target=lambda: other.append(_create_run(store, project.id)))

    def body() -> None:
        _create_run(store, project.id)
        thread.start()
        if store.db.pg:  # PostgreSQL: the other thread commits while the unit is open
            thread.join(30)

    with pytest.raises(Crash):
        _crash_in_unit(store, body)
    thread.join(30)  # SQLite has one writer: the other thread waited for the unit to end
    assert store.runs.get_run(other[0]).id == other[0]


def test_a_mutation_whose_audit_record_fails_is_not_kept(tmp_path: Path) -> None:
    """With auth on, a run is created with its audit record or not at all."""
    path = tmp_path / "lost-audit.db"
    store = SqlStore(f"sqlite:///{path}")
    try:
        policy = Policy(enabled=True)
        tracking = Tracking(
            store,
            open_blob_store(str(tmp_path / "blobs")),
            principal=Principal("ada", auth=AuthMethod.TOKEN, user_id=new_id(), admin=True),
            access=Access(policy, AuditTrail(store, policy)),
        )
        project = tracking.project("lost")
        # The audit log becomes unwritable (a damaged database): appends now fail.
        with sqlite3.connect(path) as conn:
            conn.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")
        run_id = new_id()
        with pytest.raises(BackendUnavailable):
            tracking.create_run(project.id, run_id=run_id, name="kept?")
        with pytest.raises(RunNotFound):
            store.runs.get_run(run_id)
    finally:
        store.close()
