"""Shared route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from windlass.entities import Project
from windlass.genai.tracing.service import TraceService
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal, server_principal
from windlass.server.metrics import TrackingServerMetrics
from windlass.serving.deployments import DeploymentService
from windlass.tracking.service import Tracking


def tracking(request: Request) -> Tracking:
    """Return the app's tracking domain object."""
    service: Tracking = request.app.state.tracking
    return service


def registry(request: Request) -> ModelRegistry:
    """Return the app's model registry domain object."""
    models: ModelRegistry = request.app.state.registry
    return models


def deployments(request: Request) -> DeploymentService:
    """Return the app's deployments domain object."""
    service: DeploymentService = request.app.state.deployments
    return service


def trace_service(request: Request) -> TraceService:
    """Return the app's traces domain object."""
    service: TraceService = request.app.state.traces
    return service


def server_metrics(request: Request) -> TrackingServerMetrics:
    """Return the app's Prometheus metrics."""
    metrics: TrackingServerMetrics = request.app.state.metrics
    return metrics


def current_principal(request: Request) -> Principal:
    """Return the principal of the request, whose name every write of the request records.

    Without authentication (for now) that is a local, unauthenticated principal named by
    ``WINDLASS_SERVER_USER``: never a name from the request body, never the server
    process's OS login. The auth issue derives it from the request's token here.
    """
    return server_principal()


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def project(
    project: Annotated[str, Path(max_length=256, description="Project name or id")],
    service: Annotated[Tracking, Depends(tracking)],
) -> Project:
    """Return the project named (by name or id) in the request path."""
    return service.get_project(project)
