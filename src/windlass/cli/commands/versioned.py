"""The subcommands every versioned kind shares: ``ls``, ``versions`` and ``alias``.

``windlass models`` and ``windlass prompts`` (and next datasets) add them to their Typer
app with :func:`add_list_command`, :func:`add_versions_command` and
:func:`add_alias_command`, giving what is their own: the SDK call, the table's columns,
how a recorded alias move reads, and whether ``NAME`` alone lists the moves (models, as it
always has) or asks for ``--history``. The alias commands call the kind's SDK namespace
(``windlass.models``, ``windlass.prompts``), whose alias API has one shape for every kind.

Listings print through :func:`listing`: the one ``--json`` shape, else a table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

import typer

from windlass.cli.context import JSON_OPTION, PROJECT_OPTION, URI_OPTION, connect
from windlass.cli.render import console, print_items, print_json, table
from windlass.entities import AliasMove, VersionedObject, iso
from windlass.exceptions import InvalidInput

T = TypeVar("T")

_ALIAS_ARGUMENT: Any = typer.Argument(None, metavar="ALIAS", help="The alias, e.g. production.")
_VERSION_ARGUMENT: Any = typer.Argument(
    None, metavar="VERSION", help="The version the alias should name."
)
_DELETE_OPTION: Any = typer.Option(False, "--delete", help="Remove the alias.")
_HISTORY_OPTION: Any = typer.Option(
    False,
    "--history",
    help="Show every move of the aliases (or of ALIAS): who, when, from, to.",
)


class VersionedApi(Protocol):
    """What every kind's SDK namespace offers (``windlass.models``, ``windlass.prompts``)."""

    def list_versions(self, name: str, *, project: str | None = None) -> Sequence[Any]:
        """Return every version of an object, newest first."""

    def set_alias(
        self, name: str, alias: str, version: int, *, project: str | None = None
    ) -> AliasMove:
        """Point ``alias`` at ``version``; return the recorded move."""

    def delete_alias(self, name: str, alias: str, *, project: str | None = None) -> AliasMove:
        """Remove an alias; return the recorded removal."""

    def get_alias_history(
        self, name: str, alias: str | None = None, *, project: str | None = None
    ) -> Sequence[AliasMove]:
        """Return every recorded move of the object's aliases (or of one), oldest first."""


def namespace(module: str) -> VersionedApi:
    """Return a kind's SDK namespace by module name, imported now (not when the CLI starts)."""
    return cast(VersionedApi, importlib.import_module(module))


def aliases_cell(aliases: Mapping[str, int]) -> str:
    """Return a table cell listing aliases and their versions: ``beta→1, prod→3``."""
    return ", ".join(f"{alias}→{version}" for alias, version in sorted(aliases.items()))


def listing(
    items: Sequence[T],
    as_json: bool,
    title: str,
    columns: Sequence[str],
    row: Callable[[T], Sequence[Any]],
    **table_options: Any,
) -> None:
    """Print a listing: the one ``--json`` shape, else a table of one ``row(item)`` each."""
    if as_json:
        print_items(items)
        return
    table(title, columns, [row(item) for item in items], **table_options)


def alias_command(
    api: VersionedApi,
    command: str,
    name: str,
    alias: str | None,
    version: int | None,
    *,
    delete: bool,
    history: bool,
    project: str | None,
    as_json: bool,
    describe: Callable[[AliasMove], str],
    bare_name_shows_history: bool = False,
) -> None:
    """Set (NAME ALIAS VERSION), remove (NAME ALIAS --delete) or list the moves (--history).

    ``command`` is how the user calls it (``prompts alias``), for the usage messages;
    ``describe`` says how a recorded move reads. With ``bare_name_shows_history``, NAME or
    NAME ALIAS without a version lists the moves too. Wrong arguments are InvalidInput
    naming the mistake.
    """
    if delete and history:
        raise InvalidInput("give --delete or --history, not both")
    if history or (bare_name_shows_history and version is None and not delete):
        if version is not None:
            raise InvalidInput("--history takes NAME [ALIAS], not a version")
        moves = api.get_alias_history(name, alias, project=project)
        listing(
            moves,
            as_json,
            f"alias moves of {name}",
            ["alias", "from", "to", "claimed by", "when"],
            lambda e: [
                e.alias,
                e.from_version,
                "removed" if e.to_version is None else e.to_version,
                e.claimed_by,
                iso(e.at),
            ],
        )
        return
    if alias is None:
        raise InvalidInput(
            f"give an alias: {command} NAME ALIAS VERSION, NAME ALIAS --delete, or NAME --history"
        )
    if delete:
        if version is not None:
            raise InvalidInput("--delete takes NAME ALIAS, not a version")
        event = api.delete_alias(name, alias, project=project)
    else:
        if version is None:
            raise InvalidInput(
                f"give the version {alias!r} should name: {command} {name} {alias} VERSION"
            )
        event = api.set_alias(name, alias, version, project=project)
    if as_json:
        print_json(event.to_dict())
    else:
        console.print(describe(event), markup=False, highlight=False, soft_wrap=True)


# -- the subcommands ---------------------------------------------------------------------
def add_list_command(
    app: typer.Typer, title: str, fetch: Callable[[str | None], Sequence[VersionedObject]]
) -> None:
    """Add ``ls``: the ``title`` of a project, ``fetch(project)``, one table for every kind."""

    def list_objects(
        project: str | None = PROJECT_OPTION,
        uri: str | None = URI_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        connect(uri, must_exist=True)
        listing(
            fetch(project),
            as_json,
            title,
            ["name", "latest", "aliases", "description", "updated"],
            lambda o: [
                o.name,
                o.latest_version,
                aliases_cell(o.aliases),
                o.description,
                iso(o.updated_at),
            ],
        )

    app.command("ls", help=f"List the {title} of a project.")(list_objects)


def add_versions_command(
    app: typer.Typer,
    noun: str,
    sdk: str,
    columns: Sequence[str],
    rows: Callable[[Sequence[T], str | None], Callable[[T], Sequence[Any]]],
    *,
    keep: Sequence[str] = (),
) -> None:
    """Add ``versions NAME``: a ``noun``'s versions, newest first, from the SDK namespace ``sdk``.

    ``rows(versions, uri)`` gives the function making each version's table row (it may
    look things up once for all rows, e.g. short run ids); ``keep`` names columns never cut.
    """

    def list_versions(
        name: str,
        project: str | None = PROJECT_OPTION,
        uri: str | None = URI_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        connect(uri, must_exist=True)
        versions: Sequence[T] = namespace(sdk).list_versions(name, project=project)
        if as_json:
            print_items(versions)
            return
        table(f"versions of {name}", columns, [*map(rows(versions, uri), versions)], keep=keep)

    help = f"List every version of a {noun}, newest first."
    app.command("versions", help=help)(list_versions)


def add_alias_command(
    app: typer.Typer,
    sdk: str,
    describe: Callable[[AliasMove], str],
    *,
    bare_name_shows_history: bool = False,
) -> None:
    """Add ``alias``: set, move, delete and list the moves of aliases (:func:`alias_command`).

    ``sdk`` names the kind's SDK namespace (``windlass.models``), imported when it runs;
    the command is called as ``<app name> alias``.
    """

    def alias(
        ctx: typer.Context,
        name: str,
        alias_name: str = _ALIAS_ARGUMENT,
        version: int = _VERSION_ARGUMENT,
        delete: bool = _DELETE_OPTION,
        history: bool = _HISTORY_OPTION,
        project: str | None = PROJECT_OPTION,
        uri: str | None = URI_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        connect(uri, must_exist=True)
        alias_command(
            namespace(sdk),
            f"{ctx.parent.info_name if ctx.parent else ''} alias".strip(),
            name,
            alias_name,
            version,
            delete=delete,
            history=history,
            project=project,
            as_json=as_json,
            describe=describe,
            bare_name_shows_history=bare_name_shows_history,
        )

    names = "NAME or --history" if bare_name_shows_history else "--history"
    help = f"Point ALIAS at VERSION, remove it (--delete), or show the moves ({names})."
    app.command("alias", help=help)(alias)
