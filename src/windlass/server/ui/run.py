"""``/runs/{run_id}``: one run — status, source, params, tags, charts, artifacts, models.

The metric charts are drawn by ``static/charts.js`` from the REST API's
``/api/v1/runs/{id}/metric-series`` (downsampled for the overview, the visible range again
on zoom). Everything else is server-rendered. ``/runs/{run_id}/artifact?path=`` serves a
file of the run for an ``<img>`` or a sandboxed ``<iframe>`` (images and HTML only inline;
anything else downloads).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from windlass.access.policy import Permission
from windlass.entities import ModelVersion, Run
from windlass.exceptions import WindlassError
from windlass.server.ui.artifacts import Preview, kind_of, preview, raw_headers
from windlass.server.ui.render import render
from windlass.server.ui.runs import format_number
from windlass.server.ui.session import Viewer, serve_page

router = APIRouter(include_in_schema=False)
#: Artifact files listed on a run page.
MAX_LISTED_ARTIFACTS = 500
#: The registry scan for the versions a run produced: models, and versions of each.
SCANNED_MODELS = 50
SCANNED_VERSIONS = 50
#: Metric charts drawn on a run page (the rest are listed).
MAX_CHARTS = 60


def produced_versions(viewer: Viewer, run: Run) -> list[ModelVersion]:
    """Return the model versions registered from ``run`` (a bounded scan of its project)."""
    registry = viewer.services.registry.acting_as(viewer.principal)
    found: list[ModelVersion] = []
    for model in registry.list_models(run.project_id, SCANNED_MODELS).items:
        versions = registry.list_versions(run.project_id, model.name, SCANNED_VERSIONS).items
        found.extend(v for v in versions if v.run_id == run.id)
    return found


@router.get("/runs/{run_id}")
async def run_page(
    request: Request,
    run_id: str,
    artifact: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    """Return the page of a run (``artifact``: the file whose preview is open)."""

    def build(viewer: Viewer) -> Response:
        tracking = viewer.tracking
        run = tracking.get_run(run_id)
        project = tracking.get_project(run.project_id)
        files = tracking.walk_artifacts(run_id)
        shown: Preview | None = None
        if artifact:
            try:
                shown = preview(tracking, run_id, artifact)
            except WindlassError as error:
                shown = Preview(artifact, "none", 0, problem=error.message)
        return render(
            viewer,
            "run.html",
            {
                "project": project,
                "area": "runs",
                "run": run,
                "metrics": sorted(run.metrics.values(), key=lambda m: m.key),
                "chart_keys": sorted(run.metrics)[:MAX_CHARTS],
                "files": files[:MAX_LISTED_ARTIFACTS],
                "more_files": len(files) > MAX_LISTED_ARTIFACTS,
                "kind_of": kind_of,
                "shown": shown,
                "inputs": tracking.list_inputs(run_id),
                "versions": produced_versions(viewer, run),
                "format_number": format_number,
                "tags": {k: v for k, v in sorted(run.tags.items())},
            },
        )

    return await serve_page(request, Permission.READ, build)


@router.get("/runs/{run_id}/artifact")
async def raw_artifact(
    request: Request,
    run_id: str,
    path: Annotated[str, Query(min_length=1, max_length=1024)],
) -> Response:
    """Serve one artifact file of a run (images and sandboxed HTML inline, else a download)."""

    def build(viewer: Viewer) -> Response:
        tracking = viewer.tracking
        entry = tracking.get_artifact(run_id, path)
        media_type, headers = raw_headers(entry.path)
        stream = tracking.blobs.open_stream(entry.digest)

        def chunks() -> Iterator[bytes]:
            with stream:
                while chunk := stream.read(1 << 20):
                    yield chunk

        return StreamingResponse(
            chunks(),
            media_type=media_type,
            headers={**headers, "content-length": str(entry.size)},
        )

    return await serve_page(request, Permission.READ, build, switcher=False)
