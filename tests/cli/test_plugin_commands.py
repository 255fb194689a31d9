"""Plugin commands get the CLI's one error handler, exactly as built-in commands do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from windlass.cli.context import URI_OPTION, require_store
from windlass.cli.errors import guard, walk
from windlass.cli.main import build_app
from windlass.exceptions import UntrustedModel
from windlass.plugins import hookimpl, plugin_manager

runner = CliRunner()


class PluginCommands:
    """A third-party plugin's commands, none of which handles errors itself."""

    @hookimpl
    def register_commands(self, register: Callable[[str, Any], None]) -> None:
        group = typer.Typer()

        @group.command("check")
        def check(uri: str | None = URI_OPTION) -> None:
            require_store(uri)  # raises NotFound for a missing SQLite file, as `runs ls` does

        def load(trust: bool = typer.Option(False, "--trust")) -> None:
            raise UntrustedModel("loading it would run its pickle; pass trust=True to allow it")

        register("plugin-group", group)
        register("plugin-load", load)


@pytest.fixture
def plugin() -> Iterator[None]:
    manager = plugin_manager()
    manager.register(PluginCommands(), name="test-plugin-commands")
    try:
        yield
    finally:
        manager.unregister(name="test-plugin-commands")


def test_plugin_command_error_matches_a_builtin_one(plugin: None, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'missing.db'}"
    builtin = runner.invoke(build_app(), ["runs", "ls", "--uri", uri])
    plugged = runner.invoke(build_app(), ["plugin-group", "check", "--uri", uri])
    assert builtin.exit_code == 3, builtin.output
    assert plugged.exit_code == builtin.exit_code
    assert plugged.stderr == builtin.stderr
    assert plugged.stderr.startswith("error (NOT_FOUND): no windlass store at "), plugged.stderr
    assert "Traceback" not in plugged.output and not (tmp_path / "missing.db").exists()


def test_plugin_command_error_names_its_flags(plugin: None) -> None:
    result = runner.invoke(build_app(), ["plugin-load"])
    assert result.exit_code == 6, result.output
    assert result.stderr.startswith("error (UNTRUSTED_MODEL): "), result.stderr
    assert "pass --trust to allow it" in result.stderr and "trust=True" not in result.stderr


def test_every_command_is_guarded_once(plugin: None) -> None:
    app = typer.main.get_command(build_app())
    commands = [c for c in walk(app) if c.callback is not None]
    assert len(commands) > 40
    unguarded = [c.name for c in commands if not getattr(c.callback, "__windlass_guarded__", False)]
    assert unguarded == []
    before = commands[0].callback
    guard(commands[0])
    assert commands[0].callback is before
