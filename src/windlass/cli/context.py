"""The CLI's connection to a store, its shared options and its one error handler.

Exit codes (the README's table is this one):

====  ===========================================================================
code  meaning
====  ===========================================================================
0     success
1     an unexpected error (a bug, an error without a code of its own), or a declined
      confirmation
2     bad usage or invalid input (``InvalidInput`` and its kinds; Click's usage errors)
3     not found (``NotFound`` and its kinds; a store that does not exist)
4     a store, server or provider is unreachable or overloaded
5     conflict with the stored state (``Conflict``: exists, in use, wrong state)
6     refused for safety (``UntrustedModel``, ``IntegrityFailure``)
====  ===========================================================================
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from windlass.exceptions import (
    BackendUnavailable,
    Conflict,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    ProviderError,
    UnsupportedMediaType,
    UntrustedModel,
    WindlassError,
)

if TYPE_CHECKING:
    from windlass.tracking.service import Tracking

F = TypeVar("F", bound=Callable[..., Any])

#: The exit code of each kind of error; the first matching class wins (see the table above).
EXIT_CODES: tuple[tuple[type[WindlassError], int], ...] = (
    (InvalidInput, 2),
    (PayloadTooLarge, 2),
    (UnsupportedMediaType, 2),
    (NotFound, 3),
    (BackendUnavailable, 4),
    (Overloaded, 4),
    (ProviderError, 4),
    (Conflict, 5),
    (UntrustedModel, 6),
    (IntegrityFailure, 6),
)
#: The exit code of anything else.
UNEXPECTED = 1


def exit_code(error: WindlassError) -> int:
    """Return the CLI exit code for an error (the module docstring's table)."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return UNEXPECTED


def flag_names(func: Callable[..., Any]) -> dict[str, tuple[str | None, str | None]]:
    """Return ``{python name: (flag for True, flag for False)}`` of a command's bool options."""
    import inspect

    flags: dict[str, tuple[str | None, str | None]] = {}
    for name, param in inspect.signature(func).parameters.items():
        declared = getattr(param.default, "param_decls", None)
        if param.annotation not in (bool, "bool") or not declared:
            continue
        on, off = None, None
        for decl in declared:
            first, _sep, second = decl.partition("/")
            if first.startswith("--") and on is None:
                on = first
            if second.startswith("--") and off is None:
                off = second
        flags[name] = (on, off)
    return flags


def cli_message(message: str, flags: dict[str, tuple[str | None, str | None]]) -> str:
    """Return ``message`` with the Python arguments it names spelled as the command's flags.

    Errors are written for the SDK (``pass trust=True``); a CLI user sees the flag of the
    running command instead (``pass --trust``), for every boolean flag it has.
    """
    for name, (on, off) in flags.items():
        for value, flag in (("True", on), ("False", off)):
            if flag:
                message = re.sub(rf"(?<![\w.]){re.escape(name)}={value}\b", flag, message)
    return message


def handle_errors(func: F) -> F:
    """Turn a windlass error into a one-line message and an exit code (no traceback).

    The message names the command's flags where the error names the SDK's arguments.
    """
    flags = flag_names(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WindlassError as error:
            from windlass.cli.render import err_console

            err_console.print(f"[red]error[/red] ({error.error_code}): ", end="")
            err_console.print(
                cli_message(error.message, flags), markup=False, highlight=False, soft_wrap=True
            )
            raise typer.Exit(exit_code(error)) from None

    return wrapper  # type: ignore[return-value]


def require_store(uri: str | None) -> None:
    """Raise NotFound when ``uri`` (or ``WINDLASS_TRACKING_URI``) names a missing SQLite file.

    Read-only commands call this first: they report a mistyped path instead of creating an
    empty database (and its folders) there. The embedded default store is left alone.
    """
    from pathlib import Path

    from windlass import config
    from windlass.uris import sqlite_path

    named = uri or config.settings.tracking_uri
    path = sqlite_path(named) if named else None
    if path is not None and not Path(path).expanduser().is_file():
        raise NotFound(
            f"no windlass store at {named}: the file {path} does not exist "
            "(check --uri; read-only commands never create a store)",
            uri=named,
        )


def open_service(uri: str | None, *, must_exist: bool = False) -> Tracking:
    """Return tracking over ``--uri`` (or ``WINDLASS_TRACKING_URI``, or the embedded store)."""
    from windlass.tracking.backend import open_tracking

    if must_exist:
        require_store(uri)
    return open_tracking(uri)


def connect(uri: str | None, *, must_exist: bool = False) -> None:
    """Point the SDK's functions at ``--uri`` (``must_exist``: an existing store only)."""
    import windlass

    if must_exist:
        require_store(uri)
    windlass.set_tracking_uri(uri)


def run_id_resolver(uri: str | None) -> Callable[[str], str]:
    """Return a function giving the run id a prefix names in the store at ``uri``."""
    from windlass.tracking.id_prefixes import resolve_run_id

    return _resolver(uri, lambda service, prefix: resolve_run_id(service.store, prefix))


def trace_id_resolver(uri: str | None, project: str | None) -> Callable[[str], str]:
    """Return a function giving the trace id a prefix names (in ``project``, else anywhere)."""
    from windlass.tracking.id_prefixes import resolve_trace_id

    def resolve(service: Tracking, prefix: str) -> str:
        projects = [] if project is None else [service.store.get_project(project).id]
        return resolve_trace_id(service.store, prefix, projects)

    return _resolver(uri, resolve)


def _resolver(uri: str | None, resolve: Callable[[Tracking, str], str]) -> Callable[[str], str]:
    """Return ``resolve`` over the store at ``uri``, opened on the first call only."""
    opened: list[Tracking] = []

    def call(prefix: str) -> str:
        if not opened:
            opened.append(open_service(uri))
        return resolve(opened[0], prefix)

    return call


URI_OPTION = typer.Option(
    None,
    "--uri",
    help="Tracking URI (default: WINDLASS_TRACKING_URI or the embedded store).",
    envvar="WINDLASS_TRACKING_URI",
)
PROJECT_OPTION = typer.Option(
    None, "--project", "-p", help="Project name (default: WINDLASS_PROJECT)."
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")
