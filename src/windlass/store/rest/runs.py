"""The REST client's run store: projects, runs, params, tags, metrics and run inputs.

Each call is one request to ``/api/v1/projects``, ``/api/v1/runs/...`` or
``/api/v1/metrics``; the server answers through its tracking domain.
"""

from __future__ import annotations

from typing import Any

from windlass.entities import (
    DatasetInput,
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
from windlass.entities.common import DEFAULT_PROTECTED_ALIASES
from windlass.store.bulk import paused_gc
from windlass.store.rest.transport import RestTransport, paging, segment
from windlass.store.runs import RunStore


def project_from_dict(data: dict[str, Any]) -> Project:
    """Return the project of a REST answer, with its settings (absent: the defaults)."""
    protected = data.get("protected_aliases")
    return Project(
        data["id"],
        data["name"],
        int(data["created_at"]),
        data.get("description", ""),
        protected_aliases=DEFAULT_PROTECTED_ALIASES if protected is None else tuple(protected),
        two_person_review=bool(data.get("two_person_review", False)),
    )


class RestRunStore(RunStore):
    """Projects, runs, params, tags, metrics and run inputs over the REST API."""

    def __init__(self, http: RestTransport) -> None:
        self._http = http

    # -- projects ------------------------------------------------------------------------
    def get_or_create_project(self, name: str, project_id: str, created_at: int) -> Project:
        """Return the named project, creating it on the server if needed."""
        return project_from_dict(
            self._http.request(
                "POST",
                "/api/v1/projects",
                json={"name": name, "id": project_id, "created_at": created_at},
            )
        )

    def get_project(self, name_or_id: str) -> Project:
        """Return a project by name or id."""
        return project_from_dict(self._http.request("GET", f"/api/v1/projects/{name_or_id}"))

    def list_projects(self, max_results: int = 100, page_token: str | None = None) -> Page[Project]:
        """Return one page of projects."""
        params = paging(max_results, page_token)
        body = self._http.request("GET", "/api/v1/projects", params=params)
        return Page([project_from_dict(p) for p in body["projects"]], body.get("next_page_token"))

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
            self._http.request(
                "POST",
                "/api/v1/runs",
                json={
                    "run_id": run_id,
                    "project_id": project_id,
                    "name": name,
                    "start_time": start_time,
                    "parent_run_id": parent_run_id,
                    # Who ran it is the server's principal of this request, never a claim.
                    "source": {k: v for k, v in source.to_dict().items() if k != "user"},
                    "tags": tags,
                },
            )
        )

    def get_run(self, run_id: str) -> Run:
        """Return one run."""
        return Run.from_dict(self._http.request("GET", f"/api/v1/runs/{run_id}"))

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
        return Run.from_dict(self._http.request("PATCH", f"/api/v1/runs/{run_id}", json=body))

    def heartbeat(self, run_id: str, at: int) -> None:
        """Record a heartbeat."""
        self._http.request("POST", f"/api/v1/runs/{run_id}/heartbeat", json={"at": at})

    def fail_stale_runs(self, heartbeat_before: int) -> list[str]:
        """Ask the server to fail stale runs."""
        body = self._http.request(
            "POST", "/api/v1/runs/fail-stale", json={"heartbeat_before": heartbeat_before}
        )
        return list(body["run_ids"])

    def set_run_deleted(self, run_id: str, deleted: bool, at: int) -> Run:
        """Soft-delete or restore a run."""
        if deleted:
            return Run.from_dict(self._http.request("DELETE", f"/api/v1/runs/{run_id}"))
        return Run.from_dict(self._http.request("POST", f"/api/v1/runs/{run_id}/restore"))

    def log_params(self, run_id: str, params: dict[str, str], *, logged_by: str = "") -> None:
        """Log params; ``logged_by`` is not sent (the server records its request's principal)."""
        if params:
            self._http.request("POST", f"/api/v1/runs/{run_id}/params", json={"params": params})

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set tags."""
        if tags:
            self._http.request("POST", f"/api/v1/runs/{run_id}/tags", json={"tags": tags})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag."""
        self._http.request("DELETE", f"/api/v1/runs/{run_id}/tags", params={"key": key})

    def log_metrics(self, batch: MetricBatch) -> int:
        """Send a metric batch."""
        if not batch.keys:
            return 0
        return int(self._http.request("POST", "/api/v1/metrics", json=batch.to_dict())["stored"])

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = 100_000, page_token: str | None = None
    ) -> Page[MetricPoint]:
        """Return one page of a metric's history."""
        params: dict[str, Any] = {"key": key, "max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        body = self._http.request("GET", f"/api/v1/runs/{run_id}/metric-history", params=params)
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
        body = self._http.request(
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

    # -- run inputs ----------------------------------------------------------------------
    def log_inputs(self, run_id: str, inputs: list[DatasetInput]) -> None:
        """Record datasets a run read."""
        self._http.request(
            "POST",
            f"/api/v1/runs/{segment(run_id)}/inputs",
            json={"inputs": [d.to_dict() for d in inputs]},
        )

    def list_inputs(self, run_id: str) -> list[DatasetInput]:
        """Return the datasets a run read, in the order they were first logged."""
        body = self._http.request("GET", f"/api/v1/runs/{segment(run_id)}/inputs")
        return [DatasetInput.from_dict(d) for d in body["inputs"]]
