"""The model registry contract (RegistryStore) of every backend: SQLite, PostgreSQL, REST.

A REST store reaches the server's registry domain, which accepts only versions whose
files are stored blobs and include the manifest; so every version here is made of real
blobs (uploaded to the server for the REST store).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from windlass.artifacts.hashing import hash_bytes
from windlass.artifacts.http import RestBlobStore
from windlass.entities import MANIFEST_FILE, ArtifactEntry, ModelVersion, RunSource
from windlass.exceptions import (
    AlreadyExists,
    InvalidInput,
    InvalidState,
    ModelNotFound,
    ModelVersionNotFound,
    NotFound,
    ProjectNotFound,
)
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.store.metadata import MetadataStore
from windlass.store.rest.store import RestStore
from windlass_testing import recorded


def _project(store: MetadataStore) -> str:
    return store.runs.get_or_create_project(f"reg-{new_id()[-12:]}", new_id(), now_ms()).id


def _run(store: MetadataStore, project_id: str) -> str:
    run_id = new_id()
    store.runs.create_run(
        run_id=run_id,
        project_id=project_id,
        name="train",
        start_time=now_ms(),
        parent_run_id=None,
        source=RunSource(user="ada"),
        tags={},
    )
    return run_id


def _manifest(label: str) -> dict[str, Any]:
    """A valid manifest of the model ``label``; its windlass-model.yaml says the same."""
    weights = f"weights {label}".encode()
    return {
        "format": FORMAT,
        "flavors": {"sklearn": {}},
        "metadata": {"label": label},
        "files": {"model.skops": {"digest": hash_bytes(weights), "size": len(weights)}},
    }


def _files(store: MetadataStore, label: str = "") -> list[ArtifactEntry]:
    """The files of a packaged model; uploaded to the server when the store is REST."""
    contents = {
        MANIFEST_FILE: json.dumps(_manifest(label)).encode(),
        "model.skops": f"weights {label}".encode(),
    }
    if isinstance(store, RestStore):
        blobs = RestBlobStore(store.base_url, store.client)
        for data in contents.values():
            blobs.put_stream(io.BytesIO(data))
    return [ArtifactEntry(path, hash_bytes(data), len(data)) for path, data in contents.items()]


def _version(
    store: MetadataStore,
    project_id: str,
    name: str,
    *,
    run_id: str | None = None,
    version_id: str | None = None,
    label: str = "",
) -> ModelVersion:
    return store.registry.create_model_version(
        version_id=version_id or new_id(),
        project_id=project_id,
        name=name,
        source=f"runs:/{run_id or '0' * 32}/model",
        run_id=run_id,
        files=_files(store, label),
        manifest=_manifest(label),
        description=f"v {label}",
        claimed_by="ada",
        created_at=now_ms(),
    )


def _model(store: MetadataStore, project_id: str, name: str = "churn", **kw: Any) -> None:
    store.registry.create_registered_model(
        model_id=new_id(),
        project_id=project_id,
        name=name,
        description=kw.get("description", ""),
        tags=kw.get("tags", {}),
        created_at=now_ms(),
    )


# -- registered models ------------------------------------------------------------------
def test_create_and_get_model(store: MetadataStore) -> None:
    project = _project(store)
    created = store.registry.create_registered_model(
        model_id=new_id(),
        project_id=project,
        name="churn",
        description="predicts churn",
        tags={"team": "growth", "task": "classification"},
        created_at=now_ms(),
    )
    assert created.name == "churn" and created.project_id == project
    assert created.description == "predicts churn" and created.card == ""
    assert created.tags == {"team": "growth", "task": "classification"}
    assert created.aliases == {} and created.latest_version is None
    assert store.registry.objects.get_object(project, "churn") == created
    with pytest.raises(AlreadyExists):
        _model(store, project, "churn")
    again = store.registry.create_registered_model(
        model_id=new_id(),
        project_id=project,
        name="churn",
        description="other",
        tags={"x": "y"},
        created_at=now_ms(),
        exist_ok=True,
    )
    assert again == created  # exist_ok returns the model as it was


def test_unknown_model_and_project(store: MetadataStore) -> None:
    project = _project(store)
    with pytest.raises(ModelNotFound) as info:
        store.registry.objects.get_object(project, "nothing-here")
    assert "nothing-here" in info.value.message
    assert store.runs.get_project(project).name in info.value.message
    for call in (
        lambda: store.registry.objects.get_object(new_id(), "churn"),
        lambda: store.registry.objects.list_objects(new_id()),
        lambda: _model(store, new_id()),
        lambda: _version(store, new_id(), "churn"),
    ):
        with pytest.raises(ProjectNotFound):
            call()
    for call in (
        lambda: store.registry.objects.get_version(project, "nope", 1),
        lambda: store.registry.objects.list_versions(project, "nope"),
        lambda: store.registry.objects.delete_object(project, "nope"),
        lambda: store.registry.objects.alias_history(project, "nope"),
        lambda: _version(store, project, "nope"),
    ):
        with pytest.raises(ModelNotFound):
            call()


def test_list_models_by_name_in_pages(store: MetadataStore) -> None:
    project, other = _project(store), _project(store)
    names = ["m-e", "m-a", "m-d", "m-b", "m-c"]
    for name in names:
        _model(store, project, name, tags={"n": name})
    _model(store, other, "m-zz")
    _version(store, project, "m-b")
    seen = []
    token = None
    while True:
        page = store.registry.objects.list_objects(project, 2, token)
        assert len(page.items) <= 2
        seen.extend(page.items)
        if page.next_page_token is None:
            break
        token = page.next_page_token
    assert [m.name for m in seen] == sorted(names)
    assert all(m.tags == {"n": m.name} for m in seen)
    assert [m.latest_version for m in seen] == [None, 1, None, None, None]
    with pytest.raises(InvalidInput):
        store.registry.objects.list_objects(project, 2, "garbage")
    with pytest.raises(InvalidInput):  # a token of another project's listing
        store.registry.objects.list_objects(
            other, 2, store.registry.objects.list_objects(project, 2).next_page_token
        )
    with pytest.raises(InvalidInput):
        store.registry.objects.list_objects(project, 0)


def test_update_model_description_card_and_tags(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project, description="first", tags={"a": "1", "b": "2"})
    before = store.registry.objects.get_object(project, "churn")
    card = "# Churn\n\nA *gradient-boosted* model. ünïcode ✓\n"
    updated = store.registry.update_registered_model(
        project,
        "churn",
        card=card,
        set_tags={"a": "10", "c": "3"},
        delete_tags=["b", "never-set"],
        updated_at=now_ms(),
    )
    assert updated.card == card and updated.description == "first"
    assert updated.tags == {"a": "10", "c": "3"}
    assert updated.updated_at >= before.updated_at and updated.created_at == before.created_at
    described = store.registry.update_registered_model(
        project, "churn", description="second", updated_at=now_ms()
    )
    assert described.description == "second" and described.card == card
    assert store.registry.objects.get_object(project, "churn") == described
    with pytest.raises(ModelNotFound):
        store.registry.update_registered_model(
            project, "nope", description="x", updated_at=now_ms()
        )


# -- versions ---------------------------------------------------------------------------
def test_versions_are_numbered_and_round_trip(store: MetadataStore) -> None:
    project = _project(store)
    run_id = _run(store, project)
    _model(store, project)
    first = _version(store, project, "churn", run_id=run_id, label="one")
    assert first.version == 1 and first.name == "churn" and first.run_id == run_id
    assert first.uri == "models:/churn/1" and first.aliases == []
    assert {f.path for f in first.files} == {MANIFEST_FILE, "model.skops"}
    assert first.manifest == _manifest("one")
    assert first.claimed_by == recorded(store, "ada") and first.description == "v one"
    assert [_version(store, project, "churn").version for _ in range(2)] == [2, 3]
    got = store.registry.objects.get_version(project, "churn", 1)
    assert got.id == first.id and got.files == first.files and got.manifest == first.manifest
    assert store.registry.objects.get_object(project, "churn").latest_version == 3
    with pytest.raises(ModelVersionNotFound):
        store.registry.objects.get_version(project, "churn", 9)


def test_same_version_id_registers_once(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project)
    version_id = new_id()
    first = _version(store, project, "churn", version_id=version_id)
    retry = _version(store, project, "churn", version_id=version_id, label="other")
    assert retry.version == first.version == 1 and retry.id == version_id
    assert retry.manifest == first.manifest  # the retry returns what was stored
    assert _version(store, project, "churn").version == 2  # no number was used up


def test_list_versions_newest_first_in_pages(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project)
    for _ in range(5):
        _version(store, project, "churn")
    store.registry.objects.set_alias(project, "churn", "champion", 4, claimed_by="ada", at=now_ms())
    pages = []
    token = None
    while True:
        page = store.registry.objects.list_versions(project, "churn", 2, token)
        pages.append([v.version for v in page.items])
        if page.next_page_token is None:
            break
        token = page.next_page_token
    assert pages == [[5, 4], [3, 2], [1]]
    assert [v.aliases for v in store.registry.objects.list_versions(project, "churn").items] == [
        [],
        ["champion"],
        [],
        [],
        [],
    ]
    with pytest.raises(InvalidInput):
        store.registry.objects.list_versions(project, "churn", 2, "garbage")


def test_deleted_version_numbers_are_not_reused(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project)
    for _ in range(3):
        _version(store, project, "churn")
    store.registry.delete_model_version(project, "churn", 3)
    with pytest.raises(ModelVersionNotFound):
        store.registry.objects.get_version(project, "churn", 3)
    with pytest.raises(ModelVersionNotFound):
        store.registry.delete_model_version(project, "churn", 3)
    assert store.registry.objects.get_object(project, "churn").latest_version == 2
    assert _version(store, project, "churn").version == 4


# -- aliases ----------------------------------------------------------------------------
def test_alias_moves_and_history(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project)
    for _ in range(3):
        _version(store, project, "churn")
    created = store.registry.objects.set_alias(
        project, "churn", "champion", 1, claimed_by="ada", at=now_ms()
    )
    assert (created.from_version, created.to_version, created.claimed_by) == (
        None,
        1,
        recorded(store, "ada"),
    )
    assert store.registry.objects.get_version_by_alias(project, "churn", "champion").version == 1
    moved = store.registry.objects.set_alias(
        project, "churn", "champion", 2, claimed_by="bob", at=now_ms()
    )
    assert (moved.from_version, moved.to_version, moved.claimed_by) == (
        1,
        2,
        recorded(store, "bob"),
    )
    same = store.registry.objects.set_alias(
        project, "churn", "champion", 2, claimed_by="eve", at=now_ms()
    )
    assert same.from_version == same.to_version == 2  # nothing moved, nothing recorded
    store.registry.objects.set_alias(
        project, "churn", "challenger", 3, claimed_by="ada", at=now_ms()
    )
    assert store.registry.objects.get_version(project, "churn", 2).aliases == ["champion"]
    assert store.registry.objects.get_object(project, "churn").aliases == {
        "challenger": 3,
        "champion": 2,
    }

    with pytest.raises(InvalidState) as info:
        store.registry.delete_model_version(project, "churn", 2)
    assert "champion" in info.value.message and "first" in info.value.message
    assert store.registry.objects.get_version(project, "churn", 2).version == 2  # still there
    store.registry.objects.set_alias(project, "churn", "champion", 3, claimed_by="cy", at=now_ms())
    store.registry.delete_model_version(project, "churn", 2)
    assert sorted(store.registry.objects.get_version(project, "churn", 3).aliases) == [
        "challenger",
        "champion",
    ]
    removed = store.registry.objects.delete_alias(
        project, "churn", "champion", claimed_by="dee", at=now_ms()
    )
    assert (removed.from_version, removed.to_version, removed.claimed_by) == (
        3,
        None,
        recorded(store, "dee"),
    )
    with pytest.raises(ModelVersionNotFound):
        store.registry.objects.get_version_by_alias(project, "churn", "champion")

    history = store.registry.objects.alias_history(project, "churn", "champion")
    assert [(e.from_version, e.to_version, e.claimed_by) for e in history] == [
        (None, 1, recorded(store, "ada")),
        (1, 2, recorded(store, "bob")),
        (2, 3, recorded(store, "cy")),
        (3, None, recorded(store, "dee")),
    ]
    assert all(e.model_name == "churn" and e.alias == "champion" for e in history)
    assert [e.at for e in history] == sorted(e.at for e in history)
    everything = store.registry.objects.alias_history(project, "churn")
    assert [e.alias for e in everything] == [
        "champion",
        "champion",
        "challenger",
        "champion",
        "champion",
    ]
    assert store.registry.objects.alias_history(project, "churn", "never-set") == []


def test_alias_errors(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project)
    _version(store, project, "churn")
    with pytest.raises(ModelVersionNotFound):
        store.registry.objects.set_alias(
            project, "churn", "champion", 7, claimed_by="ada", at=now_ms()
        )
    with pytest.raises(NotFound):
        store.registry.objects.delete_alias(
            project, "churn", "champion", claimed_by="ada", at=now_ms()
        )
    with pytest.raises(ModelNotFound):
        store.registry.objects.set_alias(
            project, "nope", "champion", 1, claimed_by="ada", at=now_ms()
        )
    assert store.registry.objects.alias_history(project, "churn") == []


def test_delete_model_refused_while_aliased(store: MetadataStore) -> None:
    project = _project(store)
    _model(store, project, tags={"a": "1"})
    _version(store, project, "churn")
    _version(store, project, "churn")
    store.registry.objects.set_alias(project, "churn", "prod", 2, claimed_by="ada", at=now_ms())
    with pytest.raises(InvalidState) as info:
        store.registry.objects.delete_object(project, "churn")
    assert "prod" in info.value.message
    assert store.registry.objects.get_object(project, "churn").latest_version == 2
    store.registry.objects.delete_alias(project, "churn", "prod", claimed_by="ada", at=now_ms())
    store.registry.objects.delete_object(project, "churn")
    with pytest.raises(ModelNotFound):
        store.registry.objects.get_object(project, "churn")
    # The name is free again, with a fresh history and numbering.
    _model(store, project)
    assert store.registry.objects.get_object(project, "churn").tags == {}
    assert store.registry.objects.alias_history(project, "churn") == []
    assert _version(store, project, "churn").version == 1
