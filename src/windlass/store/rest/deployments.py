"""The REST client's deployments .

Each call is one request to ``/api/v1/projects/{project}/deployments/...``; the server
answers through its own deployments domain, so names, weights and model URIs are checked
there again. The deployment id is sent as given (a retried create with the same id returns
the deployment it made); the times (``created_at``, ``updated_at``, an event's ``at``) are
the server's, and so is the event's ``claimed_by``: the server records the principal it
derived from the request, never a name the client sends, so ``claimed_by`` is not sent.

An update is sent as the whole new state (``PATCH`` with variants, shadow, action and
``expected_revision``): the domain above this interface has already worked out what a
weight change, promotion or rollback leads to.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import Deployment, DeploymentEvent, Page, Variant
from windlass.store.deployments import DeploymentStore
from windlass.store.rest.transport import RestTransport, paging, segment


class RestDeploymentStore(DeploymentStore):
    """Deployments and their revision history over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    @staticmethod
    def _deployments(project_id: str, name: str | None = None) -> str:
        path = f"/api/v1/projects/{segment(project_id)}/deployments"
        return path if name is None else f"{path}/{segment(name)}"

    def create_deployment(
        self,
        *,
        deployment_id: str,
        project_id: str,
        name: str,
        description: str,
        variants: list[Variant],
        shadow: Variant | None,
        claimed_by: str,
        at: int,
    ) -> Deployment:
        """Create a deployment on the server (``deployment_id`` makes a retry safe)."""
        return Deployment.from_dict(
            self._http.request(
                "POST",
                self._deployments(project_id),
                json={
                    "deployment_id": deployment_id,
                    "name": name,
                    "description": description,
                    "variants": [v.to_dict() for v in variants],
                    "shadow": None if shadow is None else shadow.to_dict(),
                },
            )
        )

    def get_deployment(self, project_id: str, name: str) -> Deployment:
        """Return a deployment."""
        return Deployment.from_dict(self._http.request("GET", self._deployments(project_id, name)))

    def list_deployments(
        self, project_id: str, max_results: int = 100, page_token: str | None = None
    ) -> Page[Deployment]:
        """Return one page of a project's deployments, by name."""
        params = paging(max_results, page_token)
        body = self._http.request("GET", self._deployments(project_id), params=params)
        return Page(
            [Deployment.from_dict(d) for d in body["deployments"]], body.get("next_page_token")
        )

    def update_deployment(
        self,
        project_id: str,
        name: str,
        *,
        variants: list[Variant],
        shadow: Variant | None,
        action: str,
        claimed_by: str,
        at: int,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Send the deployment's next state."""
        return Deployment.from_dict(
            self._http.request(
                "PATCH",
                self._deployments(project_id, name),
                json={
                    "variants": [v.to_dict() for v in variants],
                    "shadow": None if shadow is None else shadow.to_dict(),
                    "action": action,
                    "expected_revision": expected_revision,
                },
            )
        )

    def deployment_history(
        self,
        project_id: str,
        name: str,
        max_results: int = 100,
        page_token: str | None = None,
        *,
        newest_first: bool = False,
    ) -> Page[DeploymentEvent]:
        """Return one page of a deployment's recorded changes."""
        params: dict[str, Any] = {
            "max_results": max_results,
            "newest_first": "true" if newest_first else "false",
        }
        if page_token:
            params["page_token"] = page_token
        body = self._http.request(
            "GET", f"{self._deployments(project_id, name)}/history", params=params
        )
        return Page(
            [DeploymentEvent.from_dict(e) for e in body["events"]], body.get("next_page_token")
        )

    def get_deployment_revision(self, project_id: str, name: str, revision: int) -> DeploymentEvent:
        """Return the recorded change that made ``revision``."""
        return DeploymentEvent.from_dict(
            self._http.request(
                "GET", f"{self._deployments(project_id, name)}/revisions/{int(revision)}"
            )
        )

    def delete_deployment(self, project_id: str, name: str) -> None:
        """Delete a deployment with its history."""
        self._http.request("DELETE", self._deployments(project_id, name), gone_ok=True)
