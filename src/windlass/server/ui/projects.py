"""``/`` and ``/projects``: the projects the viewer may read; ``/runs``: the switcher's target."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from windlass.access.policy import Permission
from windlass.server.ui.render import render
from windlass.server.ui.session import Viewer, serve_page

router = APIRouter(include_in_schema=False)
#: Projects listed per page.
PROJECTS_PER_PAGE = 100


@router.get("/")
def home() -> Response:
    """Send the browser to the projects page."""
    return RedirectResponse("/projects", status_code=303)


@router.get("/projects")
async def projects_page(
    request: Request,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Return the page listing the projects the viewer may read."""

    def build(viewer: Viewer) -> Response:
        page = viewer.tracking.list_projects(PROJECTS_PER_PAGE, page_token)
        return render(
            viewer,
            "projects.html",
            {
                "project": None,
                "projects": page.items,
                "next_page_token": page.next_page_token,
            },
        )

    return await serve_page(request, Permission.AUTHENTICATED, build)


@router.get("/runs")
def switch_project(project: Annotated[str, Query(max_length=256)] = "") -> Response:
    """Send the browser to the runs of the project the header's switcher chose."""
    if not project:
        return RedirectResponse("/projects", status_code=303)
    return RedirectResponse(f"/projects/{quote(project, safe='')}/runs", status_code=303)
