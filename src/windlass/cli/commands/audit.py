"""``windlass audit``: read the append-only audit trail.

``windlass audit ls --object models:/churn --user ada --since 7d`` lists the records of
every change to model ``churn`` (its versions and aliases too) made by ``ada`` in the last
week, newest first. Against a server, the server shows what the caller may see (server
admins everything, project admins their projects).
"""

from __future__ import annotations

import typer

from windlass.cli.context import JSON_OPTION, URI_OPTION, open_service
from windlass.cli.render import console, print_items, table
from windlass.entities import iso
from windlass.store.audit import MAX_AUDIT_RESULTS

app = typer.Typer(help="Audit trail: who changed what, when, from where.", no_args_is_help=True)


@app.command("ls")
def list_audit(
    object_uri: str | None = typer.Option(
        None, "--object", help="An object URI, e.g. models:/churn (its versions and aliases too)."
    ),
    user: str | None = typer.Option(None, "--user", help="Only this principal's records."),
    action: str | None = typer.Option(None, "--action", help="Only this action, e.g. run.create."),
    since: str | None = typer.Option(
        None, "--since", help="From: 7d, 12h, 30m, an ISO-8601 time or epoch milliseconds."
    ),
    until: str | None = typer.Option(None, "--until", help="Before: as --since."),
    max_results: int = typer.Option(50, "--max-results", "-n", min=1, max=MAX_AUDIT_RESULTS),
    page_token: str | None = typer.Option(None, "--page-token"),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Only this project's records (default: every project)."
    ),
    uri: str | None = URI_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List audit records, newest first."""
    from windlass.access.audit import AuditTrail, parse_time

    service = open_service(uri, must_exist=True)
    page = AuditTrail(service.store).list(
        service.principal,
        project=project,
        object_uri=object_uri,
        user=user,
        action=action,
        since=None if since is None else parse_time(since),
        until=None if until is None else parse_time(until),
        max_results=max_results,
        page_token=page_token,
    )
    if as_json:
        print_items(page.items, page.next_page_token)
        return
    table(
        None,
        ["when", "principal", "action", "object", "address"],
        [[iso(r.at), r.principal, r.action, r.object_uri, r.address or ""] for r in page.items],
    )
    if page.next_page_token:
        console.print(f"more: --page-token {page.next_page_token}", markup=False, highlight=False)
