"""The run store contract (RunStore) of every backend: SQLite, PostgreSQL, REST client.

Projects, runs, params, tags, metrics, run search and the datasets runs read.
"""

from __future__ import annotations

import math

import pytest

from windlass.entities import DatasetInput, MetricBatch, RunSource, RunStatus, ViewType
from windlass.exceptions import (
    IdConflict,
    InvalidFilter,
    InvalidInput,
    InvalidState,
    ParamConflict,
    ProjectNotFound,
    RunNotFound,
)
from windlass.ids import new_id, now_ms
from windlass.store.metadata import MetadataStore
from windlass_testing import recorded


def _project(store: MetadataStore) -> str:
    return store.runs.get_or_create_project(f"p-{new_id()[-12:]}", new_id(), now_ms()).id


def _run(store: MetadataStore, project_id: str, name: str = "r", **kw: object) -> str:
    run_id = new_id()
    store.runs.create_run(
        run_id=run_id,
        project_id=project_id,
        name=name,
        start_time=now_ms(),
        parent_run_id=kw.get("parent"),
        source=RunSource(
            user="ada",
            host="h",
            pid=1,
            git_commit="abc",
            git_dirty=True,
            command="python x.py",
            system={"cpu_count": 2},
        ),
        tags=dict(kw.get("tags", {})),
    )  # type: ignore[call-overload]
    return run_id


def _metrics(store: MetadataStore, run_id: str, points: dict[str, list[float]]) -> None:
    batch = MetricBatch(new_id())
    for key, values in points.items():
        for step, value in enumerate(values):
            batch.append(run_id, key, value, step, now_ms())
    store.runs.log_metrics(batch)


def test_project_get_or_create_is_idempotent(store: MetadataStore) -> None:
    name = f"proj-{new_id()[-10:]}"
    first = store.runs.get_or_create_project(name, new_id(), now_ms())
    second = store.runs.get_or_create_project(name, new_id(), now_ms())
    assert first == second
    assert store.runs.get_project(name) == first
    assert store.runs.get_project(first.id) == first
    with pytest.raises(ProjectNotFound):
        store.runs.get_project(f"missing-{new_id()}")


def test_list_projects_pages(store: MetadataStore) -> None:
    prefix = f"pg{new_id()[-8:]}"
    names = {f"{prefix}-{i}" for i in range(5)}
    for name in names:
        store.runs.get_or_create_project(name, new_id(), now_ms())
    seen: list[str] = []
    token = None
    while True:
        page = store.runs.list_projects(2, token)
        seen.extend(p.name for p in page.items)
        if page.next_page_token is None:
            break
        token = page.next_page_token
    assert seen == sorted(seen)
    assert names <= set(seen)


def test_run_round_trip(store: MetadataStore) -> None:
    project = _project(store)
    run_id = _run(store, project, "first", tags={"team": "growth"})
    run = store.runs.get_run(run_id)
    assert run.status is RunStatus.RUNNING and run.name == "first"
    assert run.tags == {"team": "growth"}
    # A SQL store records the user it is given; over REST the server records its principal.
    assert run.source.user == recorded(store, "ada") and run.source.git_commit == "abc"
    assert run.source.git_dirty is True and run.source.system == {"cpu_count": 2}
    assert run.end_time is None and not run.deleted
    # Creating the same run again returns it (client retries are safe); the same id with
    # another body is an IdConflict (tests/store/test_id_reuse.py), never a silent success.
    again = store.runs.create_run(
        run_id=run_id,
        project_id=project,
        name="first",
        start_time=run.start_time,
        parent_run_id=None,
        source=RunSource(),
        tags={},
    )
    assert again == run
    with pytest.raises(IdConflict):
        store.runs.create_run(
            run_id=run_id,
            project_id=project,
            name="other",
            start_time=run.start_time,
            parent_run_id=None,
            source=RunSource(),
            tags={},
        )
    assert store.runs.get_run(run_id).name == "first"
    ended = store.runs.update_run(run_id, status=RunStatus.FINISHED, end_time=now_ms(), name="x")
    assert ended.status is RunStatus.FINISHED and ended.end_time is not None
    assert ended.name == "x"
    # The run's own fields alone (what an audited update records as "before").
    head = store.runs.get_run_head(run_id)
    assert (head.id, head.project_id, head.name, head.status, head.end_time) == (
        ended.id,
        ended.project_id,
        "x",
        RunStatus.FINISHED,
        ended.end_time,
    )
    assert head.source == ended.source and head.start_time == ended.start_time


def test_unknown_run_and_project(store: MetadataStore) -> None:
    with pytest.raises(RunNotFound):
        store.runs.get_run(new_id())
    with pytest.raises(RunNotFound):
        store.runs.get_run("not-an-id")
    with pytest.raises(RunNotFound):
        store.runs.get_run_head(new_id())
    with pytest.raises(RunNotFound):
        store.runs.get_run_head("not-an-id")
    with pytest.raises(ProjectNotFound):
        _run(store, new_id())
    with pytest.raises(RunNotFound):
        store.runs.log_params(new_id(), {"a": "1"})


def test_params_are_immutable(store: MetadataStore) -> None:
    run_id = _run(store, _project(store))
    store.runs.log_params(run_id, {"lr": "0.1", "depth": "6"})
    store.runs.log_params(run_id, {"lr": "0.1"})  # same value: no-op
    with pytest.raises(ParamConflict):
        store.runs.log_params(run_id, {"lr": "0.2", "new": "x"})
    # The failed call stored nothing, not even its other params.
    assert store.runs.get_run(run_id).params == {"lr": "0.1", "depth": "6"}


def test_tags_set_overwrite_delete(store: MetadataStore) -> None:
    run_id = _run(store, _project(store))
    store.runs.set_tags(run_id, {"a": "1", "b": "2"})
    store.runs.set_tags(run_id, {"a": "3"})
    store.runs.delete_tag(run_id, "b")
    store.runs.delete_tag(run_id, "never-set")
    assert store.runs.get_run(run_id).tags == {"a": "3"}


def test_metrics_history_latest_and_non_finite(store: MetadataStore) -> None:
    run_id = _run(store, _project(store))
    batch = MetricBatch(new_id())
    for step in range(250):
        batch.append(run_id, "loss", 1.0 / (step + 1), step, 1000 + step)
    batch.append(run_id, "odd", math.nan, 0, 1)
    batch.append(run_id, "odd", math.inf, 1, 2)
    batch.append(run_id, "odd", -math.inf, 2, 3)
    assert store.runs.log_metrics(batch) == 253
    assert store.runs.log_metrics(batch) == 0  # a retried batch is stored once
    run = store.runs.get_run(run_id)
    assert run.metrics["loss"].step == 249 and run.metrics["loss"].value == 1 / 250
    assert run.metrics["odd"].value == -math.inf
    odd = store.runs.get_metric_history(run_id, "odd").items
    assert math.isnan(odd[0].value) and odd[1].value == math.inf and odd[2].value == -math.inf
    page = store.runs.get_metric_history(run_id, "loss", max_results=100)
    points = list(page.items)
    while page.next_page_token:
        page = store.runs.get_metric_history(
            run_id, "loss", max_results=100, page_token=page.next_page_token
        )
        points.extend(page.items)
    assert [p.step for p in points] == list(range(250))


def test_latest_metric_is_largest_step_not_last_logged(store: MetadataStore) -> None:
    run_id = _run(store, _project(store))
    _metrics(store, run_id, {"acc": [0.1, 0.2, 0.3]})
    late = MetricBatch(new_id())
    late.append(run_id, "acc", 0.05, 0, now_ms())  # an old step logged late
    store.runs.log_metrics(late)
    assert store.runs.get_run(run_id).metrics["acc"].value == 0.3


def test_metric_batch_for_unknown_run_stores_nothing(store: MetadataStore) -> None:
    run_id = _run(store, _project(store))
    batch = MetricBatch(new_id())
    batch.append(run_id, "m", 1.0, 0, now_ms())
    batch.append(new_id(), "m", 2.0, 0, now_ms())
    with pytest.raises(RunNotFound):
        store.runs.log_metrics(batch)
    assert store.runs.get_metric_history(run_id, "m").items == []
    assert "m" not in store.runs.get_run(run_id).metrics


def test_delete_restore_and_views(store: MetadataStore) -> None:
    project = _project(store)
    keep, gone = _run(store, project, "keep"), _run(store, project, "gone")
    assert store.runs.set_run_deleted(gone, True, now_ms()).deleted
    with pytest.raises(InvalidState):
        store.runs.log_params(gone, {"a": "1"})
    active = {r.id for r in store.runs.search_runs([project]).items}
    deleted = {r.id for r in store.runs.search_runs([project], view=ViewType.DELETED).items}
    every = {r.id for r in store.runs.search_runs([project], view=ViewType.ALL).items}
    assert active == {keep} and deleted == {gone} and every == {keep, gone}
    assert not store.runs.set_run_deleted(gone, False, now_ms()).deleted
    assert {r.id for r in store.runs.search_runs([project]).items} == {keep, gone}


def test_stale_runs_fail(store: MetadataStore) -> None:
    run_id = _run(store, _project(store))
    store.runs.heartbeat(run_id, 1000)
    failed = store.runs.fail_stale_runs(now_ms() - 60_000)
    assert run_id in failed
    run = store.runs.get_run(run_id)
    assert run.status is RunStatus.FAILED and run.end_time == 1000


def _search_ids(store: MetadataStore, project: str, flt: str) -> set[str]:
    return {r.name for r in store.runs.search_runs([project], flt).items}


def test_search_filter_language(store: MetadataStore) -> None:
    project = _project(store)
    for i in range(6):
        run_id = _run(store, project, f"run{i}", tags={"team": "growth" if i % 2 else "Core"})
        store.runs.log_params(run_id, {"depth": str(i % 3), "opt": "adam" if i < 3 else "sgd"})
        _metrics(store, run_id, {"loss": [1.0, i / 10]})
    assert _search_ids(store, project, "metrics.loss < 0.25") == {"run0", "run1", "run2"}
    assert _search_ids(store, project, "metrics.loss < 0.1 or params.depth = '2'") == {
        "run0",
        "run2",
        "run5",
    }
    assert _search_ids(
        store, project, "not (params.opt = 'adam') and (metrics.loss >= 0.5 or tags.team = 'Core')"
    ) == {"run4", "run5"}
    assert _search_ids(store, project, "params.depth in ('0', '1')") == {
        "run0",
        "run1",
        "run3",
        "run4",
    }
    assert _search_ids(store, project, "params.depth not in ('0', '1')") == {"run2", "run5"}
    assert _search_ids(store, project, "tags.team like 'gro%'") == {"run1", "run3", "run5"}
    assert _search_ids(store, project, "tags.team like 'core'") == set()  # like: case matters
    assert _search_ids(store, project, "tags.team ilike 'core'") == {"run0", "run2", "run4"}
    assert _search_ids(store, project, "metrics.missing is null") == {f"run{i}" for i in range(6)}
    assert _search_ids(store, project, "metrics.loss is not null and name = 'run3'") == {"run3"}
    ada = recorded(store, "ada")  # over REST the server records its own principal
    assert _search_ids(store, project, f"attributes.status = 'running' and user = '{ada}'") == {
        f"run{i}" for i in range(6)
    }
    # Values that look like SQL stay values.
    assert _search_ids(store, project, "name = 'x'' or ''1''=''1'") == set()
    with pytest.raises(InvalidFilter) as info:
        store.runs.search_runs([project], "metrics.loss < and")
    assert info.value.details["position"] == 15


def test_search_order_and_keyset_paging(store: MetadataStore) -> None:
    project = _project(store)
    values = [0.5, 0.1, math.nan, 0.9, 0.1, 0.3, None, 0.7]
    for i, value in enumerate(values):
        run_id = _run(store, project, f"r{i}")
        if value is not None:
            _metrics(store, run_id, {"score": [value]})
    expected_asc = ["r1", "r4", "r5", "r0", "r7", "r3"]  # then the runs without a value
    for size in (1, 3, 100):
        names: list[str] = []
        token = None
        while True:
            page = store.runs.search_runs([project], None, ["metrics.score ASC"], size, token)
            names.extend(r.name for r in page.items)
            if page.next_page_token is None:
                break
            token = page.next_page_token
        assert len(names) == len(values) and len(set(names)) == len(values)
        assert sorted(names[:2]) == ["r1", "r4"] and names[2:6] == expected_asc[2:]
        assert set(names[6:]) == {"r2", "r6"}
    desc = [r.name for r in store.runs.search_runs([project], None, ["metrics.score DESC"]).items]
    assert desc[:2] == ["r3", "r7"] and set(desc[-2:]) == {"r2", "r6"}
    by_name = [r.name for r in store.runs.search_runs([project], None, ["name DESC"]).items]
    assert by_name == sorted(by_name, reverse=True)
    with pytest.raises(InvalidInput):
        store.runs.search_runs([project], None, ["metrics.score ASC"], 2, "garbage-token")


def test_nested_runs(store: MetadataStore) -> None:
    project = _project(store)
    parent = _run(store, project, "parent")
    child = _run(store, project, "child", parent=parent)
    assert store.runs.get_run(child).parent_run_id == parent
    assert _search_ids(store, project, f"parent_run_id = '{parent}'") == {"child"}
    with pytest.raises(RunNotFound):
        _run(store, project, "orphan", parent=new_id())


# -- run inputs -------------------------------------------------------------------------
def test_run_inputs_are_recorded_once_in_order(store: MetadataStore) -> None:
    project = _project(store)
    run_id = _run(store, project)
    train = DatasetInput(
        "churn-train",
        "d" * 64,
        "training",
        "s3://b/train.parquet",
        1000,
        {"age": "int64", "plan": "string"},
    )
    valid = DatasetInput("churn-valid", "e" * 40, "validation")
    store.runs.log_inputs(run_id, [train])
    store.runs.log_inputs(run_id, [valid, train])
    store.runs.log_inputs(run_id, [])
    # Same name and digest in another context is another input.
    store.runs.log_inputs(run_id, [DatasetInput("churn-train", "d" * 64, "evaluation")])
    assert store.runs.list_inputs(run_id) == [
        train,
        valid,
        DatasetInput("churn-train", "d" * 64, "evaluation"),
    ]
    assert store.runs.list_inputs(_run(store, project)) == []
    with pytest.raises(RunNotFound):
        store.runs.log_inputs(new_id(), [train])
    with pytest.raises(RunNotFound):
        store.runs.list_inputs(new_id())
    store.runs.set_run_deleted(run_id, True, now_ms())
    with pytest.raises(InvalidState):
        store.runs.log_inputs(run_id, [DatasetInput("late", "f" * 64)])
    assert len(store.runs.list_inputs(run_id)) == 3
