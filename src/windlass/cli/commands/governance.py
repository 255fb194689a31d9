"""``windlass projects settings`` and ``windlass aliases requests|approve|reject``.

A project admin says which aliases the project protects (``--protect``) and whether a
protected alias moves only once a second admin approves (``--two-person-review``). With
review on, ``windlass models alias churn production 3`` by an admin does not move the
alias: it prints the pending request's id (exit code 5); a second admin lists the
requests (``aliases requests``) and approves or rejects one.

Against a store (``--uri sqlite:///…`` or ``postgresql://…``) the commands call the domain
service directly, as the user of ``WINDLASS_TOKEN`` when ``WINDLASS_AUTH=on``; against a
server (``--uri http://…``) they go over REST and the server checks ``WINDLASS_TOKEN``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION, open_service
from windlass.cli.render import print_items, print_json, table
from windlass.entities import iso

if TYPE_CHECKING:
    from windlass.entities import Project
    from windlass.entities.governance import AliasRequest
    from windlass.principal import Principal

aliases_app = typer.Typer(
    help="Protected alias moves waiting for a second admin (two-person review).",
    no_args_is_help=True,
)

PROJECT_OPTION = typer.Option(
    None, "--project", "-p", help="Project name (default: WINDLASS_PROJECT)."
)
_REQUEST_ARGUMENT = typer.Argument(..., help="The alias request's id.")


class Governance(Protocol):
    """What the commands call: the domain service or its REST counterpart."""

    def update_project_settings(
        self,
        project_id: str,
        *,
        protected_aliases: list[str] | None = None,
        two_person_review: bool | None = None,
        principal: Principal | None = None,
    ) -> Project:
        """Change a project's settings."""

    def list_alias_requests(
        self, project_id: str, state: str | None = "pending", *, principal: Principal | None = None
    ) -> list[AliasRequest]:
        """List alias requests."""

    def approve(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Approve an alias request."""

    def reject(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Reject an alias request."""


@contextlib.contextmanager
def governance_at(uri: str | None, project: str | None) -> Iterator[tuple[Governance, str]]:
    """Yield the governance service at ``uri``, bound to the caller, and the project's key."""
    from windlass import config
    from windlass.access.audit import AuditTrail
    from windlass.access.gate import Access
    from windlass.access.identity import Identity
    from windlass.access.policy import Policy
    from windlass.genai.prompts.registry import PromptRegistry
    from windlass.models.registry import ModelRegistry
    from windlass.principal import local_principal
    from windlass.store.rest.governance import RestGovernance
    from windlass.store.rest.store import RestStore
    from windlass.versioning.governance import ProjectGovernance
    from windlass.versioning.objects import VersionedObjects

    name = project or config.settings.project
    service = open_service(uri, must_exist=True)
    try:
        store = service.store
        if isinstance(store, RestStore):
            yield RestGovernance(store.transport), name
            return
        policy = Policy(enabled=config.settings.auth)
        audit = AuditTrail(store)
        token = config.settings.token
        caller = (
            Identity(store, policy, audit=audit).authenticate(token.strip())
            if config.settings.auth and token
            else local_principal()
        )
        access = Access(policy, audit if config.settings.auth else None)
        registries: dict[str, VersionedObjects[Any, Any, Any]] = {
            "model": ModelRegistry(store, service.blobs, access=access),
            "prompt": PromptRegistry(store, access=access),
        }
        governance = ProjectGovernance(store, registries, principal=caller, access=access)
        yield governance, store.runs.get_project(name).id
    finally:
        service.close()


def _show_request(request: AliasRequest, verb: str) -> None:
    typer.echo(
        f"{verb} alias request {request.id}: {request.object_uri} -> version "
        f"{request.version} (requested by {request.requested_by})"
    )


# -- windlass projects settings -------------------------------------------------------------
def project_settings(
    project: str | None = PROJECT_OPTION,
    protect: str | None = typer.Option(
        None,
        "--protect",
        help="The aliases only an admin may move, comma-separated (replaces the list; "
        "'' protects none), e.g. production,champion.",
    ),
    two_person_review: bool | None = typer.Option(
        None,
        "--two-person-review/--no-two-person-review",
        help="Whether a protected alias moves only once a second admin approves.",
        show_default=False,
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show or change a project's settings: protected aliases, two-person review."""
    protected = None if protect is None else [a.strip() for a in protect.split(",") if a.strip()]
    with governance_at(uri, project) as (governance, key):
        found = governance.update_project_settings(
            key, protected_aliases=protected, two_person_review=two_person_review
        )
    if as_json:
        print_json(found.to_dict())
        return
    typer.echo(f"project {found.name}")
    typer.echo(f"  protected aliases: {', '.join(found.protected_aliases) or '(none)'}")
    typer.echo(f"  two-person review: {'on' if found.two_person_review else 'off'}")


# -- windlass aliases ... -------------------------------------------------------------------
@aliases_app.command("requests")
def list_requests(
    project: str | None = PROJECT_OPTION,
    state: str = typer.Option("pending", "--state", help="pending, approved, rejected or all."),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a project's alias requests (default: the pending ones), oldest first."""
    with governance_at(uri, project) as (governance, key):
        found = governance.list_alias_requests(key, None if state == "all" else state)
    if as_json:
        print_items(found)
        return
    table(
        "alias requests",
        ["id", "alias", "version", "requested by", "at", "state"],
        [
            [r.id, r.object_uri, r.version, r.requested_by, iso(r.requested_at), r.state]
            for r in found
        ],
        keep=("id",),
    )


@aliases_app.command("approve")
def approve(
    request_id: str = _REQUEST_ARGUMENT,
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve an alias request (a second admin, not its requester): the alias moves."""
    with governance_at(uri, project) as (governance, key):
        decided = governance.approve(key, request_id)
    if as_json:
        print_json(decided.to_dict())
    else:
        _show_request(decided, "approved")


@aliases_app.command("reject")
def reject(
    request_id: str = _REQUEST_ARGUMENT,
    project: str | None = PROJECT_OPTION,
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Reject an alias request: the alias does not move."""
    with governance_at(uri, project) as (governance, key):
        decided = governance.reject(key, request_id)
    if as_json:
        print_json(decided.to_dict())
    else:
        _show_request(decided, "rejected")
