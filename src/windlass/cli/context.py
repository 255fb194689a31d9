"""The CLI's connection to a store and its shared options.

Errors become messages and exit codes in one place for every command: ``cli/errors.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from windlass.exceptions import NotFound

if TYPE_CHECKING:
    from windlass.tracking.service import Tracking


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
        projects = [] if project is None else [service.store.runs.get_project(project).id]
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
