"""The SDK as a user writes it, against the embedded store, SQL stores and a server."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

import windlass
from windlass.ids import new_id
from windlass_testing import run_fresh


def test_issue_example(sdk: str, tmp_path: Path) -> None:
    project = f"churn-{new_id()[-8:]}"
    windlass.set_project(project)
    report = tmp_path / "report.html"
    report.write_text("<h1>report</h1>")
    with windlass.start_run(name="lr-0.1") as run:
        windlass.log_params({"lr": 0.1, "depth": 6})
        for step in range(1000):
            windlass.log_metric("loss", 0.5 / (step + 1), step=step)
        windlass.log_artifact(report, artifact_path="reports")
        windlass.set_tags({"team": "growth"})
    got = windlass.get_run(run.id)
    assert got.status is windlass.RunStatus.FINISHED and got.end_time is not None
    assert got.params == {"lr": "0.1", "depth": "6"} and got.tags == {"team": "growth"}
    assert got.metrics["loss"].step == 999
    history = windlass.get_metric_history(run.id, "loss")
    assert [p.step for p in history] == list(range(1000))
    assert history[10].value == 0.5 / 11
    runs = windlass.search_runs(
        project=project,
        filter="metrics.loss < 0.01 and params.depth = '6'",
        order_by=["metrics.loss ASC"],
        max_results=100,
    )
    assert list(runs["run_id"]) == [run.id]
    assert runs.loc[0, "params.lr"] == "0.1" and runs.loc[0, "tags.team"] == "growth"
    listed = windlass.search_runs(project=project, output_format="list")
    assert isinstance(listed, list) and listed[0].id == run.id
    files = windlass.list_artifacts(run.id, "reports")
    assert [f.path for f in files] == ["reports/report.html"]
    local = windlass.download_artifacts(run.id, "reports/report.html", tmp_path / "dl")
    assert local.read_text() == "<h1>report</h1>"


def test_run_source_and_nesting(sdk: str) -> None:
    windlass.set_project(f"nest-{new_id()[-8:]}")
    with windlass.start_run(name="parent") as parent:
        with pytest.raises(windlass.InvalidState):
            windlass.start_run(name="not nested")
        with windlass.start_run(name="child", nested=True) as child:
            assert windlass.active_run() is child
        assert windlass.active_run() is parent
    got = windlass.get_run(child.id)
    assert got.parent_run_id == parent.id
    assert got.source.command and got.source.host and got.source.pid
    assert got.source.system["cpu_count"]
    assert got.user


def test_failed_and_killed_status(sdk: str) -> None:
    windlass.set_project(f"status-{new_id()[-8:]}")
    with pytest.raises(ValueError, match="boom"), windlass.start_run() as failing:
        raise ValueError("boom")
    assert windlass.get_run(failing.id).status is windlass.RunStatus.FAILED
    with pytest.raises(KeyboardInterrupt), windlass.start_run() as killed:
        raise KeyboardInterrupt
    assert windlass.get_run(killed.id).status is windlass.RunStatus.KILLED


def test_non_finite_metrics_round_trip(sdk: str) -> None:
    windlass.set_project(f"nan-{new_id()[-8:]}")
    with windlass.start_run() as run:
        for step, value in enumerate([math.nan, math.inf, -math.inf, 1.5]):
            windlass.log_metric("x", value, step=step)
    values = [p.value for p in windlass.get_metric_history(run.id, "x")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]


def test_bad_input_is_refused_before_buffering(sdk: str) -> None:
    windlass.set_project(f"bad-{new_id()[-8:]}")
    with windlass.start_run():
        with pytest.raises(windlass.InvalidInput, match="metric 'loss' value"):
            windlass.log_metric("loss", "high")
        with pytest.raises(windlass.InvalidInput, match="metric key"):
            windlass.log_metric("bad\nkey", 1.0)
        with pytest.raises(windlass.InvalidInput, match="step"):
            windlass.log_metric("loss", 1.0, step="one")  # type: ignore[arg-type]
        windlass.log_param("lr", 0.1)
        with pytest.raises(windlass.ParamConflict):
            windlass.log_param("lr", 0.2)
        with pytest.raises(windlass.UnsafePath):
            windlass.log_artifact(__file__, artifact_path="../outside")
    with pytest.raises(windlass.InvalidState, match="no active run"):
        windlass.log_param("x", 1)
    with pytest.raises(windlass.InvalidInput, match="project name"):
        windlass.set_project("../etc")


def test_delete_and_restore(sdk: str) -> None:
    project = f"del-{new_id()[-8:]}"
    windlass.set_project(project)
    with windlass.start_run() as run:
        pass
    windlass.delete_run(run.id)
    assert windlass.search_runs(project=project, output_format="list") == []
    deleted = windlass.search_runs(project=project, view="deleted", output_format="list")
    assert [r.id for r in deleted] == [run.id]  # type: ignore[union-attr]
    windlass.restore_run(run.id)
    assert len(windlass.search_runs(project=project, output_format="list")) == 1


def test_folder_artifacts_and_dedup(sdk: str, tmp_path: Path) -> None:
    windlass.set_project(f"art-{new_id()[-8:]}")
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 100_000)
    (folder / "sub" / "config.json").write_text('{"a": 1}')
    with windlass.start_run() as first:
        entries = windlass.log_artifact(folder)
    with windlass.start_run() as second:
        again = windlass.log_artifact(folder, artifact_path="copy")
    assert sorted(e.path for e in entries) == ["model/sub/config.json", "model/weights.bin"]
    assert sorted(e.digest for e in entries) == sorted(e.digest for e in again)
    out = windlass.download_artifacts(second.id, "copy/model", tmp_path / "out")
    assert (out / "weights.bin").read_bytes() == b"w" * 100_000
    assert [f.path for f in windlass.list_artifacts(first.id)] == ["model"]


def test_crashed_process_is_marked_failed_on_next_start(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'crash.db'}"
    script = (
        "import os, windlass\n"
        f"windlass.set_tracking_uri({db!r})\n"
        "run = windlass.start_run(name='doomed')\n"
        "print(run.id, flush=True)\n"
        "os._exit(9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 9
    run_id = done.stdout.strip()
    windlass.set_tracking_uri(db)
    try:
        assert windlass.get_run(run_id).status is windlass.RunStatus.RUNNING
        with windlass.start_run(name="next"):
            pass
        assert windlass.get_run(run_id).status is windlass.RunStatus.FAILED
    finally:
        windlass.set_tracking_uri(None)


def test_git_commit_and_dirty_flag_are_recorded(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@e.st", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    script = repo / "train.py"
    script.write_text(
        "import windlass\n"
        f"windlass.set_tracking_uri('sqlite:///{tmp_path / 'git.db'}')\n"
        "with windlass.start_run() as run:\n"
        "    print(run.id)\n"
    )
    subprocess.run([*git, "add", "train.py"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    run_id = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    ).stdout.strip()
    windlass.set_tracking_uri(f"sqlite:///{tmp_path / 'git.db'}")
    try:
        source = windlass.get_run(run_id).source
        assert source.git_commit == commit and source.git_dirty is False
        assert "train.py" in source.command
    finally:
        windlass.set_tracking_uri(None)


def test_import_installs_no_process_hooks_and_a_run_installs_them(tmp_path: Path) -> None:
    """``import windlass`` leaves sys.excepthook and atexit alone; the first run sets both."""
    db = f"sqlite:///{tmp_path / 'hooks.db'}"
    code = (
        "import atexit, sys\n"
        "ours, register = [], atexit.register\n"  # stdlib modules (logging) register too
        "def spy(func, *args, **kwargs):\n"
        "    if getattr(func, '__module__', '').startswith('windlass'): ours.append(func)\n"
        "    return register(func, *args, **kwargs)\n"
        "atexit.register = spy\n"
        "hook = sys.excepthook\n"
        "import windlass\n"
        "assert sys.excepthook is hook, 'import windlass replaced sys.excepthook'\n"
        "assert not ours, f'import windlass registered atexit hooks: {ours}'\n"
        f"windlass.set_tracking_uri({db!r})\n"
        "run = windlass.start_run('crashes')\n"
        "assert sys.excepthook is not hook and ours, 'a run needs both hooks'\n"
        "print(run.id, flush=True)\n"
        "raise SystemError('boom')\n"
    )
    done = run_fresh(code, cwd=tmp_path, check=False)
    assert done.returncode == 1 and "SystemError: boom" in done.stderr, done.stderr
    run_id = done.stdout.split()[0]
    windlass.set_tracking_uri(db)
    assert windlass.get_run(run_id).status is windlass.RunStatus.FAILED
