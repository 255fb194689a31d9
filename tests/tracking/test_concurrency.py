"""Concurrent SDK writers, racing project creation, and the metric buffer's delivery promises.

Writers are real processes running small SDK scripts. They wait on a barrier (a line on
their stdin, written to all of them back to back) so that they really race.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import windlass

WORKERS = 8
POINTS = 5_000

LOG_POINTS = textwrap.dedent("""
    import sys
    import windlass

    worker, points, shared = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    windlass.set_project("concurrency")
    run_id = shared or windlass.start_run(name=f"worker-{worker}").id
    print("ready", flush=True)
    sys.stdin.readline()  # the barrier
    base = worker * points if shared else 0
    for i in range(points):
        step = base + i
        windlass.log_metric("loss", step * 0.5, step=step, run_id=run_id)
    windlass.flush()
    if not shared:
        windlass.end_run()
    print(run_id, flush=True)
""")

CREATE_PROJECTS = textwrap.dedent("""
    import json
    import sys
    import windlass

    warm, names = sys.argv[1] == "warm", sys.argv[2:]
    if warm:
        windlass.list_projects()  # open (and migrate) the store before the race
    print("ready", flush=True)
    sys.stdin.readline()  # the barrier
    print(json.dumps({name: windlass.set_project(name).id for name in names}), flush=True)
""")

EXIT_WITHOUT_FLUSH = textwrap.dedent("""
    import sys
    import windlass

    windlass.set_project("exit")
    run = windlass.start_run(name="no-flush")
    print(run.id, flush=True)
    for i in range(int(sys.argv[1])):
        windlass.log_metric("loss", i * 0.25, step=i)
    # no flush, no end_run: interpreter exit must deliver everything and end the run
""")


def start_script(script: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def race(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[str]:
    """Wait until every process is ready, release them together; return their last lines."""
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                proc.wait(timeout)
                raise AssertionError(f"worker did not get ready: {line!r} {proc.stderr.read()}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.flush()
        results = []
        deadline = time.monotonic() + timeout
        for proc in procs:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert proc.returncode == 0, err
            results.append(out.strip().splitlines()[-1])
        return results
    finally:
        for proc in procs:  # only on failure is any still running
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def sdk() -> Iterator[None]:
    """Leave the SDK's process-wide state as it was (no active run, default URI)."""
    yield
    for _ in range(5):
        if windlass.active_run() is None:
            break
        with contextlib.suppress(windlass.WindlassError):
            windlass.end_run()
    windlass.set_tracking_uri(None)


# -- (a) many writers through one server ----------------------------------------------------
@pytest.mark.usefixtures("sdk")
def test_eight_processes_into_their_own_runs_lose_nothing(server_factory: Any) -> None:
    srv = server_factory()
    env = {"WINDLASS_TRACKING_URI": srv.url}
    procs = [start_script(LOG_POINTS, str(w), str(POINTS), "", env=env) for w in range(WORKERS)]
    run_ids = race(procs)
    assert len(set(run_ids)) == WORKERS

    windlass.set_tracking_uri(srv.url)
    for run_id in run_ids:
        history = windlass.get_metric_history(run_id, "loss")
        assert len(history) == POINTS
        assert [p.step for p in history] == list(range(POINTS))
        assert [p.value for p in history] == [i * 0.5 for i in range(POINTS)]
        run = windlass.get_run(run_id)
        assert run.status is windlass.RunStatus.FINISHED
        assert run.metrics["loss"].step == POINTS - 1


@pytest.mark.usefixtures("sdk")
def test_eight_processes_into_one_shared_run_lose_nothing(server_factory: Any) -> None:
    srv = server_factory()
    windlass.set_tracking_uri(srv.url)
    windlass.set_project("concurrency")
    shared = windlass.start_run(name="shared").id
    env = {"WINDLASS_TRACKING_URI": srv.url}
    procs = [start_script(LOG_POINTS, str(w), str(POINTS), shared, env=env) for w in range(WORKERS)]
    assert race(procs) == [shared] * WORKERS

    history = windlass.get_metric_history(shared, "loss")
    total = WORKERS * POINTS
    assert len(history) == total
    assert [p.step for p in history] == list(range(total))
    assert [p.value for p in history] == [i * 0.5 for i in range(total)]
    run = windlass.get_run(shared)
    assert run.metrics["loss"].step == total - 1
    assert run.metrics["loss"].value == (total - 1) * 0.5
    windlass.end_run()
    assert windlass.get_run(shared).status is windlass.RunStatus.FINISHED


# -- (b) racing project creation ------------------------------------------------------------
RACE_NAMES = [f"race-{i}" for i in range(15)]


def race_projects(uri: str, processes: int, warm: bool) -> dict[str, str]:
    env = {"WINDLASS_TRACKING_URI": uri}
    procs = [
        start_script(CREATE_PROJECTS, "warm" if warm else "cold", *RACE_NAMES, env=env)
        for _ in range(processes)
    ]
    seen = [json.loads(line) for line in race(procs)]
    for ids in seen[1:]:
        assert ids == seen[0], "racing creators got different projects"
    return seen[0]


def assert_one_project_each(uri: str, ids: dict[str, str]) -> None:
    windlass.set_tracking_uri(uri)
    projects = {p.name: p.id for p in windlass.list_projects() if p.name.startswith("race-")}
    assert projects == ids
    assert len(set(ids.values())) == len(RACE_NAMES)


@pytest.mark.usefixtures("sdk")
def test_two_processes_create_one_project_sqlite(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'race.db'}"
    windlass.set_tracking_uri(uri)
    windlass.list_projects()  # the schema exists: this race is about the projects only
    assert_one_project_each(uri, race_projects(uri, 2, warm=True))


@pytest.mark.usefixtures("sdk")
def test_two_processes_create_one_project_postgresql(postgres_url: str) -> None:
    assert_one_project_each(postgres_url, race_projects(postgres_url, 2, warm=True))


@pytest.mark.usefixtures("sdk")
@pytest.mark.parametrize("round_", range(3))
def test_first_users_of_a_fresh_sqlite_store_race_safely(tmp_path: Path, round_: int) -> None:
    # No warm-up: released together, the processes race to create the schema of a new
    # database file, then the projects. (A race shows itself only some of the time, so
    # this runs a few rounds, each on a fresh file.)
    uri = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
    assert_one_project_each(uri, race_projects(uri, 4, warm=False))


# -- (c) the metric buffer's promises -------------------------------------------------------
@pytest.mark.usefixtures("sdk")
def test_flush_raises_delivery_failed_naming_the_lost_points(
    server_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'lost.db'}"
    srv = server_factory(store=store)
    monkeypatch.setenv("WINDLASS_TRACKING_URI", srv.url)
    monkeypatch.setenv("WINDLASS_FLUSH_RETRY_SECONDS", "1")
    monkeypatch.setenv("WINDLASS_HTTP_RETRIES", "1")
    windlass.set_tracking_uri(None)
    windlass.set_project("lossy")
    run = windlass.start_run(name="doomed")
    srv.stop()

    for i in range(250):
        windlass.log_metric("loss", float(i), step=i)
    started = time.monotonic()
    with pytest.raises(windlass.DeliveryFailed) as caught:
        windlass.flush()
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert run.id in message
    assert sum(int(n) for n in re.findall(r"LOST (\d+) metric points", message)) == 250
    assert caught.value.error_code == "DELIVERY_FAILED"
    windlass.flush()  # a loss is reported once

    # The report is honest: none of the points reached the store.
    revived = server_factory(store=store)
    windlass.set_tracking_uri(revived.url)
    assert windlass.get_metric_history(run.id, "loss") == []


@pytest.mark.usefixtures("sdk")
@pytest.mark.parametrize("target", ["server", "sqlite"])
def test_interpreter_exit_without_flush_loses_nothing(
    target: str, server_factory: Any, tmp_path: Path
) -> None:
    uri = server_factory().url if target == "server" else f"sqlite:///{tmp_path / 'exit.db'}"
    points = 20_000
    proc = start_script(EXIT_WITHOUT_FLUSH, str(points), env={"WINDLASS_TRACKING_URI": uri})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "LOST" not in err
    run_id = out.strip().splitlines()[0]

    windlass.set_tracking_uri(uri)
    history = windlass.get_metric_history(run_id, "loss")
    assert len(history) == points
    assert [p.step for p in history] == list(range(points))
    assert [p.value for p in history] == [i * 0.25 for i in range(points)]
    run = windlass.get_run(run_id)
    assert run.status is windlass.RunStatus.FINISHED
    assert run.end_time is not None
    assert run.metrics["loss"].step == points - 1


@pytest.mark.usefixtures("sdk")
@pytest.mark.parametrize(
    ("step", "timestamp"),
    [
        pytest.param(2**63, None, id="step-2^63"),
        pytest.param(-(2**63) - 1, None, id="step-below-int64"),
        pytest.param(2**70, None, id="step-2^70"),
        pytest.param(1, 2**63, id="timestamp-2^63"),
        pytest.param(1, -1, id="timestamp-negative"),
    ],
)
def test_a_bad_point_is_refused_at_once_and_costs_no_other_point(
    step: int, timestamp: int | None, tmp_path: Path
) -> None:
    # log_metric does no I/O, so a point the store cannot hold must be refused when it is
    # logged: once buffered it would sink the whole batch of good points sent with it.
    windlass.set_tracking_uri(f"sqlite:///{tmp_path / 'bad-point.db'}")
    run = windlass.start_run(name="one-bad-point")
    for i in range(100):
        windlass.log_metric("loss", float(i), step=i)
    with pytest.raises(windlass.InvalidInput):
        windlass.log_metric("loss", 1.0, step=step, timestamp=timestamp)
    for i in range(100, 200):
        windlass.log_metric("loss", float(i), step=i)
    windlass.flush()
    assert [p.step for p in windlass.get_metric_history(run.id, "loss")] == list(range(200))
    windlass.end_run()
