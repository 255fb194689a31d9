"""The ``windlass`` command: built-in and plugin commands, registered through pluggy.

Every command, a plugin's included, reports windlass errors through the one handler of
``cli/errors.py`` (the app's group class guards each command once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


def build_app() -> typer.Typer:
    """Return the CLI with every registered command group and command."""
    import typer

    from windlass.cli.errors import GuardedGroup
    from windlass.plugins import collect

    # Plain (Click) help: Typer's Rich panels print a type after every flag (``--json
    # <bool>``), as if the flag took a value.
    app = typer.Typer(
        help="windlass: MLOps and LLMOps in one package.",
        cls=GuardedGroup,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for name, command in collect("register_commands"):
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)
    return app


def main() -> None:
    """Run the CLI."""
    from windlass.server.startup import pause_collector, resume_collector

    # Registering the commands imports most of windlass (and Typer: imported here, not at the
    # top of this module, so that its import runs paused too): with the cyclic collector
    # paused (and what was imported frozen), as a server's start (windlass.server.startup).
    pause_collector()
    app = build_app()
    resume_collector()
    app()
