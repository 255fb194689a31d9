"""The CLI's connection to a store and its one error handler."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from windlass.exceptions import InvalidInput, NotFound, WindlassError
from windlass.tracking.service import Tracking

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 1 any windlass error, 2 bad input, 3 not found, 4 store unreachable.
EXIT_CODES = {InvalidInput: 2, NotFound: 3}


def exit_code(error: WindlassError) -> int:
    """Return the CLI exit code for an error."""
    from windlass.exceptions import BackendUnavailable

    if isinstance(error, BackendUnavailable):
        return 4
    for cls, code in EXIT_CODES.items():
        if isinstance(error, cls):
            return code
    return 1


def handle_errors(func: F) -> F:
    """Turn a windlass error into a one-line message and an exit code (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WindlassError as error:
            from windlass.cli.render import err_console

            err_console.print(f"[red]error[/red] ({error.error_code}): ", end="")
            err_console.print(error.message, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(error)) from None

    return wrapper  # type: ignore[return-value]


def open_service(uri: str | None) -> Tracking:
    """Return tracking over ``--uri`` (or ``WINDLASS_TRACKING_URI``, or the embedded store)."""
    from windlass.tracking.backend import open_tracking

    return open_tracking(uri)


URI_OPTION = typer.Option(None, "--uri", help="Tracking URI (default: WINDLASS_TRACKING_URI "
                          "or the embedded store).", envvar="WINDLASS_TRACKING_URI")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")
