"""``windlass deployments``: create, set-weights, promote, rollback, status, history, ls, delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import windlass
from windlass.cli.commands.deployments import parse_variant, parse_variants
from windlass.cli.main import build_app
from windlass.exceptions import InvalidInput

runner = CliRunner()


@pytest.fixture
def models_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Versions 1 and 2 of ``churn`` (champion: 1) in a direct SQLite store; its URI."""
    uri = f"sqlite:///{tmp_path / 'deploy.db'}"
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "deploy-artifacts"))
    monkeypatch.setenv("WINDLASS_PROJECT", "cli-deployments")
    windlass.set_tracking_uri(uri)
    frame = pd.DataFrame({"x": np.arange(20.0)})
    label = (frame.x > 9).astype(int)
    for c in (1.0, 0.1):
        with windlass.start_run():
            windlass.log_model(
                LogisticRegression(C=c).fit(frame, label),
                name="model",
                registered_model_name="churn",
            )
    windlass.set_alias("churn", "champion", 1)
    windlass.set_tracking_uri(None)
    return uri


@pytest.fixture(autouse=True)
def _forget_uri() -> Iterator[None]:
    """``--uri`` points the SDK at a store of this test: do not leave it to the next one."""
    yield
    windlass.set_tracking_uri(None)


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args), input=input)
    return result.exit_code, result.output


def dep(uri: str, *args: str) -> tuple[int, str]:
    return invoke("deployments", *args, "--uri", uri)


def test_parse_variants() -> None:
    assert parse_variant("champion=models:/churn@champion:90") == (
        "champion",
        "models:/churn@champion",
        90.0,
    )
    assert parse_variant("c=models:/churn/3:12.5%") == ("c", "models:/churn/3", 12.5)
    assert parse_variant("c=models:/churn/3") == ("c", "models:/churn/3", None)
    assert parse_variant("r=runs:/" + "a" * 32 + "/model") == (
        "r",
        "runs:/" + "a" * 32 + "/model",
        None,
    )
    for bad in ("champion", "=models:/x/1", "a="):
        with pytest.raises(InvalidInput, match="NAME=MODEL_URI"):
            parse_variant(bad)
    with pytest.raises(InvalidInput, match="every variant or to none"):
        parse_variants(["a=models:/x/1:50", "b=models:/x/2"])
    assert [v["weight"] for v in parse_variants(["a=models:/x/1", "b=models:/x/2"])] == [
        None,
        None,
    ]  # not given: the deployments domain splits traffic equally


def test_create_status_and_ls(models_uri: str) -> None:
    code, out = dep(
        models_uri,
        "create",
        "churn-prod",
        "--variant",
        "champion=models:/churn@champion:90",
        "--variant",
        "challenger=models:/churn/2:10",
        "--shadow",
        "shadow=models:/churn/2",
        "-d",
        "churn in production",
    )
    assert code == 0, out
    assert "churn-prod revision 1 (create)" in out and "champion 90%" in out
    code, out = dep(models_uri, "status", "churn-prod")
    assert code == 0, out
    for text in (
        "revision 1",
        "champion",
        "90%",
        "challenger",
        "10%",
        "shadow",
        "copy",
        "churn in production",
        "create",
    ):
        assert text in out
    code, out = dep(models_uri, "status", "churn-prod", "--json")
    body = json.loads(out)
    assert [v["weight"] for v in body["variants"]] == [90.0, 10.0]
    assert body["shadow"]["name"] == "shadow" and body["history"][0]["action"] == "create"
    code, out = dep(models_uri, "ls", "--json")
    assert code == 0 and [d["name"] for d in json.loads(out)["items"]] == ["churn-prod"]
    code, out = dep(models_uri, "ls")
    assert code == 0 and "churn-prod" in out and "shadow" in out


def test_weights_promote_rollback_and_history(models_uri: str) -> None:
    assert (
        dep(
            models_uri,
            "create",
            "ab",
            "--variant",
            "a=models:/churn/1",
            "--variant",
            "b=models:/churn/2",
        )[0]
        == 0
    )
    code, out = dep(models_uri, "set-weights", "ab", "a=90", "b=10")
    assert code == 0 and "revision 2" in out and "a 90%" in out, out
    code, out = dep(models_uri, "set-weights", "ab", "b=30", "--json")
    assert code == 0 and [v["weight"] for v in json.loads(out)["variants"]] == [90.0, 30.0]
    code, out = dep(models_uri, "promote", "ab", "b")
    assert code == 0 and "a 0%" in out and "b 100%" in out, out
    code, out = dep(models_uri, "rollback", "ab")
    assert code == 0 and "revision 5 (rollback)" in out and "a 75%" in out, out
    code, out = dep(models_uri, "rollback", "ab", "--to", "2", "--json")
    assert code == 0 and json.loads(out)["revision"] == 6
    code, out = dep(models_uri, "history", "ab", "--json")
    assert [(e["revision"], e["action"]) for e in json.loads(out)["items"]] == [
        (1, "create"),
        (2, "set_weights"),
        (3, "set_weights"),
        (4, "promote"),
        (5, "rollback"),
        (6, "rollback"),
    ]
    code, out = dep(models_uri, "status", "ab", "-n", "2", "--json")
    assert [e["revision"] for e in json.loads(out)["history"]] == [5, 6]
    code, out = dep(models_uri, "set-shadow", "ab", "s=models:/churn@champion")
    assert code == 0 and "shadow s" in out, out
    code, out = dep(models_uri, "set-variants", "ab", "--variant", "only=models:/churn/2")
    assert code == 0 and "only 100%" in out and "shadow s" in out, out
    code, out = dep(models_uri, "set-shadow", "ab", "--remove", "--json")
    assert code == 0 and json.loads(out)["shadow"] is None


def test_delete_asks_first(models_uri: str) -> None:
    assert dep(models_uri, "create", "gone", "--variant", "a=models:/churn/1")[0] == 0
    code, _out = invoke("deployments", "delete", "gone", "--uri", models_uri, input="n\n")
    assert code == 1
    assert dep(models_uri, "status", "gone")[0] == 0
    code, out = dep(models_uri, "delete", "gone", "--yes")
    assert code == 0 and "deleted deployment gone" in out
    code, out = dep(models_uri, "status", "gone")
    assert code == 3 and "DEPLOYMENT_NOT_FOUND" in out


def test_errors_are_one_line_with_exit_codes(models_uri: str) -> None:
    code, out = dep(models_uri, "create", "bad", "--variant", "a=models:/chrun/1:1")
    assert code == 3 and "MODEL_NOT_FOUND" in out and "variant 'a'" in out
    assert "Traceback" not in out
    code, out = dep(models_uri, "create", "bad", "--variant", "a=models:/churn/7")
    assert code == 3 and "MODEL_VERSION_NOT_FOUND" in out
    code, out = dep(models_uri, "create", "bad", "--variant", "nonsense")
    assert code == 2 and "NAME=MODEL_URI" in out
    code, out = dep(models_uri, "create", "bad", "--variant", "a=datasets:/d@v1")
    assert code == 2 and "INVALID_URI" in out
    code, out = dep(models_uri, "create", "bad", "--variant", "a=models:/churn/1:-5")
    assert code == 2 and "weight" in out
    assert dep(models_uri, "create", "ok", "--variant", "a=models:/churn/1")[0] == 0
    code, out = dep(models_uri, "create", "ok", "--variant", "a=models:/churn/1")
    assert code == 5 and "ALREADY_EXISTS" in out
    code, out = dep(models_uri, "set-weights", "ok", "z=5")
    assert code == 2 and "'z'" in out
    code, out = dep(models_uri, "set-weights", "ok", "a")
    assert code == 2 and "VARIANT=WEIGHT" in out
    code, out = dep(models_uri, "set-weights", "ok", "a=lots")
    assert code == 2 and "not a number" in out
    code, out = dep(models_uri, "rollback", "ok")
    assert code == 5 and "INVALID_STATE" in out and "nothing to roll back" in out
    code, out = dep(models_uri, "promote", "ok", "z")
    assert code == 2 and "no variant 'z'" in out
    code, out = dep(models_uri, "set-shadow", "ok")
    assert code == 2 and "--remove" in out
    code, out = dep(models_uri, "set-weights", "ok", "a=3", "--expected-revision", "5")
    assert code == 5 and "CONFLICT" in out
    code, out = dep(models_uri, "status", "nobody")
    assert code == 3 and "DEPLOYMENT_NOT_FOUND" in out
