"""Concurrent registration numbers versions 1..n exactly; concurrent alias moves chain up.

Writers race through the registry domain on PostgreSQL and SQLite: 16 threads sharing a
store, 16 threads with a store (connection pool) each, and for SQLite 4 processes.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from windlass.artifacts import open_blob_store
from windlass.artifacts.hashing import hash_bytes
from windlass.entities import MANIFEST_FILE, AliasEvent, ArtifactEntry
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal
from windlass.store.sql.store import SqlStore

THREADS = 16
T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return str(request.getfixturevalue("postgres_url"))


#: The manifest of every registered version (its stored windlass-model.yaml says the same).
MANIFEST = {
    "format": FORMAT,
    "flavors": {"sklearn": {}},
    "files": {"model.skops": {"digest": hash_bytes(b"w"), "size": 1}},
}


@pytest.fixture
def blobs_uri(tmp_path: Path) -> str:
    return str(tmp_path / "blobs")


@pytest.fixture
def files(blobs_uri: str) -> list[ArtifactEntry]:
    blobs = open_blob_store(blobs_uri)
    entries = []
    for path, data in ((MANIFEST_FILE, json.dumps(MANIFEST).encode()), ("model.skops", b"w")):
        digest, size = blobs.put_stream(io.BytesIO(data))
        entries.append(ArtifactEntry(path, digest, size))
    return entries


@pytest.fixture
def project(store_uri: str) -> Iterator[str]:
    store = SqlStore(store_uri)
    yield store.runs.get_or_create_project("race", new_id(), now_ms()).id
    store.close()


def race(work: Callable[[int], T], threads: int = THREADS) -> list[T]:
    """Run ``work(i)`` on ``threads`` threads released together; return the results."""
    barrier = threading.Barrier(threads)

    def start(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(start, range(threads)))


def register(registry: ModelRegistry, project: str, files: list[ArtifactEntry]) -> int:
    return registry.create_version(
        project, "churn", source="race", files=files, manifest=MANIFEST
    ).version


@pytest.mark.parametrize("sharing", ["shared-store", "store-per-thread"])
def test_concurrent_registration_numbers_without_gaps(
    store_uri: str, blobs_uri: str, project: str, files: list[ArtifactEntry], sharing: str
) -> None:
    # The model does not exist yet: the racers also race to create it.
    shared = SqlStore(store_uri)
    stores = (
        [shared] * THREADS
        if sharing == "shared-store"
        else [SqlStore(store_uri) for _ in range(THREADS)]
    )
    registries = [ModelRegistry(s, open_blob_store(blobs_uri)) for s in stores]
    try:
        versions = race(lambda i: register(registries[i], project, files))
        assert sorted(versions) == list(range(1, THREADS + 1))
        listed = shared.registry.objects.list_versions(project, "churn", max_results=100).items
        assert [v.version for v in listed] == list(range(THREADS, 0, -1))
        assert len({v.id for v in listed}) == THREADS
        assert shared.registry.objects.get_object(project, "churn").latest_version == THREADS
    finally:
        for store in set(stores):
            store.close()


def test_same_version_id_raced_registers_once(
    store_uri: str, blobs_uri: str, project: str, files: list[ArtifactEntry]
) -> None:
    store = SqlStore(store_uri)
    registry = ModelRegistry(store, open_blob_store(blobs_uri))
    try:
        register(registry, project, files)
        version_id = new_id()
        numbers = race(
            lambda _i: (
                registry.create_version(
                    project,
                    "churn",
                    source="retry",
                    files=files,
                    manifest=MANIFEST,
                    version_id=version_id,
                ).version
            )
        )
        assert numbers == [2] * THREADS
        assert register(registry, project, files) == 3
    finally:
        store.close()


_PROCESS_SCRIPT = """
import json, sys
from windlass.artifacts import open_blob_store
from windlass.entities import ArtifactEntry
from windlass.models.registry import ModelRegistry
from windlass.store.sql.store import SqlStore

uri, blobs, project, count, files, manifest = sys.argv[1:7]
store = SqlStore(uri)
registry = ModelRegistry(store, open_blob_store(blobs))
entries = [ArtifactEntry(*f) for f in json.loads(files)]
sys.stdin.readline()  # start together
print(json.dumps([registry.create_version(project, "churn", source="proc", files=entries,
                                          manifest=json.loads(manifest)).version
                  for _ in range(int(count))]))
store.close()
"""


def test_concurrent_registration_from_processes_on_sqlite(
    tmp_path: Path, blobs_uri: str, files: list[ArtifactEntry]
) -> None:
    uri = f"sqlite:///{tmp_path / 'procs.db'}"
    store = SqlStore(uri)
    project = store.runs.get_or_create_project("procs", new_id(), now_ms()).id
    store.close()
    payload = json.dumps([[f.path, f.digest, f.size] for f in files])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _PROCESS_SCRIPT,
                uri,
                blobs_uri,
                project,
                "4",
                payload,
                json.dumps(MANIFEST),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        outputs.extend(json.loads(out))
    assert sorted(outputs) == list(range(1, 17))


def test_concurrent_alias_moves_form_one_chain(
    store_uri: str, blobs_uri: str, project: str, files: list[ArtifactEntry]
) -> None:
    store = SqlStore(store_uri)
    registry = ModelRegistry(store, open_blob_store(blobs_uri))
    try:
        for _ in range(4):
            register(registry, project, files)

        def moves(i: int) -> list[AliasEvent]:
            return [
                registry.set_alias(
                    project, "churn", "champion", (i + j) % 4 + 1, principal=Principal(f"user-{i}")
                )
                for j in range(5)
            ]

        events = [e for per_thread in race(moves) for e in per_thread]
        recorded = [e for e in events if e.from_version != e.to_version]
        history = registry.alias_history(project, "churn", "champion")
        assert len(history) == len(recorded)
        assert history[0].from_version is None
        for before, after in itertools.pairwise(history):
            assert after.from_version == before.to_version
            assert after.from_version != after.to_version
        final = registry.get_model(project, "churn").aliases["champion"]
        assert history[-1].to_version == final

        def key(e: AliasEvent) -> tuple[str, int, int]:
            return e.claimed_by, e.from_version or 0, e.to_version or 0

        assert sorted(map(key, history)) == sorted(map(key, recorded))
    finally:
        store.close()
