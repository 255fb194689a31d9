"""The REST client: a :class:`MetadataStore` that talks to a ``windlass server`` over HTTP.

Requests that fail to connect, time out, or get 502/503/504 are retried with exponential
backoff (``WINDLASS_HTTP_RETRIES`` attempts). Every write of the API is idempotent (ids are
made by the client), so a retry that reached the server twice changes nothing twice.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from windlass import config
from windlass.entities import (
    ArtifactEntry,
    ArtifactListing,
    MetricBatch,
    MetricPoint,
    Page,
    Project,
    Run,
    RunSource,
    RunStatus,
    ViewType,
    decode_float,
)
from windlass.exceptions import BackendUnavailable, error_from_dict
from windlass.store.bulk import paused_gc
from windlass.store.rest_deployments import RestDeployments
from windlass.store.rest_prompts import RestPrompts
from windlass.store.rest_registry import RestRegistry
from windlass.store.rest_traces import RestTraces

_RETRY_STATUS = {502, 503, 504}


def _project(data: dict[str, Any]) -> Project:
    return Project(data["id"], data["name"], int(data["created_at"]), data.get("description", ""))


class RestStore(RestRegistry, RestDeployments, RestTraces, RestPrompts):
    """A :class:`MetadataStore` backed by a windlass server's REST API.

    The model registry and run inputs live in
    :class:`~windlass.store.rest_registry.RestRegistry`, deployments in
    :class:`~windlass.store.rest_deployments.RestDeployments`, traces in
    :class:`~windlass.store.rest_traces.RestTraces`.
    """

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        timeout: float = config.settings.http_timeout_seconds
        self.client = client or httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )
        self.retries: int = config.settings.http_retries

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """Send one API request (with retries) and return its decoded JSON body."""
        content = None if json is None else orjson.dumps(json)
        headers = {"content-type": "application/json"} if content is not None else None
        delay = 0.2
        for attempt in range(1, self.retries + 1):
            try:
                response = self.client.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise BackendUnavailable(
                        f"cannot reach windlass server at {self.base_url}: {exc!r}",
                        url=self.base_url,
                    ) from None
            else:
                if response.status_code not in _RETRY_STATUS or attempt == self.retries:
                    return self._decode(response)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _decode(self, response: httpx.Response) -> Any:
        body: Any = None
        if response.content:
            try:
                with paused_gc():  # a search page decodes into tens of thousands of objects
                    body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                body = {"message": response.text[:500]}
        if response.is_success:
            return body
        if not isinstance(body, dict):
            body = {}
        raise error_from_dict(body, response.status_code)

    # -- projects ------------------------------------------------------------------------
    def get_or_create_project(self, name: str, project_id: str, created_at: int) -> Project:
        """Return the named project, creating it on the server if needed."""
        return _project(
            self.request(
                "POST",
                "/api/v1/projects",
                json={"name": name, "id": project_id, "created_at": created_at},
            )
        )

    def get_project(self, name_or_id: str) -> Project:
        """Return a project by name or id."""
        return _project(self.request("GET", f"/api/v1/projects/{name_or_id}"))

    def list_projects(self, max_results: int = 100, page_token: str | None = None) -> Page[Project]:
        """Return one page of projects."""
        params: dict[str, Any] = {"max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        body = self.request("GET", "/api/v1/projects", params=params)
        return Page([_project(p) for p in body["projects"]], body.get("next_page_token"))

    # -- runs ----------------------------------------------------------------------------
    def create_run(
        self,
        *,
        run_id: str,
        project_id: str,
        name: str,
        start_time: int,
        parent_run_id: str | None,
        source: RunSource,
        tags: dict[str, str],
    ) -> Run:
        """Create a run on the server."""
        return Run.from_dict(
            self.request(
                "POST",
                "/api/v1/runs",
                json={
                    "run_id": run_id,
                    "project_id": project_id,
                    "name": name,
                    "start_time": start_time,
                    "parent_run_id": parent_run_id,
                    "source": source.to_dict(),
                    "tags": tags,
                },
            )
        )

    def get_run(self, run_id: str) -> Run:
        """Return one run."""
        return Run.from_dict(self.request("GET", f"/api/v1/runs/{run_id}"))

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> Run:
        """Change a run's status, end time or name."""
        body = {
            "status": None if status is None else status.value,
            "end_time": end_time,
            "name": name,
        }
        return Run.from_dict(self.request("PATCH", f"/api/v1/runs/{run_id}", json=body))

    def heartbeat(self, run_id: str, at: int) -> None:
        """Record a heartbeat."""
        self.request("POST", f"/api/v1/runs/{run_id}/heartbeat", json={"at": at})

    def fail_stale_runs(self, heartbeat_before: int) -> list[str]:
        """Ask the server to fail stale runs."""
        body = self.request(
            "POST", "/api/v1/runs/fail-stale", json={"heartbeat_before": heartbeat_before}
        )
        return list(body["run_ids"])

    def set_run_deleted(self, run_id: str, deleted: bool, at: int) -> Run:
        """Soft-delete or restore a run."""
        if deleted:
            return Run.from_dict(self.request("DELETE", f"/api/v1/runs/{run_id}"))
        return Run.from_dict(self.request("POST", f"/api/v1/runs/{run_id}/restore"))

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        """Log params."""
        if params:
            self.request("POST", f"/api/v1/runs/{run_id}/params", json={"params": params})

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set tags."""
        if tags:
            self.request("POST", f"/api/v1/runs/{run_id}/tags", json={"tags": tags})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag."""
        self.request("DELETE", f"/api/v1/runs/{run_id}/tags", params={"key": key})

    def log_metrics(self, batch: MetricBatch) -> int:
        """Send a metric batch."""
        if not batch.keys:
            return 0
        return int(self.request("POST", "/api/v1/metrics", json=batch.to_dict())["stored"])

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = 100_000, page_token: str | None = None
    ) -> Page[MetricPoint]:
        """Return one page of a metric's history."""
        params: dict[str, Any] = {"key": key, "max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        body = self.request("GET", f"/api/v1/runs/{run_id}/metric-history", params=params)
        with paused_gc():
            points = [
                MetricPoint(key, decode_float(val), step, ts)
                for step, ts, val in zip(
                    body["steps"], body["timestamps"], body["values"], strict=True
                )
            ]
        return Page(points, body.get("next_page_token"))

    def search_runs(
        self,
        projects: list[str] | None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType = ViewType.ACTIVE,
    ) -> Page[Run]:
        """Search runs on the server."""
        body = self.request(
            "POST",
            "/api/v1/runs/search",
            json={
                "projects": projects,
                "filter": filter,
                "order_by": order_by,
                "max_results": max_results,
                "page_token": page_token,
                "view": view.value,
            },
        )
        with paused_gc():
            runs = [Run.from_dict(r) for r in body["runs"]]
        return Page(runs, body.get("next_page_token"))

    # -- artifact index ------------------------------------------------------------------
    def record_artifacts(self, run_id: str, entries: list[ArtifactEntry]) -> None:
        """Record uploaded files of a run."""
        if entries:
            self.request(
                "POST",
                f"/api/v1/runs/{run_id}/artifacts",
                json={"entries": [e.to_dict() for e in entries]},
            )

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactListing]:
        """List one folder level of a run's artifacts."""
        body = self.request("GET", f"/api/v1/runs/{run_id}/artifacts", params={"path": path})
        return [
            ArtifactListing(f["path"], f["is_dir"], f.get("size"), f.get("digest"))
            for f in body["files"]
        ]

    def walk_artifacts(self, run_id: str, path: str = "") -> list[ArtifactEntry]:
        """Return every file under ``path``."""
        body = self.request("GET", f"/api/v1/runs/{run_id}/artifacts/walk", params={"path": path})
        return [ArtifactEntry(e["path"], e["digest"], int(e["size"])) for e in body["entries"]]

    def get_artifact(self, run_id: str, path: str) -> ArtifactEntry:
        """Return one file's entry."""
        e = self.request("GET", f"/api/v1/runs/{run_id}/artifacts/entry", params={"path": path})
        return ArtifactEntry(e["path"], e["digest"], int(e["size"]))
