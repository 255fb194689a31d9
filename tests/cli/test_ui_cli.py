"""``windlass ui``: the UI over a SQL store, refused over a server URL or an open address."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from windlass.cli.main import build_app

runner = CliRunner()


def test_ui_refuses_a_server_url() -> None:
    result = runner.invoke(build_app(), ["ui", "--uri", "http://127.0.0.1:5000"])
    assert result.exit_code != 0
    assert "serves a SQL store" in result.output


def test_ui_refuses_an_open_address_without_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDLASS_AUTH", "off")
    # A documentation address (TEST-NET-1): refused before anything binds.
    result = runner.invoke(build_app(), ["ui", "--host", "192.0.2.1", "--port", "1"])
    assert result.exit_code != 0
    assert "without authentication" in result.output
