"""The artifact index contract (ArtifactIndex) of every backend: SQLite, PostgreSQL, REST.

Recording artifact files: a path is a file or a folder, never both; names are canonical;
the declared size is the blob's. On every backend (SQLite, PostgreSQL, REST through a real
server), and through the tracking service (embedded mode, and what the server's route calls).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from windlass.artifacts import open_blob_store
from windlass.artifacts.hashing import hash_file
from windlass.artifacts.http import RestBlobStore
from windlass.entities import ArtifactEntry, RunSource
from windlass.exceptions import ArtifactNotFound, Conflict, InvalidInput
from windlass.ids import new_id, now_ms
from windlass.store.metadata import MetadataStore
from windlass.store.rest.store import RestStore
from windlass.tracking.service import Tracking

BLOB = b"artifact record bytes"


def _run(store: MetadataStore) -> str:
    project = store.runs.get_or_create_project(f"art-{new_id()[-12:]}", new_id(), now_ms()).id
    return store.runs.create_run(
        run_id=new_id(),
        project_id=project,
        name="r",
        start_time=now_ms(),
        parent_run_id=None,
        source=RunSource(),
        tags={},
    ).id


@pytest.fixture
def tracking(store: MetadataStore, tmp_path: Path) -> Tracking:
    """The tracking service over the store, with the blob store that goes with it."""
    if isinstance(store, RestStore):
        blobs = RestBlobStore(store.base_url, store.client)
    else:
        blobs = open_blob_store(str(tmp_path / "blobs"))
    return Tracking(store, blobs)


def _entry(tracking: Tracking, path: str, size: int | None = None) -> ArtifactEntry:
    digest, stored = tracking.blobs.put_stream(io.BytesIO(BLOB))
    return ArtifactEntry(path, digest, stored if size is None else size)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        pytest.param(["a"], ["a/b"], id="file-then-below"),
        pytest.param(["a/b"], ["a"], id="below-then-file"),
        pytest.param(["x/a/b/c"], ["x/a"], id="deep-below-then-file"),
        pytest.param(["x/a"], ["x/a/b/c"], id="file-then-deep-below"),
        pytest.param([], ["a", "a/b"], id="both-in-one-batch"),
        pytest.param([], ["m/a/b", "m/a"], id="both-in-one-batch-reversed"),
    ],
)
def test_a_path_cannot_be_file_and_folder(
    store: MetadataStore, tracking: Tracking, first: list[str], then: list[str]
) -> None:
    run_id = _run(store)
    if first:
        tracking.record_artifacts(run_id, [_entry(tracking, p) for p in first])
    before = store.artifacts.walk_artifacts(run_id)
    with pytest.raises(Conflict) as caught:
        tracking.record_artifacts(
            run_id, [_entry(tracking, "ok.txt"), *(_entry(tracking, p) for p in then)]
        )
    assert "both a file and a folder" in caught.value.message
    assert store.artifacts.walk_artifacts(run_id) == before  # nothing of the batch was recorded


def test_store_itself_refuses_file_and_folder(store: MetadataStore, tracking: Tracking) -> None:
    run_id = _run(store)
    store.artifacts.record_artifacts(run_id, [_entry(tracking, "a/b")])
    with pytest.raises(Conflict):
        store.artifacts.record_artifacts(run_id, [_entry(tracking, "a")])
    # Logging a file again at its own path replaces it; siblings are fine.
    store.artifacts.record_artifacts(
        run_id,
        [
            _entry(tracking, "a/b"),
            _entry(tracking, "a/c"),
            _entry(tracking, "ab"),
            _entry(tracking, "a.b"),
        ],
    )
    assert [e.path for e in store.artifacts.walk_artifacts(run_id)] == ["a.b", "a/b", "a/c", "ab"]


@pytest.mark.parametrize("path", ["a//b", "a/", "a/b/", "./a", "a/./b", "a///"])
def test_empty_path_segments_are_refused(
    store: MetadataStore, tracking: Tracking, path: str
) -> None:
    run_id = _run(store)
    with pytest.raises(InvalidInput) as caught:
        tracking.record_artifacts(run_id, [_entry(tracking, "fine"), _entry(tracking, path)])
    assert repr(path) in caught.value.message
    assert store.artifacts.walk_artifacts(run_id) == []


@pytest.mark.parametrize("size", [0, len(BLOB) - 1, len(BLOB) + 1, 2**40])
def test_declared_size_must_be_the_blobs(
    store: MetadataStore, tracking: Tracking, size: int
) -> None:
    run_id = _run(store)
    with pytest.raises(InvalidInput) as caught:
        tracking.record_artifacts(run_id, [_entry(tracking, "w.bin", size)])
    assert f"declares {size} bytes" in caught.value.message
    assert str(len(BLOB)) in caught.value.message
    assert store.artifacts.walk_artifacts(run_id) == []
    tracking.record_artifacts(run_id, [_entry(tracking, "w.bin")])
    assert store.artifacts.get_artifact(run_id, "w.bin").size == len(BLOB)


def test_artifact_index(store: MetadataStore, tmp_path: Path) -> None:
    run_id = _run(store)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"0123456789")
    if isinstance(store, RestStore):  # the server records only blobs it holds
        digest, _size = RestBlobStore(store.base_url, store.client).put_file(blob)
    else:
        digest, _size = hash_file(blob)
    entries = [
        ArtifactEntry("model/weights.bin", digest, 10),
        ArtifactEntry("model/conf/a.yaml", digest, 10),
        ArtifactEntry("report.html", digest, 10),
    ]
    store.artifacts.record_artifacts(run_id, entries)
    top = store.artifacts.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("model", True), ("report.html", False)]
    assert [(f.path, f.is_dir) for f in store.artifacts.list_artifacts(run_id, "model")] == [
        ("model/conf", True),
        ("model/weights.bin", False),
    ]
    assert [e.path for e in store.artifacts.walk_artifacts(run_id, "model")] == [
        "model/conf/a.yaml",
        "model/weights.bin",
    ]
    assert store.artifacts.get_artifact(run_id, "report.html").size == 10
    with pytest.raises(ArtifactNotFound):
        store.artifacts.get_artifact(run_id, "nope.txt")
