"""The versioned-object core: models and prompts resolve, alias and record moves alike."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from windlass.artifacts import open_blob_store
from windlass.entities import MANIFEST_FILE, AliasEvent, ArtifactEntry, PromptAliasEvent
from windlass.exceptions import (
    InvalidInput,
    ModelNotFound,
    ModelVersionNotFound,
    NotFound,
    PromptNotFound,
    PromptVersionNotFound,
)
from windlass.genai.prompts.registry import PromptRegistry
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal
from windlass.store.sql.store import SqlStore
from windlass.versioning.objects import VersionedObjects


@dataclass
class Kind:
    """One versioned kind under test: its registry and how to add a version of ``name``."""

    noun: str
    registry: VersionedObjects[Any, Any]
    project: str
    add_version: Callable[..., int]
    event_type: type
    object_not_found: type[NotFound]
    version_not_found: type[NotFound]
    create_object: Callable[[str], object]


def _model_kind(store: SqlStore, tmp_path: Path, project: str) -> Kind:
    registry = ModelRegistry(store, open_blob_store(str(tmp_path / "blobs")))

    def add_version(name: str, n: int, **kw: Any) -> int:
        digest, size = registry.blobs.put_stream(io.BytesIO(f"weights {n}".encode()))
        weights = ArtifactEntry("model.bin", digest, size)
        manifest = {
            "format": FORMAT,
            "flavors": {"sklearn": {}},
            "files": {"model.bin": {"digest": digest, "size": size}},
        }
        digest, size = registry.blobs.put_stream(io.BytesIO(json.dumps(manifest).encode()))
        files = [ArtifactEntry(MANIFEST_FILE, digest, size), weights]
        return registry.create_version(
            project, name, source="runs:/x/model", files=files, manifest=manifest, **kw
        ).version

    return Kind(
        "model",
        registry,
        project,
        add_version,
        AliasEvent,
        ModelNotFound,
        ModelVersionNotFound,
        lambda name: registry.create_model(project, name),
    )


def _prompt_kind(store: SqlStore, project: str) -> Kind:
    registry = PromptRegistry(store)

    def add_version(name: str, n: int, **kw: Any) -> int:
        if "create_missing_model" in kw:
            kw["create_missing_prompt"] = kw.pop("create_missing_model")
        return registry.register(project, name, template=f"Hello {n}, {{{{ who }}}}", **kw).version

    return Kind(
        "prompt",
        registry,
        project,
        add_version,
        PromptAliasEvent,
        PromptNotFound,
        PromptVersionNotFound,
        lambda name: registry.create_prompt(project, name),
    )


@pytest.fixture(params=["model", "prompt"])
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kind]:
    store = SqlStore(f"sqlite:///{tmp_path / 'versioned.db'}")
    project = store.runs.get_or_create_project("versioned", new_id(), now_ms()).id
    yield (
        _model_kind(store, tmp_path, project)
        if request.param == "model"
        else _prompt_kind(store, project)
    )
    store.close()


def test_aliases_move_and_every_move_is_recorded(kind: Kind) -> None:
    reg, project = kind.registry, kind.project
    assert [kind.add_version("churn", n) for n in (1, 2)] == [1, 2]
    created = reg.set_alias(project, "churn", "champion", 1, principal=Principal("ann"))
    assert type(created) is kind.event_type and created.object_name == "churn"
    assert (created.from_version, created.to_version, created.claimed_by) == (None, 1, "ann")
    moved = reg.set_alias(project, "churn", "champion", 2, principal=Principal("bob"))
    assert (moved.from_version, moved.to_version) == (1, 2)
    same = reg.set_alias(project, "churn", "champion", 2, principal=Principal("bob"))
    assert same.from_version == same.to_version == 2  # recorded nothing
    assert reg.get_version_by_alias(project, "churn", "champion").version == 2
    assert reg.resolve(project, "churn", alias="champion").version == 2
    removed = reg.delete_alias(project, "churn", "champion", principal=Principal("cy"))
    assert (removed.from_version, removed.to_version) == (2, None)
    history = reg.alias_history(project, "churn")
    assert [(e.from_version, e.to_version, e.claimed_by) for e in history] == [
        (None, 1, "ann"),
        (1, 2, "bob"),
        (2, None, "cy"),
    ]
    assert reg.alias_history(project, "churn", "other") == []


def test_latest_names_the_newest_and_is_reserved(kind: Kind) -> None:
    reg, project = kind.registry, kind.project
    for n in (1, 2, 3):
        kind.add_version("churn", n)
    assert reg.get_version_by_alias(project, "churn", "latest").version == 3
    assert reg.resolve(project, "churn").version == 3
    assert reg.resolve(project, "churn", version=1).version == 1
    assert [v.version for v in reg.list_versions(project, "churn", 2).items] == [3, 2]
    for bad in ("latest", "12"):
        with pytest.raises(InvalidInput, match=bad):
            reg.set_alias(project, "churn", bad, 1)
    with pytest.raises(InvalidInput, match="latest"):
        reg.delete_alias(project, "churn", "latest")
    with pytest.raises(InvalidInput, match="not both"):
        reg.resolve(project, "churn", version=1, alias="champion")
    with pytest.raises(InvalidInput, match=f"{kind.noun} name"):
        reg.set_alias(project, "no/such name", "champion", 1)
    with pytest.raises(kind.version_not_found):
        reg.set_alias(project, "churn", "champion", 9)


def test_an_object_without_versions_has_no_newest_naming_its_kind(kind: Kind) -> None:
    kind.create_object("empty")
    with pytest.raises(kind.version_not_found) as raised:
        kind.registry.resolve(kind.project, "empty")
    assert raised.value.details == {kind.noun: "empty", "alias": "latest"}
    assert "has no versions yet" in raised.value.message


def test_a_first_version_creates_its_object_unless_told_not_to(kind: Kind) -> None:
    with pytest.raises(kind.object_not_found):
        kind.add_version("fresh", 1, create_missing_model=False)
    assert kind.add_version("fresh", 1) == 1
    assert kind.add_version("fresh", 2, create_missing_model=False) == 2


def test_a_store_that_is_not_a_versioned_store_is_refused_when_built(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'refused.db'}")
    # The kind's own store is not the shared interface; its ``versions`` is.
    with pytest.raises(TypeError, match="dataset registry needs a VersionedStore"):
        VersionedObjects(
            store.registry,  # type: ignore[arg-type]
            "dataset",
            object_not_found=NotFound,
            version_not_found=NotFound,
        )
    reads = VersionedObjects(
        store.registry.objects, "dataset", object_not_found=NotFound, version_not_found=NotFound
    )
    assert reads.objects is store.registry.objects
    store.close()
