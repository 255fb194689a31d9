"""The REST client's audit log: listing only, over ``GET /api/v1/audit``.

A server writes its own audit records, from the principal it authenticated and the
address the request came from; a client never sends one, so :meth:`RestAuditStore.append`
is refused. What the listing shows is narrowed by the server to what the caller may see.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import AuditRecord, Page
from windlass.exceptions import PermissionDenied
from windlass.store.audit import AuditStore
from windlass.store.rest.transport import RestTransport, paging


class RestAuditStore(AuditStore):
    """The audit log of a windlass server, read over its REST API."""

    appends = False

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    def append(self, record: AuditRecord) -> None:
        """Refuse: a server records its own audit trail, a client cannot append to it."""
        raise PermissionDenied(
            "a windlass server writes its own audit records; a client cannot append one "
            f"(action {record.action!r} on {record.object_uri!r})",
            operation="audit.append",
        )

    def list(
        self,
        *,
        project_id: str | tuple[str, ...] | None = None,
        object_uri: str | None = None,
        principal: str | None = None,
        action: str | None = None,
        since: int | None = None,
        until: int | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        """Return one page of the records the server lets the caller see, newest first."""
        if project_id == ():
            return Page([])
        params: dict[str, Any] = paging(max_results, page_token)
        given = {
            "project": list(project_id) if isinstance(project_id, tuple) else project_id,
            "object": object_uri,
            "user": principal,
            "action": action,
            "since": since,
            "until": until,
        }
        params.update({k: v for k, v in given.items() if v is not None})
        body = self._http.request("GET", "/api/v1/audit", params=params)
        return Page(
            [AuditRecord.from_dict(r) for r in body["records"]], body.get("next_page_token")
        )
