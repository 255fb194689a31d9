"""Shared route dependencies: the services container, each service of it, the project.

Every service a handler needs comes from the one :class:`~windlass.server.container.Services`
of its app (:func:`services`); the per-service dependencies below only pick a field of it,
so a handler names the service it calls and nothing else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from windlass.access.identity import Identity
from windlass.entities import Project
from windlass.exceptions import Unauthenticated
from windlass.genai.prompts.registry import PromptRegistry
from windlass.genai.tracing.service import TraceService
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal, server_principal
from windlass.server.container import Services, app_services
from windlass.server.metrics import TrackingServerMetrics
from windlass.serving.deployments import DeploymentService
from windlass.tracking.service import Tracking


def services(request: Request) -> Services:
    """Return the services container of the request's app."""
    return app_services(request.app)


ServicesDep = Annotated[Services, Depends(services)]


def tracking(container: ServicesDep) -> Tracking:
    """Return the app's tracking domain object."""
    return container.tracking


def registry(container: ServicesDep) -> ModelRegistry:
    """Return the app's model registry domain object."""
    return container.registry


def deployments(container: ServicesDep) -> DeploymentService:
    """Return the app's deployments domain object."""
    return container.deployments


def trace_service(container: ServicesDep) -> TraceService:
    """Return the app's traces domain object."""
    return container.traces


def prompts(container: ServicesDep) -> PromptRegistry:
    """Return the app's prompt registry domain object (made on first use)."""
    return container.prompts


def server_metrics(container: ServicesDep) -> TrackingServerMetrics:
    """Return the app's Prometheus metrics."""
    return container.metrics


def identity(container: ServicesDep) -> Identity:
    """Return the app's identity domain object (users, tokens, members)."""
    return container.identity


def current_principal(request: Request) -> Principal:
    """Return the principal of the request, whose name every write of the request records.

    With auth on, the user of the request's ``Authorization: Bearer`` token (no header or
    a bad token: 401 ``UNAUTHENTICATED``; an address past ``WINDLASS_AUTH_MAX_FAILURES``
    bad tokens in the window: 429 with ``Retry-After``). With auth off, a local, unauthenticated
    principal named by ``WINDLASS_SERVER_USER``. Never a name from the request body, never
    the server process's OS login.
    """
    container = app_services(request.app)
    if not container.auth:
        return server_principal()
    address = request.client.host if request.client is not None else None
    limiter = container.auth_failures
    limiter.check(address or "unknown")  # past the failure limit: 429, whatever is sent
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(
            "authentication required: send an API token as a bearer token (WINDLASS_TOKEN)"
        )
    try:
        return container.identity.authenticate(secret.strip(), address)
    except Unauthenticated:
        limiter.failed(address or "unknown")
        raise


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def project(
    project: Annotated[str, Path(max_length=256, description="Project name or id")],
    service: Annotated[Tracking, Depends(tracking)],
) -> Project:
    """Return the project named (by name or id) in the request path."""
    return service.get_project(project)
