"""The CLI as a whole: shared options, one --json shape, exit codes, ids, tables, URIs.

The store of these tests holds everything in project ``p2`` while the current project is
the default one, as after ``windlass demo``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import windlass
from windlass.cli.errors import EXIT_CODES, exit_code
from windlass.cli.main import build_app
from windlass.client import default_client
from windlass.exceptions import (
    AlreadyExists,
    BackendUnavailable,
    InUse,
    InvalidFilter,
    ModelNotFound,
    PermissionDenied,
    Unauthenticated,
    UntrustedModel,
    WindlassError,
)

runner = CliRunner()

#: Listing commands: each prints ``{"items": [...], "next_page_token": ...}`` with --json.
LISTINGS = {"ls", "versions", "history", "rollup", "compare"}
#: Show commands: each prints the object with --json.
SHOWS = {"show", "status", "stats"}
#: Commands that do not talk to a metadata store through --uri, and why.
NO_STORE = {
    ("server",): "it is the server: --store names its store",
    ("demo",): "it runs its own embedded store and server",
    ("build", "k8s"): "it writes manifests; the served deployment is read at serve time",
}
#: Store commands without --project, and why.
NO_PROJECT = {
    ("projects", "ls"): "lists every project",
    ("runs", "show"): "run ids are global",
    ("runs", "compare"): "run ids are global",
    ("runs", "delete"): "run ids are global",
    ("runs", "restore"): "run ids are global",
    ("users", "create"): "users are server-wide",
    ("users", "ls"): "users are server-wide",
    ("users", "disable"): "users are server-wide",
    ("users", "enable"): "users are server-wide",
    ("tokens", "ls"): "a user's tokens span projects",
    ("tokens", "revoke"): "token ids are global",
    ("whoami",): "it shows the caller's roles in every project",
    ("login",): "a sign-in is server-wide: the token's roles come from the provider's claims",
    ("ui",): "it serves every project of the store; the browser picks one",
}


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    yield from walk(typer.main.get_command(build_app()), ())


def _options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", ())}


def test_every_command_has_the_shared_options() -> None:
    seen = []
    for path, command in _commands():
        options = _options(command)
        seen.append(path)
        if path[-1] in LISTINGS | SHOWS:
            assert "--json" in options, f"{' '.join(path)} lists or shows without --json"
        if path not in NO_STORE:
            assert "--uri" in options, f"{' '.join(path)} has no --uri"
            if path not in NO_PROJECT:
                assert "--project" in options, f"{' '.join(path)} has no --project"
    assert ("serve",) in seen and ("models", "ls") in seen and len(seen) > 40


def test_no_help_shows_a_type_after_a_flag() -> None:
    app = build_app()
    for path in [(), *(p for p, _c in _commands())]:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "<bool>" not in result.output and "BOOLEAN" not in result.output, path


def test_exit_codes_follow_one_table() -> None:
    assert exit_code(InvalidFilter("x")) == 2
    assert exit_code(ModelNotFound("x")) == 3
    assert exit_code(BackendUnavailable("x")) == 4
    assert exit_code(AlreadyExists("x")) == 5 and exit_code(InUse("x")) == 5
    assert exit_code(UntrustedModel("x")) == 6
    assert exit_code(Unauthenticated("x")) == 7 and exit_code(PermissionDenied("x")) == 7
    assert exit_code(WindlassError("x")) == 1
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for _cls, code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", readme, re.M), f"exit code {code} not in README"


# -- a store with everything in project p2 ------------------------------------------------
@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Runs, models ``m`` (alias ``a``) and ``pickled``, deployment ``d``, prompt ``greet``
    (alias ``prod``) and a trace, all in project ``p2``; the current project is ``default``.
    """
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "artifacts"))
    windlass.set_tracking_uri(uri)
    frame = pd.DataFrame({"x": np.arange(20.0)})
    label = (frame.x > 9).astype(int)
    run_ids = []
    for i in range(3):
        with windlass.start_run(
            name=f"a-rather-long-run-name-number-{i}-" + "x" * 40, project="p2"
        ) as run:
            windlass.log_params({"depth": i, "notes": "a long parameter value " * 5})
            windlass.log_metric("loss", 0.1 * i)
            if i == 0:
                windlass.log_model(
                    LogisticRegression().fit(frame, label),
                    name="model",
                    input_example=frame[:3],
                    registered_model_name="m",
                )
            if i == 1:
                windlass.log_model(
                    LogisticRegression().fit(frame, label),
                    name="model",
                    serialization="pickle",
                    registered_model_name="pickled",
                )
        run_ids.append(run.id)
    windlass.set_alias("m", "a", 1, project="p2")
    windlass.set_alias("pickled", "a", 1, project="p2")
    from windlass.serving import fluent as deployments

    deployments.create_deployment(
        "d", [{"name": "one", "model_uri": "models:/m@a", "weight": 1.0}], project="p2"
    )
    windlass.prompts.register("greet", "hi {{ x }}", project="p2")
    windlass.prompts.set_alias("greet", "prod", 1, project="p2")
    windlass.set_project("p2")
    with windlass.span("agent-with-a-long-name-" + "y" * 60, kind="agent") as root:
        pass
    assert windlass.flush_traces()
    windlass.set_tracking_uri(None)
    default_client().project = None
    return {"uri": uri, "runs": run_ids, "trace": root.trace_id, "tmp": tmp_path}


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["projects", "ls"],
        ["runs", "ls", "-p", "p2"],
        ["runs", "compare", "RUN0", "RUN1"],
        ["artifacts", "ls", "RUN0"],
        ["models", "ls", "-p", "p2"],
        ["models", "versions", "m", "-p", "p2"],
        ["models", "alias", "m", "-p", "p2"],
        ["deployments", "ls", "-p", "p2"],
        ["deployments", "history", "d", "-p", "p2"],
        ["traces", "ls", "-p", "p2"],
        ["traces", "rollup", "day", "-p", "p2"],
        ["prompts", "ls", "-p", "p2"],
        ["prompts", "versions", "greet", "-p", "p2"],
        ["prompts", "alias", "greet", "--history", "-p", "p2"],
    ],
)
def test_json_listings_have_one_shape(store: dict[str, Any], args: list[str]) -> None:
    args = [store["runs"][int(a[-1])] if a.startswith("RUN") else a for a in args]
    code, out = invoke(*args, "--uri", store["uri"], "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert list(listed) == ["items", "next_page_token"] and listed["items"], out


# -- URIs naming their project -----------------------------------------------------------
def test_serve_finds_a_model_of_another_project(store: dict[str, Any]) -> None:
    uri = store["uri"]
    code, out = invoke("serve", "models:/m@a", "--uri", uri, "--dry-run")
    assert code == 3 and "MODEL_NOT_FOUND" in out  # the current project has no model m
    code, out = invoke("serve", "models:/m@a", "--project", "p2", "--uri", uri, "--dry-run")
    assert code == 0 and "models://p2/m/1" in out and "not serving" in out, out
    code, out = invoke("serve", "models://p2/m@a", "--uri", uri, "--dry-run")
    assert code == 0 and "models://p2/m/1" in out, out
    code, out = invoke("serve", "deployments://p2/d", "--uri", uri, "--dry-run")
    assert code == 0 and "one: models://p2/m/1" in out, out
    code, out = invoke("serve", "models://p2/m@a", "-p", "p3", "--uri", uri, "--dry-run")
    assert code == 2 and "names project 'p2' but project 'p3'" in " ".join(out.split())


def test_the_sdk_honours_a_uri_project(store: dict[str, Any]) -> None:
    windlass.set_tracking_uri(store["uri"])
    model = windlass.load_model("models://p2/m@a")
    assert model.predict(pd.DataFrame({"x": [0.0, 19.0]})).tolist() == [0, 1]
    assert windlass.prompts.load("prompts://p2/greet@prod").render(x="you") == "hi you"
    with pytest.raises(ModelNotFound):
        windlass.load_model("models:/m@a")
    from windlass.exceptions import InvalidUri, RunNotFound

    with pytest.raises(InvalidUri, match="names project 'p2'"):
        windlass.load_model("models://p2/m@a", project="default")
    run_model = f"runs://p2/{store['runs'][0]}/model"
    assert windlass.load_model(run_model).predict(pd.DataFrame({"x": [19.0]})).tolist() == [1]
    windlass.set_project("other")
    with pytest.raises(RunNotFound, match="not in project 'other'"):
        windlass.load_model(f"runs://other/{store['runs'][0]}/model")


def test_cli_commands_taking_uris_honour_their_project(store: dict[str, Any]) -> None:
    uri, dest = store["uri"], store["tmp"] / "dl"
    code, out = invoke("models", "download", "models://p2/m@a", str(dest), "--uri", uri)
    assert code == 0 and (dest / "windlass-model.yaml").exists(), out
    code, out = invoke("prompts", "show", "prompts://p2/greet@prod", "--uri", uri, "--json")
    assert code == 0 and json.loads(out)["version"] == 1
    code, out = invoke("prompts", "render", "greet@prod", "-p", "p2", "--var", "x=me", "--uri", uri)
    assert code == 0 and "hi me" in out
    code, out = invoke(
        "prompts", "pull", "prompts://p2/greet", "-o", str(store["tmp"] / "pr"), "--uri", uri
    )
    assert code == 0 and (store["tmp"] / "pr" / "greet.yaml").exists()


def test_an_untrusted_model_error_names_the_cli_flag(store: dict[str, Any]) -> None:
    code, out = invoke("serve", "models://p2/pickled@a", "--uri", store["uri"], "--dry-run")
    text = " ".join(out.split())
    assert code == 6 and "UNTRUSTED_MODEL" in text and "--trust" in text, out
    assert "trust=True" not in text
    code, out = invoke(
        "serve", "models://p2/pickled@a", "--trust", "--uri", store["uri"], "--dry-run"
    )
    assert code == 0, out


# -- ids by prefix -------------------------------------------------------------------------
def test_ids_are_taken_by_unique_prefix(store: dict[str, Any]) -> None:
    uri, runs = store["uri"], store["runs"]
    for run_id in runs:
        code, out = invoke("runs", "show", run_id[:16], "--uri", uri, "--json")
        assert code == 0 and json.loads(out)["id"] == run_id
    shared = runs[0][:4]  # ids start with the time: runs of one minute share 8+ characters
    assert all(run_id.startswith(shared) for run_id in runs)
    code, out = invoke("runs", "show", shared, "--uri", uri)
    assert code == 2 and "ambiguous" in out and runs[0] in " ".join(out.split())
    code, out = invoke("runs", "show", "ffff" if shared[0] != "f" else "0000", "--uri", uri)
    assert code == 3 and "RUN_NOT_FOUND" in out
    code, out = invoke("runs", "show", "xyz!", "--uri", uri)
    assert code == 2 and "unique prefix" in " ".join(out.split())
    code, out = invoke("artifacts", "ls", runs[0][:20], "--uri", uri, "--json")
    assert code == 0 and json.loads(out)["items"]
    code, out = invoke("traces", "show", store["trace"][:10], "-p", "p2", "--uri", uri)
    assert code == 0 and "agent-with-a-long-name" in out


# -- read-only commands and missing stores -------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["projects", "ls"],
        ["runs", "ls"],
        ["runs", "show", "0" * 32],
        ["models", "ls"],
        ["models", "show", "m"],
        ["traces", "ls"],
        ["traces", "show", "0" * 32],
        ["prompts", "ls"],
        ["prompts", "show", "greet"],
        ["deployments", "ls"],
        ["deployments", "status", "d"],
        ["artifacts", "ls", "0" * 32],
        ["serve", "models:/m@a", "--dry-run"],
    ],
)
def test_read_only_commands_never_create_a_store(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "nowhere" / "store.db"
    code, out = invoke(*args, "--uri", f"sqlite:///{missing}")
    assert code == 3 and "no windlass store at" in out and "does not exist" in out, out
    assert not missing.parent.exists()


# -- tables at 80 columns ------------------------------------------------------------------
def _cli(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "windlass", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tables_fit_80_columns_and_shown_ids_resolve(store: dict[str, Any]) -> None:
    uri = store["uri"]
    out = _cli("runs", "ls", "-p", "p2", "--uri", uri)
    assert out and all(len(line) <= 80 for line in out.splitlines()), out
    shown = re.findall(r"^\W*([0-9a-f]{8,32})\b", out, re.M)
    assert len(shown) == 3 and all(len(s) < 32 for s in shown), out
    assert "…" in out  # the long names and values are cut, not wrapped
    for prefix in shown:
        run = json.loads(_cli("runs", "show", prefix, "--uri", uri, "--json"))
        assert run["id"].startswith(prefix) and run["id"] in store["runs"]
    out = _cli("traces", "ls", "-p", "p2", "--uri", uri)
    assert all(len(line) <= 80 for line in out.splitlines()), out
    (trace_prefix,) = re.findall(r"^\W*([0-9a-f]{8,32})\b", out, re.M)
    assert store["trace"].startswith(trace_prefix)
    for args in (
        ["models", "versions", "m", "-p", "p2"],
        ["runs", "show", store["runs"][0]],
        ["runs", "compare", *store["runs"]],
        ["deployments", "ls", "-p", "p2"],
    ):
        out = _cli(*args, "--uri", uri)
        assert all(len(line) <= 80 for line in out.splitlines()), (args, out)


def test_prefixes_resolve_through_a_server(server: Any) -> None:
    windlass.set_tracking_uri(server.url)
    runs = []
    for _ in range(2):
        with windlass.start_run(project="prefixes-over-rest") as run:
            windlass.log_metric("loss", 1.0)
        runs.append(run.id)
    windlass.set_tracking_uri(None)
    for run_id in runs:
        code, out = invoke("runs", "show", run_id[:20], "--uri", server.url, "--json")
        assert code == 0 and json.loads(out)["id"] == run_id, out
    code, out = invoke("runs", "ls", "-p", "prefixes-over-rest", "--uri", server.url)
    shown = re.findall(r"^\W*([0-9a-f]{8,32})\b", out, re.M)
    assert sorted(
        run_id for prefix in shown for run_id in runs if run_id.startswith(prefix)
    ) == sorted(runs)


def test_docker_builds_pin_a_uri_in_its_project(store: dict[str, Any]) -> None:
    from windlass.serving.packaging.docker import image_tag, resolve_model_uri

    windlass.set_tracking_uri(store["uri"])
    assert resolve_model_uri("models://p2/m@a", None) == "models://p2/m/1"
    assert resolve_model_uri("models:/m@a", "p2") == "models:/m/1"
    assert image_tag("models://p2/m@a") == "windlass-m:a"


def test_kubernetes_manifests_serve_the_project_a_uri_names() -> None:
    from windlass.exceptions import InvalidUri
    from windlass.serving.packaging.kubernetes import KubernetesSpec

    spec = KubernetesSpec(deployment="deployments://p2/churn-prod").checked()
    assert (spec.deployment, spec.project) == ("churn-prod", "p2")
    assert KubernetesSpec(deployment="churn-prod", project="p3").checked().project == "p3"
    with pytest.raises(InvalidUri, match="names project 'p2'"):
        KubernetesSpec(deployment="deployments://p2/churn-prod", project="p3").checked()


def test_artifacts_check_the_project_they_are_given(store: dict[str, Any]) -> None:
    uri, run_id = store["uri"], store["runs"][0]
    code, out = invoke("artifacts", "ls", f"runs://p2/{run_id}/model", "--uri", uri, "--json")
    assert code == 0 and json.loads(out)["items"]
    code, out = invoke("artifacts", "ls", run_id[:12], "-p", "p2", "--uri", uri, "--json")
    assert code == 0 and json.loads(out)["items"]
    windlass.set_tracking_uri(uri)
    windlass.set_project("other")  # the project exists, the run is not in it
    windlass.set_tracking_uri(None)
    code, out = invoke("artifacts", "ls", run_id, "-p", "other", "--uri", uri)
    assert code == 3 and "not in project 'other'" in out
    code, out = invoke("artifacts", "get", f"runs://p2/{run_id}/model", "-p", "other", "--uri", uri)
    assert code == 2 and "names project 'p2'" in " ".join(out.split())
