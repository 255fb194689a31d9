"""``windlass traces``: ls, show (a tree), stats, rollup, export; bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import windlass
from windlass.cli.main import build_app
from windlass.genai.llm.pricing import UnknownModelPriceWarning

runner = CliRunner()


@pytest.fixture
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two traces in a direct SQLite store: an agent calling a priced model, and an error."""
    uri = f"sqlite:///{tmp_path / 'traces.db'}"
    monkeypatch.setenv("WINDLASS_PROJECT", "cli-traces")
    windlass.set_tracking_uri(uri)
    call = {
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 2000,
        "gen_ai.usage.output_tokens": 500,
    }
    with (
        windlass.trace_context(session_id="s-1"),
        windlass.span("agent", kind="agent") as root,
        windlass.span("call", kind="llm", attributes=call),
    ):
        pass
    with pytest.raises(RuntimeError), windlass.span("broken", kind="tool"):
        raise RuntimeError("tool failed")
    assert windlass.flush_traces()
    windlass.set_tracking_uri(None)
    return {"uri": uri, "trace_id": root.trace_id}


def _run(*args: str) -> str:
    result = runner.invoke(build_app(), list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_ls_show_stats_rollup_and_export(traced: dict[str, str], tmp_path: Path) -> None:
    uri = traced["uri"]
    listed = json.loads(_run("traces", "ls", "--uri", uri, "--json"))
    assert {t["name"] for t in listed["items"]} == {"agent", "broken"}
    errors = json.loads(
        _run("traces", "ls", "--uri", uri, "--filter", "status = 'error'", "--json")
    )
    assert [t["name"] for t in errors["items"]] == ["broken"]
    tree = _run("traces", "show", traced["trace_id"], "--uri", uri).splitlines()
    assert tree[0].startswith("agent [agent]")
    assert tree[1].startswith("  call [llm]") and "gpt-4o-mini" in tree[1]
    assert "2000→500 tokens" in tree[1]
    stats = json.loads(_run("traces", "stats", "--uri", uri, "--json"))
    assert stats["count"] == 2 and stats["error_count"] == 1
    # gpt-4o-mini: 2,000 input tokens at $0.15/M and 500 output at $0.60/M.
    assert stats["cost"] == pytest.approx(2000 * 0.15e-6 + 500 * 0.60e-6)
    text = _run("traces", "stats", "--uri", uri)
    assert "2 traces, 1 errors (50.0%)" in text
    sessions = json.loads(_run("traces", "rollup", "session", "--uri", uri, "--json"))
    assert [(r["key"], r["traces"]) for r in sessions["items"]] == [("s-1", 1)]
    out = tmp_path / "spans.parquet"
    assert "wrote 3 spans" in _run("traces", "export", "-o", str(out), "--uri", uri)
    assert out.exists()


def test_bad_input_is_named(traced: dict[str, str]) -> None:
    app = build_app()
    result = runner.invoke(app, ["traces", "ls", "--uri", traced["uri"], "--filter", "colour = 1"])
    assert result.exit_code != 0 and "colour" in result.output
    result = runner.invoke(app, ["traces", "show", "nothex", "--uri", traced["uri"]])
    assert result.exit_code != 0 and "32 hex" in result.output
    result = runner.invoke(app, ["traces", "show", "0" * 31 + "1", "--uri", traced["uri"]])
    assert result.exit_code != 0 and "does not exist" in result.output
    result = runner.invoke(app, ["traces", "rollup", "colour", "--uri", traced["uri"]])
    assert result.exit_code != 0 and "group_by" in result.output
    result = runner.invoke(app, ["traces", "ls", "--uri", traced["uri"], "--start", "yesterday"])
    assert result.exit_code != 0 and "ISO 8601" in result.output


def test_unpriced_cost_shows_as_unpriced_and_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'unpriced.db'}"
    monkeypatch.setenv("WINDLASS_PROJECT", "cli-unpriced")
    windlass.set_tracking_uri(uri)
    call = {
        "gen_ai.request.model": "no-such-model-7",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
    }
    with (
        windlass.trace_context(session_id="s-u"),
        windlass.span("call", kind="llm", attributes=call),
    ):
        pass
    with pytest.warns(UnknownModelPriceWarning):
        assert windlass.flush_traces()
    windlass.set_tracking_uri(None)
    stats = json.loads(_run("traces", "stats", "--uri", uri, "--json"))
    assert stats["cost"] is None and stats["unpriced_llm_spans"] == 1
    assert [r["cost"] for r in stats["by_model"]] == [None]
    rows = json.loads(_run("traces", "rollup", "model", "--uri", uri, "--json"))["items"]
    assert [(r["key"], r["cost"]) for r in rows] == [("no-such-model-7", None)]
    table = _run("traces", "rollup", "model", "--uri", uri)
    assert "unpriced" in table and "$0.000000" not in table
    text = _run("traces", "stats", "--uri", uri)
    assert "cost unpriced (1 model calls without a price)" in text
    assert "$0.000000" not in text
