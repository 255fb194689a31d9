"""``windlass users``, ``windlass tokens``, ``windlass members`` and ``windlass whoami``.

Against a store (``--uri sqlite:///…`` or ``postgresql://…``) the commands call the
identity service directly: ``users create`` there bootstraps the first admin of an empty
store and prints an API token once. With ``WINDLASS_AUTH=on`` the caller is the user of
``WINDLASS_TOKEN``. Against a server (``--uri http://…``) they go over REST, and the
server checks ``WINDLASS_TOKEN``.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION, open_service
from windlass.cli.render import print_items, print_json, table
from windlass.entities import all_pages, iso
from windlass.exceptions import InvalidInput

if TYPE_CHECKING:
    from windlass.access.identity import Identity
    from windlass.principal import Principal
    from windlass.store.rest.identity import RestIdentity

users_app = typer.Typer(help="Users: create, list, disable, enable.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)
members_app = typer.Typer(help="Project members and their roles.", no_args_is_help=True)

MEMBER_PROJECT_OPTION = typer.Option(
    None, "--project", "-p", help="Project name (default: WINDLASS_PROJECT)."
)
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Return seconds of ``30d``, ``12h``, ``45m``, ``90s`` or ``3600``."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"invalid duration {text!r}: use e.g. 30d, 12h, 45m or 3600")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@contextlib.contextmanager
def identity_at(
    uri: str | None, *, must_exist: bool = True
) -> Iterator[tuple[Identity | RestIdentity, Principal, bool]]:
    """Yield the identity service at ``uri``, the caller, and whether the store is used directly."""
    from windlass import config
    from windlass.access.audit import AuditTrail
    from windlass.access.identity import Identity
    from windlass.access.policy import Policy
    from windlass.principal import local_principal
    from windlass.store.rest.identity import RestIdentity
    from windlass.store.rest.store import RestStore

    service = open_service(uri, must_exist=must_exist)
    try:
        if isinstance(service.store, RestStore):
            yield RestIdentity(service.store.transport), local_principal(), False
            return
        identity = Identity(
            service.store, Policy(enabled=config.settings.auth), audit=AuditTrail(service.store)
        )
        token = config.settings.token
        if config.settings.auth and token:
            yield identity, identity.authenticate(token.strip()), True
        else:
            yield identity, local_principal(), True
    finally:
        service.close()


# -- users ----------------------------------------------------------------------------------
@users_app.command("create")
def create_user(
    name: str = typer.Argument(..., help="The new user's name."),
    admin: bool = typer.Option(False, "--admin", help="Make the user a server admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password (for the UI) from stdin."
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a user and print its first API token once (bootstraps an empty store)."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with identity_at(uri, must_exist=False) as (identity, caller, direct):
        user, token, secret = identity.enroll(
            caller, name, admin=admin, password=password, bootstrap=direct
        )
    if as_json:
        print_json({"user": user.to_dict(), "token": token.to_dict(), "secret": secret})
        return
    kind = "server admin" if user.admin else "user"
    typer.echo(f"created {kind} {user.name} ({user.id})")
    typer.echo(f"API token (shown once, keep it secret): {secret}")


@users_app.command("ls")
def list_users(uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List users."""
    with identity_at(uri) as (identity, caller, _direct):
        users = all_pages(lambda token: identity.list_users(caller, 1000, token))
    if as_json:
        print_items(users)
        return
    table(
        "users",
        ["name", "admin", "disabled", "created"],
        [
            [u.name, "yes" if u.admin else "", "yes" if u.disabled else "", iso(u.created_at)]
            for u in users
        ],
    )


def _set_disabled(name: str, uri: str | None, as_json: bool, *, disabled: bool) -> None:
    with identity_at(uri) as (identity, caller, _direct):
        if disabled:
            user = identity.disable_user(caller, name)
        else:
            user = identity.enable_user(caller, name)
    if as_json:
        print_json(user.to_dict())
    else:
        typer.echo(f"{'disabled' if user.disabled else 'enabled'} {user.name}")


@users_app.command("disable")
def disable_user(
    name: str = typer.Argument(..., help="The user to disable."),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Disable a user: its tokens stop working at once."""
    _set_disabled(name, uri, as_json, disabled=True)


@users_app.command("enable")
def enable_user(
    name: str = typer.Argument(..., help="The user to enable."),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Enable a disabled user again."""
    _set_disabled(name, uri, as_json, disabled=False)


# -- tokens ---------------------------------------------------------------------------------
@tokens_app.command("create")
def create_token(
    name: str = typer.Option("token", "--name", help="A name to tell the token apart."),
    expires: str | None = typer.Option(
        None, "--expires", help="Lifetime: 30d, 12h, 45m or seconds (default: never)."
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Scope the token to this project (with --role)."
    ),
    role: str | None = typer.Option(
        None, "--role", help="The most the token may do there: viewer, editor or admin."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Make it for another user (server admins only)."
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an API token and print its secret once."""
    seconds = None if expires is None else parse_duration(expires)
    with identity_at(uri) as (identity, caller, _direct):
        token, secret = identity.create_token(
            caller, name=name, expires_in_seconds=seconds, project=project, role=role, user=user
        )
    if as_json:
        print_json({"token": token.to_dict(), "secret": secret})
        return
    typer.echo(f"token {token.id} ({token.name}) for {token.user_name}")
    typer.echo(f"secret (shown once, keep it secret): {secret}")


@tokens_app.command("ls")
def list_tokens(uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List your tokens (a server admin's: every token); never their secrets."""
    with identity_at(uri) as (identity, caller, _direct):
        tokens = identity.list_tokens(caller)
    if as_json:
        print_items(tokens)
        return
    table(
        "tokens",
        ["id", "name", "user", "starts", "expires", "revoked"],
        [[t.id, t.name, t.user_name, t.hint, iso(t.expires_at), iso(t.revoked_at)] for t in tokens],
        keep=("id",),
    )


@tokens_app.command("revoke")
def revoke_token(
    token_id: str = typer.Argument(..., help="The token's id (from `windlass tokens ls`)."),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke a token: it stops working at once."""
    with identity_at(uri) as (identity, caller, _direct):
        token = identity.revoke_token(caller, token_id)
    if as_json:
        print_json(token.to_dict())
    else:
        typer.echo(f"revoked token {token.id} ({token.name})")


# -- members --------------------------------------------------------------------------------
def _project(project: str | None) -> str:
    from windlass import config

    return project or config.settings.project


@members_app.command("ls")
def list_members(
    project: str | None = MEMBER_PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a project's members and their roles."""
    with identity_at(uri) as (identity, caller, _direct):
        members = identity.list_members(caller, _project(project))
    if as_json:
        print_items(members)
        return
    table("members", ["user", "role"], [[m.user_name, m.role.value] for m in members])


@members_app.command("set")
def set_member(
    user: str = typer.Argument(..., help="The user's name."),
    role: str = typer.Argument(..., help="viewer, editor or admin."),
    project: str | None = MEMBER_PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Give a user a role in a project (replacing its role there)."""
    with identity_at(uri) as (identity, caller, _direct):
        member = identity.set_member(caller, _project(project), user, role)
    if as_json:
        print_json(member.to_dict())
    else:
        typer.echo(f"{member.user_name} is {member.role.value} of {_project(project)}")


@members_app.command("rm")
def remove_member(
    user: str = typer.Argument(..., help="The user's name."),
    project: str | None = MEMBER_PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove a user from a project."""
    with identity_at(uri) as (identity, caller, _direct):
        identity.remove_member(caller, _project(project), user)
    if as_json:
        print_json({"project": _project(project), "user": user, "removed": True})
    else:
        typer.echo(f"removed {user} from {_project(project)}")


# -- whoami ---------------------------------------------------------------------------------
def whoami(uri: str | None = URI_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Show who you are to the store or server: name, admin, roles, token scope."""
    with identity_at(uri) as (identity, caller, _direct):
        who = identity.whoami(caller)
    data = {
        **who.to_dict(),
        "user_id": who.user_id,
        "admin": who.admin,
        "roles": [{"project_id": p, "role": r.value} for p, r in who.roles],
        "scope": None
        if who.scope is None
        else {"project_id": who.scope[0], "role": who.scope[1].value},
    }
    if as_json:
        print_json(data)
        return
    typer.echo(f"{who.name} ({who.auth.value}{', server admin' if who.admin else ''})")
    for project_id, role in who.roles:
        typer.echo(f"  {role.value} of project {project_id}")
    if who.scope is not None:
        typer.echo(f"  token scoped to {who.scope[1].value} of project {who.scope[0]}")
