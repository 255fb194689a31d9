"""Who is looking at a page, and the one path every page is served through.

:func:`serve_page` resolves the request's principal exactly as the REST API does
(:func:`windlass.server.deps.current_principal`: a bearer token, or the session cookie the
sign-in left) and runs the same permission check the API's ``requires`` declares
(:func:`windlass.server.deps.permission_check`). With auth on and no credentials the
browser is sent to ``/login?next=...``; a refused or missing object gets an error page
with the error's status. The page itself is built in a worker thread by domain services
bound to the principal, which check again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import Request
from starlette.responses import RedirectResponse, Response

from windlass.access.policy import Permission
from windlass.entities import Page, Project
from windlass.exceptions import Unauthenticated, WindlassError
from windlass.principal import Principal
from windlass.server.container import Services, app_services
from windlass.server.deps import current_principal, permission_check
from windlass.tracking.service import Tracking

#: Projects the switcher in the page header lists (the projects page lists them all).
SWITCHER_PROJECTS = 100


@dataclass
class Viewer:
    """The principal a page is served to, with the app's services bound to it."""

    principal: Principal
    services: Services
    auth: bool
    projects: list[Project] = field(default_factory=list)

    @property
    def tracking(self) -> Tracking:
        """Return the tracking service acting as the viewer."""
        return self.services.tracking.acting_as(self.principal)

    def can(self, permission: str, project_id: str | None = None) -> bool:
        """Return whether the viewer may do what ``permission`` allows (in ``project_id``).

        Templates call it to render a control only for principals allowed to use it; the
        route the control calls checks again.
        """
        wanted = Permission(permission)
        policy = self.services.access.policy
        if not policy.enabled:
            return True
        if project_id is None:
            if wanted is Permission.SERVER_ADMIN:
                return self.principal.server_admin
            return self.principal.authenticated
        return policy.allows(self.principal, wanted, project_id)


def login_redirect(request: Request) -> RedirectResponse:
    """Return a redirect to the sign-in page, coming back to the requested page after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def error_page(viewer: Viewer | None, error: WindlassError) -> Response:
    """Return the error page of a domain error, with its HTTP status."""
    from windlass.server.ui.render import render

    return render(
        viewer,
        "error.html",
        {"error": error, "status": error.http_status, "project": None},
        status=error.http_status,
    )


async def serve_page(
    request: Request,
    permission: Permission,
    build: Callable[[Viewer], Response],
    *,
    switcher: bool = True,
) -> Response:
    """Return the page ``build`` makes for the request's principal, once allowed to see it.

    ``switcher``: list the viewer's projects for the header's project switcher (pages do;
    files served for a page do not).
    """
    container = app_services(request.app)
    try:
        who = await current_principal(request)
    except Unauthenticated:
        return login_redirect(request)
    except WindlassError as refused:  # 429: too many failed sign-ins from here
        return error_page(None, refused)
    viewer = Viewer(who, container, container.auth)
    try:
        await permission_check(permission)(request)
        return await anyio.to_thread.run_sync(_built, viewer, build, switcher)
    except Unauthenticated:
        return login_redirect(request)
    except WindlassError as error:
        return error_page(viewer, error)


def _built(viewer: Viewer, build: Callable[[Viewer], Response], switcher: bool) -> Response:
    if switcher:
        viewer.projects = viewer.tracking.list_projects(SWITCHER_PROJECTS).items
    return build(viewer)


async def serve_listing(
    request: Request,
    project: str,
    area: str,
    list_page: Callable[[Viewer, str], Page[Any]],
) -> Response:
    """Return a project's listing page of ``area`` (``models``, ``prompts``, ...).

    ``list_page(viewer, project_id)`` returns the page of objects named by the request's
    ``page_token``; the template ``<area>.html`` gets them as ``<area>``, with
    ``next_page_token`` and the project.
    """
    from windlass.server.ui.render import render

    def build(viewer: Viewer) -> Response:
        found = viewer.tracking.get_project(project)
        page = list_page(viewer, found.id)
        context = {"project": found, "area": area, area: page.items}
        context["next_page_token"] = page.next_page_token
        return render(viewer, f"{area}.html", context)

    return await serve_page(request, Permission.READ, build)
