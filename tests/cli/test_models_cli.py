"""``windlass models``: ls, show, versions, alias, card, delete, download."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import windlass
from windlass.cli.main import build_app

runner = CliRunner()


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Two versions of ``churn`` in a direct SQLite store; returns its URI."""
    uri = f"sqlite:///{tmp_path / 'models.db'}"
    monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "models-artifacts"))
    monkeypatch.setenv("WINDLASS_PROJECT", "cli-models")
    windlass.set_tracking_uri(uri)
    frame = pd.DataFrame({"x": np.arange(20.0)})
    label = (frame.x > 9).astype(int)
    for c in (1.0, 0.1):
        with windlass.start_run():
            windlass.log_model(
                LogisticRegression(C=c).fit(frame, label),
                name="model",
                input_example=frame[:3],
                registered_model_name="churn",
            )
    windlass.set_tracking_uri(None)
    return uri


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args), input=input)
    return result.exit_code, result.output


def test_ls_show_versions(registry: str) -> None:
    code, out = invoke("models", "ls", "--uri", registry, "--json")
    assert code == 0 and [m["name"] for m in json.loads(out)["items"]] == ["churn"]
    code, out = invoke("models", "show", "churn", "--uri", registry)
    assert code == 0 and "latest version" in out
    code, out = invoke("models", "versions", "churn", "--uri", registry, "--json")
    assert code == 0 and [v["version"] for v in json.loads(out)["items"]] == [2, 1]
    assert {v["registered_auth"] for v in json.loads(out)["items"]} == {"local"}  # auth off
    code, out = invoke("models", "versions", "churn", "--uri", registry)
    assert code == 0 and "sklearn" in out and "local" in out


def test_alias_set_move_delete_and_history(registry: str) -> None:
    assert invoke("models", "alias", "churn", "champion", "1", "--uri", registry)[0] == 0
    code, out = invoke("models", "alias", "churn", "champion", "2", "--uri", registry)
    assert code == 0 and "1 → 2" in out
    code, out = invoke("models", "alias", "churn", "--uri", registry, "--json")
    assert [(e["from_version"], e["to_version"]) for e in json.loads(out)["items"]] == [
        (None, 1),
        (1, 2),
    ]
    code, out = invoke("models", "delete", "churn", "--version", "2", "--yes", "--uri", registry)
    assert code == 5 and "INVALID_STATE" in out and "champion" in out
    assert invoke("models", "alias", "churn", "champion", "--delete", "--uri", registry)[0] == 0
    code, out = invoke("models", "delete", "churn", "--version", "2", "--yes", "--uri", registry)
    assert code == 0 and "deleted version 2 of churn" in out


def test_card_and_download(registry: str, tmp_path: Path) -> None:
    card = tmp_path / "card.md"
    card.write_text("# Churn model\n\nTrained on **synthetic** data.\n")
    assert invoke("models", "card", "churn", "--set", str(card), "--uri", registry)[0] == 0
    code, out = invoke("models", "card", "churn", "--uri", registry)
    assert code == 0 and "Churn model" in out and "synthetic" in out
    code, out = invoke(
        "models", "download", "models:/churn/1", str(tmp_path / "dl"), "--uri", registry
    )
    assert code == 0 and (tmp_path / "dl" / "windlass-model.yaml").exists()


def test_errors_are_one_line_with_exit_codes(registry: str) -> None:
    code, out = invoke("models", "show", "nobody", "--uri", registry)
    assert code == 3 and "MODEL_NOT_FOUND" in out
    code, out = invoke("models", "download", "models:/churn/9", "/tmp/x", "--uri", registry)
    assert code == 3 and "MODEL_VERSION_NOT_FOUND" in out
    code, out = invoke("models", "alias", "churn", "latest", "1", "--uri", registry)
    assert code == 2 and "latest" in out
