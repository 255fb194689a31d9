"""The CLI: tables, --json, exit codes, and the demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import windlass
from openai_server import OpenAIServer
from windlass.cli.main import build_app

runner = CliRunner()


@pytest.fixture
def tracked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two runs with params, metrics and an artifact in a direct SQLite store."""
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "cli-artifacts"))
    windlass.set_tracking_uri(uri)
    windlass.set_project("cli")
    (tmp_path / "notes.txt").write_text("hello")
    ids = {}
    for name, loss in (("a", 0.3), ("b", 0.1)):
        with windlass.start_run(name=name) as run:
            windlass.log_params({"depth": 3})
            windlass.log_metric("loss", loss)
            windlass.log_artifact(tmp_path / "notes.txt", artifact_path="docs")
        ids[name] = run.id
    windlass.set_tracking_uri(None)
    return {"uri": uri, **ids}


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.output


def test_projects_and_runs(tracked: dict[str, str]) -> None:
    uri = tracked["uri"]
    code, out = invoke("projects", "ls", "--uri", uri, "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)["items"]] == ["cli"]
    code, out = invoke("runs", "ls", "--uri", uri, "-p", "cli", "-o", "metrics.loss ASC", "--json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)["items"]] == ["b", "a"]
    code, out = invoke("runs", "ls", "--uri", uri, "-p", "cli", "-f", "metrics.loss < 0.2")
    shown = re.findall(r"\b[0-9a-f]{8,32}\b", out)
    assert code == 0 and len(shown) == 1 and tracked["b"].startswith(shown[0])
    code, out = invoke("runs", "show", tracked["a"], "--uri", uri)
    assert code == 0 and "depth" in out and "finished" in out
    code, out = invoke("runs", "compare", tracked["a"], tracked["b"], "--uri", uri)
    assert code == 0 and "metrics.loss" in out


def test_delete_restore(tracked: dict[str, str]) -> None:
    uri = tracked["uri"]
    assert invoke("runs", "delete", tracked["a"], "--uri", uri)[0] == 0
    code, out = invoke("runs", "ls", "--uri", uri, "-p", "cli", "--json")
    assert code == 0 and [r["name"] for r in json.loads(out)["items"]] == ["b"]
    assert invoke("runs", "restore", tracked["a"], "--uri", uri)[0] == 0
    code, out = invoke("runs", "ls", "--uri", uri, "-p", "cli", "--json")
    assert code == 0 and len(json.loads(out)["items"]) == 2


def test_artifacts(tracked: dict[str, str], tmp_path: Path) -> None:
    uri = tracked["uri"]
    code, out = invoke("artifacts", "ls", tracked["a"], "docs", "--uri", uri, "--json")
    assert code == 0 and [f["path"] for f in json.loads(out)["items"]] == ["docs/notes.txt"]
    code, out = invoke(
        "artifacts",
        "get",
        f"runs:/{tracked['a']}/docs",
        "--uri",
        uri,
        "--dest",
        str(tmp_path / "got"),
    )
    assert code == 0 and (tmp_path / "got" / "docs" / "notes.txt").read_text() == "hello"


def test_errors_have_messages_and_exit_codes(tracked: dict[str, str]) -> None:
    uri = tracked["uri"]
    code, out = invoke("runs", "show", "0" * 32, "--uri", uri)
    assert code == 3 and "RUN_NOT_FOUND" in out and "Traceback" not in out
    code, out = invoke("runs", "ls", "--uri", uri, "-p", "cli", "-f", "metrics.loss <")
    assert code == 2 and "position 14" in out
    code, out = invoke("runs", "ls", "--uri", "ftp://nowhere")
    assert code == 2 and "INVALID_URI" in out
    code, out = invoke("runs", "ls", "--uri", "http://127.0.0.1:9", "-p", "cli")
    assert code == 4 and "BACKEND_UNAVAILABLE" in out


def test_demo_walkthrough(tmp_path: Path) -> None:
    with OpenAIServer(api_key="sk-demo") as llm_server:
        env = {
            **os.environ,
            "WINDLASS_HOME": str(tmp_path / "demo-home"),
            "WINDLASS_LLM_BASE_URL": llm_server.base_url,
            "WINDLASS_LLM_API_KEY": "sk-demo",
        }
        done = subprocess.run(
            [sys.executable, "-m", "windlass", "demo", "--no-serve", "--port", "0"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "alias production -> 2" in done.stdout and "the model answered" in done.stdout
    assert "best runs by roc_auc" in done.stdout and "server running at" in done.stdout
    windlass.set_tracking_uri(f"sqlite:///{tmp_path / 'demo-home' / 'windlass.db'}")
    try:
        runs = windlass.search_runs(
            project="demo-churn", filter="metrics.roc_auc > 0.5", output_format="list"
        )
        assert len(runs) == 6
        windlass.set_project("demo-churn")
        champion = windlass.get_model_version("churn", alias="champion")
        best = max(runs, key=lambda r: r.metrics["roc_auc"].value)
        assert champion.run_id == best.id
        assert "registered" in done.stdout and "alias champion" in done.stdout
        assert "200 requests by variant" in done.stdout
        assert 'variant="challenger"' in done.stdout and 'variant="champion"' in done.stdout
        deployment = windlass.get_deployment("churn-prod")
        assert [(v.name, v.weight) for v in deployment.variants] == [
            ("champion", 90.0),
            ("challenger", 10.0),
        ]
        lineage = windlass.get_model_lineage("churn", champion.version)
        assert {i.name for i in lineage.inputs} == {"churn-train", "churn-test"}
        assert windlass.get_registered_model("churn").card.startswith("# churn")
        windlass.set_project("demo-support")
        assert windlass.prompts.load("support-answer@production").version == 2
        (summary,) = windlass.search_traces().items
        assert summary.session_id == "demo-session" and summary.span_count == 2
    finally:
        windlass.set_tracking_uri(None)
    # What the demo suggests works from the default project: the URI names demo-churn.
    assert "windlass serve models://demo-churn/churn@champion" in done.stdout
    assert "windlass ui" in done.stdout  # --no-serve: the UI comes from the embedded store
    serve = subprocess.run(
        [
            sys.executable,
            "-m",
            "windlass",
            "serve",
            "models://demo-churn/churn@champion",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert serve.returncode == 0 and "models://demo-churn/churn/" in serve.stdout, serve.stderr


def test_demo_ends_on_the_runs_page_of_its_project() -> None:
    """With --serve the demo's last line names the UI page of its runs (a real UI route)."""
    from windlass.cli.commands.demo import ui_url
    from windlass.server.ui import runs

    assert ui_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000/projects/demo-churn/runs"
    assert "/projects/{project}/runs" in {getattr(r, "path", "") for r in runs.router.routes}
