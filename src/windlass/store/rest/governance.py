"""Project settings and alias approvals of a windlass server, called over its REST API.

What :class:`~windlass.versioning.governance.ProjectGovernance` offers a face, for a client
of a server: the server checks every call against the caller's bearer token, so the
``principal`` arguments are accepted for the same signature and ignored. ``project_id``
may be a project's name or id (the server's paths take either).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from windlass.entities import Project
from windlass.entities.governance import AliasRequest, alias_request_from_dict
from windlass.principal import Principal
from windlass.store.rest.runs import project_from_dict
from windlass.store.rest.transport import RestTransport, segment

__all__ = ["RestGovernance"]


class RestGovernance:
    """Project settings and alias requests through a server's routes."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    @staticmethod
    def _path(project_id: str) -> str:
        return f"/api/v1/projects/{segment(project_id)}"

    def update_project_settings(
        self,
        project_id: str,
        *,
        protected_aliases: Iterable[str] | None = None,
        two_person_review: bool | None = None,
        principal: Principal | None = None,
    ) -> Project:
        """Change the settings given (None: keep); return the project."""
        body: dict[str, Any] = {}
        if protected_aliases is not None:
            body["protected_aliases"] = list(protected_aliases)
        if two_person_review is not None:
            body["two_person_review"] = two_person_review
        answer = self._http.request("PATCH", f"{self._path(project_id)}/settings", json=body)
        return project_from_dict(answer)

    def list_alias_requests(
        self, project_id: str, state: str | None = "pending", *, principal: Principal | None = None
    ) -> list[AliasRequest]:
        """Return the project's alias requests of ``state`` (None: all), oldest first."""
        answer = self._http.request(
            "GET",
            f"{self._path(project_id)}/alias-requests",
            params={"state": "all" if state is None else state},
        )
        return [alias_request_from_dict(r) for r in answer["requests"]]

    def approve(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Approve a pending request (the alias moves); return the approved request."""
        path = f"{self._path(project_id)}/alias-requests/{segment(request_id)}/approve"
        return alias_request_from_dict(self._http.request("POST", path))

    def reject(
        self, project_id: str, request_id: str, *, principal: Principal | None = None
    ) -> AliasRequest:
        """Reject a pending request (the alias does not move); return it."""
        path = f"{self._path(project_id)}/alias-requests/{segment(request_id)}/reject"
        return alias_request_from_dict(self._http.request("POST", path))
