"""``/projects/{project}/deployments`` and ``.../deployments/{name}``: deployments.

A deployment's page shows its variants with their weights and the shadow, every recorded
revision, and per-variant request-rate and latency charts that ``static/registry.js``
draws with uPlot from the REST API's ``GET .../deployments/{name}/traffic`` (read from
the prediction log). Promote, set weights and rollback are rendered only for principals
allowed to change the deployment (admin in its project); each asks for confirmation and
then calls the REST route (``promote``, ``PATCH`` with weights, ``rollback``) with the
CSRF header a cookie-authenticated change needs, so the REST API checks again.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from windlass.access.policy import Permission
from windlass.exceptions import InvalidUri
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_listing, serve_page
from windlass.uris import parse_object_uri

router = APIRouter(include_in_schema=False)
#: Deployments listed per page, revisions shown on a deployment page.
DEPLOYMENTS_PER_PAGE = 100
REVISIONS_SHOWN = 100
#: The traffic windows a deployment page offers (minutes), and the buckets per chart.
WINDOWS = {"1h": 60, "6h": 360, "24h": 1440, "7d": 10080}
BUCKETS = 60

ProjectPath = Annotated[str, Path(max_length=256)]
DeploymentPath = Annotated[str, Path(max_length=256)]


def model_link(project: str, uri: str) -> str:
    """Return the UI page a variant's model URI names (a model version or run), or ``""``."""
    try:
        parsed = parse_object_uri(uri)
    except InvalidUri:
        return ""
    if parsed.kind == "runs":
        return f"/runs/{parsed.name}"
    if parsed.kind != "models":
        return ""
    owner = quote(parsed.project or project, safe="")
    page = f"/projects/{owner}/models/{quote(parsed.name, safe='')}"
    return page if parsed.version is None else f"{page}?version={parsed.version}"


@router.get("/projects/{project}/deployments")
async def deployments_page(
    request: Request,
    project: ProjectPath,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Return the page listing a project's deployments."""
    return await serve_listing(
        request,
        project,
        "deployments",
        lambda viewer, pid: viewer.services.deployments.acting_as(viewer.principal).list(
            pid, DEPLOYMENTS_PER_PAGE, page_token
        ),
    )


@router.get("/projects/{project}/deployments/{name}")
async def deployment_page(
    request: Request,
    project: ProjectPath,
    name: DeploymentPath,
    window: Annotated[str, Query(max_length=8)] = "1h",
) -> Response:
    """Return a deployment's page: variants, shadow, revisions, traffic charts, actions."""

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        service = viewer.services.deployments.acting_as(viewer.principal)
        deployment = service.get(found.id, name)
        history = service.history(found.id, name, REVISIONS_SHOWN, newest_first=True)
        total = sum(v.weight for v in deployment.variants) or 1.0
        return render(
            viewer,
            "deployment.html",
            {
                "project": found,
                "area": "deployments",
                "deployment": deployment,
                "share": {v.name: v.weight / total for v in deployment.variants},
                "events": history.items,
                "more_events": history.next_page_token is not None,
                "windows": WINDOWS,
                "window": window if window in WINDOWS else "1h",
                "buckets": BUCKETS,
                "model_link": model_link,
            },
        )

    return await serve_page(request, Permission.READ, build)
