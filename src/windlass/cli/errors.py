"""The CLI's one error handler: a windlass error becomes a message and an exit code.

Every command gets it once, when the CLI is built (:class:`GuardedGroup`), built-in and
plugin commands alike; no command wraps itself.

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
7     not allowed: no or bad credentials (``Unauthenticated``), a role too small
      (``PermissionDenied``), too many failed authentications (``TooManyRequests``)
====  ===========================================================================
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from windlass.exceptions import (
    BackendUnavailable,
    Conflict,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    ProviderError,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
    UntrustedModel,
    WindlassError,
)

if TYPE_CHECKING:
    # Typer carries its own copy of Click; its commands derive from this class.
    from typer._click import Command

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
    (Unauthenticated, 7),
    (PermissionDenied, 7),
    (TooManyRequests, 7),
)
#: The exit code of anything else.
UNEXPECTED = 1

_GUARDED = "__windlass_guarded__"


def exit_code(error: WindlassError) -> int:
    """Return the CLI exit code for an error (the module docstring's table)."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return UNEXPECTED


def flag_names(command: Command) -> dict[str, tuple[str | None, str | None]]:
    """Return ``{python name: (flag for True, flag for False)}`` of a command's bool flags."""
    flags: dict[str, tuple[str | None, str | None]] = {}
    for param in command.params:
        if not (getattr(param, "is_bool_flag", False) and param.name):
            continue
        on = next((o for o in param.opts if o.startswith("--")), None)
        off = next((o for o in param.secondary_opts if o.startswith("--")), None)
        flags[param.name] = (on, off)
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


def guard(command: Command) -> None:
    """Make ``command``'s callback report a windlass error as a message and an exit code.

    The message goes to stderr on one line, ``error (ERROR_CODE): message``, with no
    traceback; it names the command's flags where the error names the SDK's arguments.
    Guarding twice is a no-op.
    """
    callback = command.callback
    if callback is None or getattr(callback, _GUARDED, False):
        return
    flags = flag_names(command)

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except WindlassError as error:
            from windlass.cli.render import err_console

            err_console.print(f"[red]error[/red] ({error.error_code}): ", end="")
            err_console.print(
                cli_message(error.message, flags), markup=False, highlight=False, soft_wrap=True
            )
            raise typer.Exit(exit_code(error)) from None

    setattr(guarded, _GUARDED, True)
    command.callback = guarded


def walk(command: Command) -> Iterator[Command]:
    """Yield ``command`` and every command under it (groups and their subcommands)."""
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from walk(sub)


class GuardedGroup(TyperGroup):
    """The ``windlass`` command group: every command under it is :func:`guard`-ed once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in walk(self):
            guard(command)
