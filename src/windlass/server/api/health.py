"""``/health`` (liveness) and ``/metrics`` (Prometheus) of the tracking server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from windlass import __version__
from windlass.access.policy import Permission
from windlass.server.api.common import ResponseBody, errors, requires
from windlass.server.deps import server_metrics
from windlass.server.metrics import TrackingServerMetrics

router = APIRouter(tags=["health"])
MetricsDep = Annotated[TrackingServerMetrics, Depends(server_metrics)]


class Health(ResponseBody):
    """The server answers: its status and windlass version."""

    status: str
    version: str


@router.get("/health", response_model=Health, responses=errors(), **requires(Permission.PUBLIC))
def health() -> dict[str, Any]:
    """Liveness: the server answers."""
    return {"status": "ok", "version": __version__}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(),
    },
    **requires(Permission.PUBLIC),
)
def metrics(server: MetricsDep) -> Response:
    """Prometheus metrics: REST requests, spans ingested and duplicate, OTLP, ingest lag."""
    body, content_type = server.render()
    return Response(body, media_type=content_type)
