"""Client-chosen ids: the same body again is an idempotent success, another body a 409.

On every MetadataStore (SQLite, PostgreSQL, and the REST client through a real server),
and through the tracking service the server's routes call.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from windlass.artifacts import open_blob_store
from windlass.entities import MetricBatch, RunSource
from windlass.exceptions import AlreadyExists, IdConflict
from windlass.ids import new_id, now_ms
from windlass.store.metadata import MetadataStore
from windlass.tracking.service import Tracking


def _project(store: MetadataStore) -> str:
    return store.runs.get_or_create_project(f"ids-{new_id()[-12:]}", new_id(), now_ms()).id


def _create(store: MetadataStore, run_id: str, project_id: str, **change: object) -> str:
    body: dict[str, object] = {
        "run_id": run_id,
        "project_id": project_id,
        "name": "first",
        "start_time": 1_700_000_000_000,
        "parent_run_id": None,
        "source": RunSource(user="ada"),
        "tags": {"team": "a"},
    }
    body.update(change)
    return store.runs.create_run(**body).id  # type: ignore[arg-type]


def test_same_run_again_is_idempotent(store: MetadataStore) -> None:
    project, run_id = _project(store), new_id()
    assert _create(store, run_id, project) == run_id
    assert _create(store, run_id, project) == run_id
    run = store.runs.get_run(run_id)
    assert (run.name, run.start_time, run.tags) == ("first", 1_700_000_000_000, {"team": "a"})


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"name": "second"}, id="name"),
        pytest.param({"start_time": 1_700_000_000_001}, id="start-time"),
        pytest.param("project", id="project"),
        pytest.param("parent", id="parent"),
    ],
)
def test_run_id_reused_with_another_body_is_id_conflict(
    store: MetadataStore, change: object
) -> None:
    project, run_id = _project(store), new_id()
    _create(store, run_id, project)
    if change == "project":
        other: dict[str, object] = {"project_id": _project(store)}
    elif change == "parent":
        other = {"parent_run_id": _create(store, new_id(), project)}
    else:
        assert isinstance(change, dict)
        other = change
    with pytest.raises(IdConflict) as caught:
        _create(store, run_id, **{"project_id": project, **other})  # type: ignore[arg-type]
    assert caught.value.error_code == "ID_CONFLICT"
    assert run_id in caught.value.message
    # The stored run is unchanged.
    run = store.runs.get_run(run_id)
    assert (run.project_id, run.name, run.start_time, run.parent_run_id) == (
        project,
        "first",
        1_700_000_000_000,
        None,
    )


def _batch(
    batch_id: str, run_id: str, values: list[float], steps: list[int] | None = None
) -> MetricBatch:
    batch = MetricBatch(batch_id)
    for step, value in zip(steps or range(len(values)), values, strict=True):
        batch.append(run_id, "loss", value, step, 1_700_000_000_000 + step)
    return batch


def test_metric_batch_id_reuse(store: MetadataStore) -> None:
    project = _project(store)
    run_id = _create(store, new_id(), project)
    batch_id = new_id()
    assert store.runs.log_metrics(_batch(batch_id, run_id, [1.0, math.nan, 3.0])) == 3
    # The same points again (a retry): stored once, no error.
    assert store.runs.log_metrics(_batch(batch_id, run_id, [1.0, math.nan, 3.0])) == 0
    for other in (
        _batch(batch_id, run_id, [1.0, 2.0, 3.0]),
        _batch(batch_id, run_id, [1.0, math.nan, 3.0], steps=[0, 1, 5]),
        _batch(batch_id, run_id, [1.0, math.nan]),
    ):
        with pytest.raises(IdConflict) as caught:
            store.runs.log_metrics(other)
        assert batch_id in caught.value.message
    history = store.runs.get_metric_history(run_id, "loss").items
    assert [p.step for p in history] == [0, 1, 2]
    assert history[0].value == 1.0 and math.isnan(history[1].value)


def test_tracking_service_retries_without_name_or_start_time(
    store: MetadataStore, tmp_path: Path
) -> None:
    # The server's POST /runs route: a retry leaving name and start time to the server
    # is the same run, not a conflict with the time of the first try.
    project = _project(store)
    service = Tracking(store, open_blob_store(str(tmp_path / "blobs")))
    run_id = new_id()
    first = service.create_run(project, run_id=run_id)
    again = service.create_run(project, run_id=run_id)
    assert (again.id, again.name, again.start_time) == (first.id, first.name, first.start_time)
    with pytest.raises(IdConflict):
        service.create_run(project, run_id=run_id, name="renamed")


def test_project_id_is_the_writers(store: MetadataStore) -> None:
    name, project_id = f"ids-{new_id()[-12:]}", new_id()
    made = store.runs.get_or_create_project(name, project_id, 1_700_000_000_000)
    assert (made.id, made.name) == (project_id, name)
    # The same create again (a retry), and the name with another id: the same project.
    assert store.runs.get_or_create_project(name, project_id, now_ms()) == made
    assert store.runs.get_or_create_project(name, new_id(), now_ms()) == made
    with pytest.raises(IdConflict) as caught:
        store.runs.get_or_create_project(f"{name}-other", project_id, now_ms())
    assert caught.value.error_code == "ID_CONFLICT" and project_id in caught.value.message
    assert store.runs.get_project(project_id).name == name


def _model(store: MetadataStore, project: str, model_id: str, **change: object) -> str:
    body: dict[str, object] = {
        "model_id": model_id,
        "project_id": project,
        "name": "churn",
        "description": "first",
        "tags": {"team": "a"},
        "created_at": now_ms(),
    }
    body.update(change)
    return store.registry.create_registered_model(**body).id  # type: ignore[arg-type]


def test_model_id_is_the_writers(store: MetadataStore) -> None:
    project, model_id = _project(store), new_id()
    assert _model(store, project, model_id) == model_id
    # A retry (without exist_ok) returns the model it made, and adds nothing.
    assert _model(store, project, model_id) == model_id
    assert [m.id for m in store.registry.objects.list_objects(project).items] == [model_id]
    assert store.registry.objects.get_object(project, "churn").tags == {"team": "a"}
    for change in ({"name": "other"}, {"project_id": _project(store)}):
        with pytest.raises(IdConflict) as caught:
            _model(store, project, model_id, **change)
        assert model_id in caught.value.message
    # The name with another id is still the name taken, not a retry.
    with pytest.raises(AlreadyExists):
        _model(store, project, new_id())
    assert _model(store, project, new_id(), exist_ok=True) == model_id


def _prompt(store: MetadataStore, project: str, prompt_id: str, **change: object) -> str:
    body: dict[str, object] = {
        "prompt_id": prompt_id,
        "project_id": project,
        "name": "support",
        "description": "first",
        "created_at": now_ms(),
    }
    body.update(change)
    return store.prompts.create_prompt(**body).id  # type: ignore[arg-type]


def test_prompt_id_is_the_writers(store: MetadataStore) -> None:
    project, prompt_id = _project(store), new_id()
    assert _prompt(store, project, prompt_id) == prompt_id
    assert _prompt(store, project, prompt_id) == prompt_id
    assert [p.id for p in store.prompts.objects.list_objects(project).items] == [prompt_id]
    for change in ({"name": "other"}, {"description": "second"}, {"project_id": _project(store)}):
        with pytest.raises(IdConflict) as caught:
            _prompt(store, project, prompt_id, **change)
        assert prompt_id in caught.value.message
    with pytest.raises(AlreadyExists):
        _prompt(store, project, new_id())
    assert _prompt(store, project, new_id(), exist_ok=True) == prompt_id
