"""The registry domain: validation, model creation on first version, resolution, lineage."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windlass.artifacts import open_blob_store
from windlass.entities import (
    MANIFEST_FILE,
    ArtifactEntry,
    DatasetInput,
    Lineage,
    MetricBatch,
    RunSource,
)
from windlass.exceptions import (
    IntegrityFailure,
    InvalidInput,
    ModelNotFound,
    ModelVersionNotFound,
    RunNotFound,
    UnsafePath,
)
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal
from windlass.store.sql.store import SqlStore
from windlass.tracking.service import Tracking
from windlass.tracking.source import current_user
from windlass.uris import parse_object_uri


@pytest.fixture
def tracking(tmp_path: Path) -> Iterator[Tracking]:
    service = Tracking(
        SqlStore(f"sqlite:///{tmp_path / 'reg.db'}"), open_blob_store(str(tmp_path / "blobs"))
    )
    yield service
    service.close()


@pytest.fixture
def registry(tracking: Tracking) -> ModelRegistry:
    return ModelRegistry(tracking.store, tracking.blobs)


@pytest.fixture
def project(tracking: Tracking) -> str:
    return tracking.project(f"p-{new_id()[-10:]}").id


def put(registry: ModelRegistry, path: str, data: bytes) -> ArtifactEntry:
    digest, size = registry.blobs.put_stream(io.BytesIO(data))
    return ArtifactEntry(path, digest, size)


def manifest_for(files: list[ArtifactEntry], flavor: str = "sklearn") -> dict[str, Any]:
    """Return a minimal valid manifest listing ``files`` (but the manifest itself)."""
    return {
        "format": FORMAT,
        "flavors": {flavor: {}},
        "files": {
            f.path: {"digest": f.digest, "size": f.size} for f in files if f.path != MANIFEST_FILE
        },
    }


@pytest.fixture
def files(registry: ModelRegistry) -> list[ArtifactEntry]:
    weights = put(registry, "model.skops", b"weights")
    # JSON is YAML: the stored windlass-model.yaml says what the registered manifest says.
    return [put(registry, MANIFEST_FILE, json.dumps(manifest_for([weights])).encode()), weights]


def register(
    registry: ModelRegistry,
    project: str,
    files: list[ArtifactEntry],
    name: str = "churn",
    **kw: object,
) -> int:
    return registry.create_version(
        project, name, source="runs:/x/model", files=files, manifest=manifest_for(files), **kw
    ).version  # type: ignore[arg-type]


# -- names ------------------------------------------------------------------------------
BAD_NAMES = [
    "",
    "-dash",
    ".dot",
    "has space",
    "a/b",
    "../x",
    "a@b",
    "a" * 257,
    "ünï",
    "tab\tname",
    "semi;colon",
    "nul\x00",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_model_names_are_refused(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], name: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        registry.create_model(project, name)
    assert repr(name[:80]) in info.value.message and "model name" in info.value.message
    with pytest.raises(InvalidInput):
        register(registry, project, files, name=name)
    assert registry.list_models(project).items == []


@pytest.mark.parametrize("alias", BAD_NAMES)
def test_bad_aliases_are_refused(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], alias: str
) -> None:
    register(registry, project, files)
    with pytest.raises(InvalidInput) as info:
        registry.set_alias(project, "churn", alias, 1)
    assert "alias" in info.value.message
    assert registry.alias_history(project, "churn") == []


@pytest.mark.parametrize(
    ("name", "alias"),
    [("churn", "champion"), ("a", "b"), ("Model_1.2-x", "v2.prod-eu"), ("9", "0a")],
)
def test_accepted_names_make_model_uris(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], name: str, alias: str
) -> None:
    register(registry, project, files, name=name)
    registry.set_alias(project, name, alias, 1)
    parsed = parse_object_uri(f"models:/{name}@{alias}")
    assert (parsed.name, parsed.alias) == (name, alias)
    assert registry.resolve(project, name, alias=alias).version == 1


@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest"])
def test_latest_is_reserved(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], alias: str
) -> None:
    register(registry, project, files)
    with pytest.raises(InvalidInput) as info:
        registry.set_alias(project, "churn", alias, 1)
    assert "reserved" in info.value.message
    with pytest.raises(InvalidInput):
        registry.delete_alias(project, "churn", alias)


@pytest.mark.parametrize("alias", ["3", "0", "2147483648", "007"])
def test_version_like_aliases_are_refused(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], alias: str
) -> None:
    register(registry, project, files)
    with pytest.raises(InvalidInput, match="looks like a version number") as info:
        registry.set_alias(project, "churn", alias, 1)
    assert info.value.details["alias"] == alias
    assert registry.get_model(project, "churn").aliases == {}
    registry.set_alias(project, "churn", f"v{alias}", 1)  # the suggested name is fine
    # One set before this rule (straight in the store) can still be removed.
    registry.store.registry.objects.set_alias(
        project, "churn", alias, 1, claimed_by="old", at=now_ms()
    )
    assert registry.delete_alias(project, "churn", alias).from_version == 1


@pytest.mark.parametrize("version", [0, -1, 2**31, True, 1.0, "1"])
def test_bad_version_numbers(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], version: object
) -> None:
    register(registry, project, files)
    with pytest.raises(InvalidInput):
        registry.get_version(project, "churn", version)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        registry.set_alias(project, "churn", "champion", version)  # type: ignore[arg-type]


# -- files of a version -----------------------------------------------------------------
def test_first_version_creates_the_model(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    with pytest.raises(ModelNotFound):
        register(registry, project, files, create_missing_model=False)
    assert register(registry, project, files) == 1
    assert register(registry, project, files, create_missing_model=False) == 2
    model = registry.get_model(project, "churn")
    assert model.latest_version == 2 and model.description == ""
    version = registry.get_version(project, "churn", 1)
    assert version.claimed_by == current_user()
    assert [f.path for f in version.files] == sorted(f.path for f in files)


def test_missing_blob_is_refused_naming_the_file(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    ghost = ArtifactEntry("weights/extra.bin", "ab" * 32, 10)
    with pytest.raises(InvalidInput) as info:
        register(registry, project, [*files, ghost])
    assert "weights/extra.bin" in info.value.message and "ab" * 32 in info.value.message
    assert info.value.details["path"] == "weights/extra.bin"
    assert registry.list_models(project).items == []


def test_manifest_file_is_required(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    with pytest.raises(InvalidInput) as info:
        register(registry, project, files[1:])
    assert MANIFEST_FILE in info.value.message
    with pytest.raises(InvalidInput):
        register(registry, project, [])
    nested = ArtifactEntry(f"sub/{MANIFEST_FILE}", files[0].digest, files[0].size)
    with pytest.raises(InvalidInput):
        register(registry, project, [nested, files[1]])


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a\\b", "C:/x", "", "a\x00b"])
def test_unsafe_file_paths_are_refused(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], path: str
) -> None:
    with pytest.raises(UnsafePath):
        register(registry, project, [*files, ArtifactEntry(path, files[1].digest, 7)])


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(ArtifactEntry("model.skops", "ab" * 32, 1), id="duplicate-path"),
        pytest.param(ArtifactEntry("./model.skops", "ab" * 32, 1), id="duplicate-after-cleaning"),
        pytest.param(ArtifactEntry("x.bin", "xyz", 1), id="digest-not-hex"),
        pytest.param(ArtifactEntry("x.bin", "a" * 63, 1), id="digest-short"),
        pytest.param(ArtifactEntry("x.bin", "a" * 64, -1), id="negative-size"),
        pytest.param(ArtifactEntry("x.bin", "a" * 64, 2**63), id="size-over-int64"),
    ],
)
def test_bad_file_entries_are_refused(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry], entry: ArtifactEntry
) -> None:
    with pytest.raises(InvalidInput):
        register(registry, project, [*files, entry])


def test_manifest_must_agree_with_its_stored_file(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    with pytest.raises(IntegrityFailure) as info:
        registry.create_version(
            project, "churn", source="x", files=files, manifest=manifest_for(files, flavor="pyfunc")
        )
    assert "flavors: the manifest says" in info.value.message
    # A file the stored manifest does not list, or lists with another digest.
    extra = put(registry, "extra.bin", b"extra")
    with pytest.raises(IntegrityFailure, match=r"extra\.bin is among the version's files"):
        registry.create_version(
            project, "churn", source="x", files=[*files, extra], manifest=manifest_for(files)
        )
    changed = put(registry, "model.skops", b"other weights")
    with pytest.raises(IntegrityFailure, match=r"model.skops has digest .* in windlass-model"):
        registry.create_version(
            project, "churn", source="x", files=[files[0], changed], manifest=manifest_for(files)
        )
    with pytest.raises(ModelNotFound):
        registry.get_model(project, "churn")  # nothing stored
    version = registry.create_version(
        project, "churn", source="x", files=files, manifest=manifest_for(files)
    )
    assert version.manifest["flavors"] == {"sklearn": {}}
    assert version.manifest["files"] == manifest_for(files)["files"]


def test_other_version_checks(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    with pytest.raises(RunNotFound):
        register(registry, project, files, run_id=new_id())
    with pytest.raises(RunNotFound):
        register(registry, project, files, run_id="not-a-run")
    with pytest.raises(InvalidInput):
        register(registry, project, files, version_id="short")
    with pytest.raises(InvalidInput):
        registry.create_version(project, "churn", source="", files=files, manifest={})
    with pytest.raises(InvalidInput):
        registry.create_version(
            project, "churn", source="x", files=files, manifest={"bad": object()}
        )
    with pytest.raises(InvalidInput):
        registry.create_version(project, "churn", source="x", files=files, manifest=[1, 2])  # type: ignore[arg-type]
    assert registry.list_models(project).items == []
    version_id = new_id()
    assert register(registry, project, files, version_id=version_id) == 1
    assert register(registry, project, files, version_id=version_id) == 1


# -- model fields -----------------------------------------------------------------------
def test_card_size_is_limited(registry: ModelRegistry, project: str) -> None:
    registry.create_model(project, "churn")
    card = "é" * (512 * 1024)  # 1 MiB of UTF-8 exactly
    assert registry.update_model(project, "churn", card=card).card == card
    with pytest.raises(InvalidInput) as info:
        registry.update_model(project, "churn", card=card + "x")
    assert "1 MiB" in info.value.message
    assert registry.get_model(project, "churn").card == card


def test_update_model_tag_checks(registry: ModelRegistry, project: str) -> None:
    registry.create_model(project, "churn", tags={"team": "growth", "n": 3})
    assert registry.get_model(project, "churn").tags == {"team": "growth", "n": "3"}
    with pytest.raises(InvalidInput):
        registry.update_model(project, "churn", set_tags={"a": "1"}, delete_tags=["a"])
    with pytest.raises(InvalidInput):
        registry.update_model(project, "churn", set_tags={"bad key!": "1"})
    with pytest.raises(InvalidInput):
        registry.create_model(project, "other", description="x" * 100_001)
    updated = registry.update_model(project, "churn", set_tags={"stage": "prod"}, delete_tags=["n"])
    assert updated.tags == {"team": "growth", "stage": "prod"}


# -- resolution and aliases -------------------------------------------------------------
def test_resolve(registry: ModelRegistry, project: str, files: list[ArtifactEntry]) -> None:
    registry.create_model(project, "churn")
    with pytest.raises(ModelVersionNotFound):
        registry.resolve(project, "churn")
    for _ in range(3):
        register(registry, project, files)
    registry.set_alias(project, "churn", "champion", 2)
    assert registry.resolve(project, "churn").version == 3
    assert registry.resolve(project, "churn", alias="latest").version == 3
    assert registry.get_version_by_alias(project, "churn", "latest").version == 3
    assert registry.resolve(project, "churn", version=1).version == 1
    assert registry.resolve(project, "churn", alias="champion").version == 2
    with pytest.raises(InvalidInput):
        registry.resolve(project, "churn", version=1, alias="champion")
    with pytest.raises(ModelVersionNotFound):
        registry.resolve(project, "churn", alias="nobody")
    registry.delete_version(project, "churn", 3)
    assert registry.resolve(project, "churn").version == 2


def test_alias_users(registry: ModelRegistry, project: str, files: list[ArtifactEntry]) -> None:
    register(registry, project, files)
    register(registry, project, files)
    assert registry.set_alias(project, "churn", "champion", 1).claimed_by == current_user()
    moved = registry.set_alias(project, "churn", "champion", 2, principal=Principal("release-bot"))
    assert moved.claimed_by == "release-bot"
    assert (
        registry.delete_alias(project, "churn", "champion", principal=Principal("ada")).to_version
        is None
    )
    history = registry.alias_history(project, "churn", "champion")
    assert [(e.from_version, e.to_version, e.claimed_by) for e in history] == [
        (None, 1, current_user()),
        (1, 2, "release-bot"),
        (2, None, "ada"),
    ]


# -- lineage ----------------------------------------------------------------------------
def test_lineage_of_a_version_from_a_run(
    tracking: Tracking, registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    run = tracking.create_run(
        project,
        name="train-42",
        source=RunSource(git_commit="c0ffee", git_dirty=False),
        principal=Principal("ada"),
    )
    tracking.log_params(run.id, {"lr": 0.1, "depth": 6})
    batch = MetricBatch(new_id())
    for step, value in enumerate([0.9, 0.5, 0.3]):
        batch.append(run.id, "loss", value, step, now_ms())
    batch.append(run.id, "odd", math.nan, 0, now_ms())
    tracking.log_metrics(batch)
    train = DatasetInput(
        "churn-train", "d" * 64, "training", "s3://b/t.parquet", 100, {"age": "int64"}
    )
    test = DatasetInput("churn-test", "e" * 64, "evaluation")
    tracking.log_inputs(run.id, [train, test, train])
    register(registry, project, files, run_id=run.id)

    lineage = registry.lineage(project, "churn", 1)
    assert lineage.run_id == run.id and lineage.run_name == "train-42"
    assert lineage.project_id == project and lineage.user == "ada"
    assert lineage.params == {"lr": "0.1", "depth": "6"}
    assert lineage.metrics["loss"] == 0.3 and math.isnan(lineage.metrics["odd"])
    assert lineage.inputs == [train, test]
    assert (lineage.git_commit, lineage.git_dirty) == ("c0ffee", False)
    assert lineage.source == "runs:/x/model"


def test_lineage_of_a_version_without_a_run(
    registry: ModelRegistry, project: str, files: list[ArtifactEntry]
) -> None:
    register(registry, project, files)
    assert registry.lineage(project, "churn", 1) == Lineage(source="runs:/x/model")


# -- run inputs (tracking domain) -------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(DatasetInput("", "d" * 64), id="empty-name"),
        pytest.param(DatasetInput("has space", "d" * 64), id="name-space"),
        pytest.param(DatasetInput("a" * 257, "d" * 64), id="name-long"),
        pytest.param(DatasetInput("ok", ""), id="empty-digest"),
        pytest.param(DatasetInput("ok", "d" * 129), id="digest-long"),
        pytest.param(DatasetInput("ok", "d d"), id="digest-space"),
        pytest.param(DatasetInput("ok", "d", context=""), id="empty-context"),
        pytest.param(DatasetInput("ok", "d", context="c" * 65), id="context-long"),
        pytest.param(DatasetInput("ok", "d", rows=-1), id="negative-rows"),
        pytest.param(DatasetInput("ok", "d", rows=True), id="bool-rows"),
        pytest.param(DatasetInput("ok", "d", schema={"a": 1}), id="schema-value-int"),  # type: ignore[dict-item]
        pytest.param(DatasetInput("ok", "d", schema=["a"]), id="schema-list"),  # type: ignore[arg-type]
        pytest.param(DatasetInput("ok", "d", source=5), id="source-int"),  # type: ignore[arg-type]
    ],
)
def test_bad_run_inputs_store_nothing(tracking: Tracking, project: str, bad: DatasetInput) -> None:
    run = tracking.create_run(project)
    good = DatasetInput("fine", "f" * 64)
    with pytest.raises(InvalidInput):
        tracking.log_inputs(run.id, [good, bad])
    assert tracking.list_inputs(run.id) == []
