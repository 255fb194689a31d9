"""Shared route dependencies: the services container, each service of it, the project.

Every service a handler needs comes from the one :class:`~windlass.server.container.Services`
of its app (:func:`services`); the per-service dependencies below only pick a field of it,
so a handler names the service it calls and nothing else. Each service comes bound to the
request's principal (``acting_as``), so handlers never pass a principal themselves, and
:func:`permission_check` is the one dependency ``requires`` adds to every route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Path, Request

from windlass.access.identity import Identity
from windlass.access.policy import Permission
from windlass.entities import Project
from windlass.exceptions import PermissionDenied, Unauthenticated
from windlass.genai.prompts.registry import PromptRegistry
from windlass.genai.tracing.service import TraceService
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal, server_principal
from windlass.server.container import Services, app_services
from windlass.server.metrics import TrackingServerMetrics
from windlass.serving.deployments import DeploymentService
from windlass.tracking.service import Tracking
from windlass.versioning.governance import ProjectGovernance


async def services(request: Request) -> Services:
    """Return the services container of the request's app."""
    return app_services(request.app)


ServicesDep = Annotated[Services, Depends(services)]

#: Where the request's principal is kept once resolved (one resolution per request).
_PRINCIPAL_STATE = "windlass_principal"


async def current_principal(request: Request) -> Principal:
    """Return the principal of the request, whose name every write of the request records.

    With auth on, the user of the request's ``Authorization: Bearer`` token, or without that
    header, of the :data:`SESSION_COOKIE` an OIDC login set (a change by cookie needs the
    :data:`CSRF_HEADER` header: 403 without it) (no credentials or bad ones: 401
    ``UNAUTHENTICATED``; a bad token from an address past
    ``WINDLASS_AUTH_MAX_FAILURES`` failures in the window: 429 with ``Retry-After``). A valid
    token always passes: an attacker guessing from behind the same proxy or NAT does not
    lock its users out, and tokens are too random to guess. Each bad token is audited
    (``auth.fail``) until its address is over the limit. With auth off, a local,
    unauthenticated principal named by ``WINDLASS_SERVER_USER``. Never a name from the
    request body, never the server process's OS login.

    A token verified recently is answered from the identity cache on the event loop; any
    other goes to a worker thread (a store lookup, maybe an audit record).
    """
    found: Principal | None = getattr(request.state, _PRINCIPAL_STATE, None)
    if found is None:
        container = app_services(request.app)
        if not container.auth:
            found = server_principal()
        else:
            secret = _credential(request)
            address = _address(request)
            found = container.identity.cached_principal(secret, address)
            if found is None:
                found = await anyio.to_thread.run_sync(_verify, container, secret, address)
        setattr(request.state, _PRINCIPAL_STATE, found)
    return found


def principal_of(request: Request) -> Principal:
    """Return the request's principal from a worker thread (a sync dependency).

    The same answer as :func:`current_principal`, which has usually resolved it already.
    """
    found: Principal | None = getattr(request.state, _PRINCIPAL_STATE, None)
    if found is None:
        container = app_services(request.app)
        if not container.auth:
            found = server_principal()
        else:
            found = _verify(container, _credential(request), _address(request))
        setattr(request.state, _PRINCIPAL_STATE, found)
    return found


def _address(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def _credential(request: Request) -> str:
    """Return the secret the request authenticates with (401 if none)."""
    header = request.headers.get("authorization")
    scheme, _, secret = (header or "").partition(" ")
    if header is None and SESSION_COOKIE in request.cookies:
        return _session_secret(request).strip()
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(
            "authentication required: send an API token as a bearer token (WINDLASS_TOKEN)"
        )
    return secret.strip()


def _verify(container: Services, secret: str, address: str | None) -> Principal:
    """Authenticate ``secret`` against the store, counting and auditing a failure."""
    limiter, source = container.auth_failures, address or "unknown"
    # Past the limit an address's failures are refused (429) and no longer audited: a
    # flood of bad tokens costs a lookup each, never a row in the audit trail.
    audit_failure = limiter.retry_after(source) <= 0
    try:
        return container.identity.authenticate(secret, address, audit_failure=audit_failure)
    except Unauthenticated:
        limiter.check(source)  # past the failure limit: 429
        limiter.failed(source)
        raise


#: The cookie an OIDC browser login leaves: an API token (HttpOnly, SameSite=Lax).
SESSION_COOKIE = "windlass_session"
#: The header a request authenticated by :data:`SESSION_COOKIE` must carry to change
#: anything (any value): a page of another site cannot send a custom header without a CORS
#: preflight this server never grants with credentials, so it cannot act as the user.
CSRF_HEADER = "x-windlass-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _session_secret(request: Request) -> str:
    """Return the session cookie's token, refusing an unsafe method without the CSRF header."""
    if request.method not in _SAFE_METHODS and not request.headers.get(CSRF_HEADER):
        raise PermissionDenied(
            f"a request authenticated by the {SESSION_COOKIE} cookie must send the "
            f"{CSRF_HEADER} header to change anything (a defence against cross-site requests)",
            header=CSRF_HEADER,
        )
    return request.cookies[SESSION_COOKIE]


PrincipalDep = Annotated[Principal, Depends(current_principal)]

# Each service dependency takes the request only: FastAPI analyses a dependency's signature
# once per route that uses it, so a flat one keeps building ~90 routes at start-up cheap.


async def tracking(request: Request) -> Tracking:
    """Return the app's tracking domain object, acting as the request's principal."""
    return app_services(request.app).tracking.acting_as(await current_principal(request))


async def registry(request: Request) -> ModelRegistry:
    """Return the app's model registry domain object, acting as the request's principal."""
    return app_services(request.app).registry.acting_as(await current_principal(request))


async def deployments(request: Request) -> DeploymentService:
    """Return the app's deployments domain object, acting as the request's principal."""
    return app_services(request.app).deployments.acting_as(await current_principal(request))


async def trace_service(request: Request) -> TraceService:
    """Return the app's traces domain object, acting as the request's principal."""
    return app_services(request.app).traces.acting_as(await current_principal(request))


async def prompts(request: Request) -> PromptRegistry:
    """Return the app's prompt registry (made on first use), acting as the request's principal."""
    return app_services(request.app).prompts.acting_as(await current_principal(request))


async def governance(request: Request) -> ProjectGovernance:
    """Return project settings and alias approvals, acting as the request's principal."""
    return app_services(request.app).governance.acting_as(await current_principal(request))


async def server_metrics(request: Request) -> TrackingServerMetrics:
    """Return the app's Prometheus metrics."""
    return app_services(request.app).metrics


async def identity(request: Request) -> Identity:
    """Return the app's identity domain object (users, tokens, members)."""
    return app_services(request.app).identity


#: Where :func:`permission_check` leaves the project it resolved, for :func:`project`.
_PROJECT_STATE = "windlass_project"


def permission_check(permission: Permission) -> Callable[..., Awaitable[None]]:
    """Return a route dependency enforcing ``permission`` early (see ``requires``).

    With auth off it does nothing. Else the principal must be authenticated, a server
    admin for ``server_admin``, and, where the path names a ``{project}``, hold the
    permission there. Routes naming their object by id only (a run, a trace) are checked
    by the domain service in the object's project, which hides other projects' objects.
    """

    async def check(request: Request) -> None:
        container = app_services(request.app)
        access = container.access
        if not access.enabled or permission is Permission.PUBLIC:
            return
        who = await current_principal(request)
        access.require(who, Permission.AUTHENTICATED)
        if permission is Permission.SERVER_ADMIN:
            access.require(who, permission)
            return
        name = request.path_params.get("project")
        if permission is Permission.AUTHENTICATED or name is None:
            return
        found: Project = await anyio.to_thread.run_sync(
            container.tracking.store.runs.get_project, name
        )
        access.require(who, permission, found.id)
        setattr(request.state, _PROJECT_STATE, found)

    check.__name__ = f"require_{permission.value}"
    return check


def project(
    request: Request,
    project: Annotated[str, Path(max_length=256, description="Project name or id")],
) -> Project:
    """Return the project named (by name or id) in the request path (readable by the caller)."""
    found: Project | None = getattr(request.state, _PROJECT_STATE, None)
    if found is not None and project in (found.name, found.id):
        return found  # resolved, and checked, by the route's permission check
    service = app_services(request.app).tracking.acting_as(principal_of(request))
    return service.get_project(project)
