"""``/api/v1/audit``: the append-only audit trail, read by admins.

Any verified principal may call it; the audit trail (the domain) narrows what it returns:
a server admin sees every record, a project admin the records of the projects they
administer, anyone else gets 403. With auth off every record is visible. There is no
route that writes, changes or deletes a record: the server appends its own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from windlass.access.audit import MAX_OBJECT_URI_LENGTH, AuditTrail, parse_time
from windlass.access.policy import Permission
from windlass.server.api.common import PageToken, ResponseBody, errors, requires
from windlass.server.container import app_services
from windlass.server.deps import PrincipalDep
from windlass.store.audit import MAX_AUDIT_RESULTS

_TIME_HELP = "ISO-8601 (2026-01-31T12:00:00Z), relative (30m, 12h, 7d, 2w) or epoch milliseconds"


class AuditRecordOut(ResponseBody):
    """One audit record: who did what to which object, when, from where, before and after."""

    id: str
    at: int
    principal: str
    principal_kind: str
    auth_method: str
    address: str | None = None
    action: str
    object_uri: str
    project_id: str | None = None
    before: Any = None
    after: Any = None


class AuditPage(ResponseBody):
    """One page of audit records, newest first."""

    records: list[AuditRecordOut]
    next_page_token: str | None = None


async def audit_trail(request: Request) -> AuditTrail:
    """Return the app's audit trail."""
    return app_services(request.app).audit


router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "",
    response_model=AuditPage,
    responses=errors(400, 401, 403, 404),
    **requires(Permission.AUTHENTICATED),
)
def list_audit(
    trail: Annotated[AuditTrail, Depends(audit_trail)],
    who: PrincipalDep,
    object_uri: Annotated[
        str | None,
        Query(
            alias="object",
            max_length=MAX_OBJECT_URI_LENGTH,
            description="An object URI; also matches what is under it (models:/churn: its "
            "versions and aliases)",
        ),
    ] = None,
    user: Annotated[str | None, Query(max_length=256, description="Principal name")] = None,
    action: Annotated[str | None, Query(max_length=128, description="e.g. run.create")] = None,
    project: Annotated[
        list[str] | None, Query(description="Project name or id (repeatable); records of any")
    ] = None,
    since: Annotated[str | None, Query(max_length=64, description=f"From: {_TIME_HELP}")] = None,
    until: Annotated[str | None, Query(max_length=64, description=f"Before: {_TIME_HELP}")] = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_AUDIT_RESULTS)] = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    """List the audit records the caller may see, newest first, filtered as asked."""
    page = trail.list(
        who,
        project=project,
        object_uri=object_uri,
        user=user,
        action=action,
        since=None if since is None else parse_time(since),
        until=None if until is None else parse_time(until),
        max_results=max_results,
        page_token=page_token,
    )
    return {"records": [r.to_dict() for r in page.items], "next_page_token": page.next_page_token}
