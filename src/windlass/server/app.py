"""The FastAPI application of ``windlass server``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import Response

from windlass import __version__, config
from windlass.exceptions import ConfigError
from windlass.genai.tracing.service import TraceService
from windlass.models.registry import ModelRegistry
from windlass.server.errors import install_error_handlers
from windlass.server.limits import BodySizeLimit
from windlass.server.metrics import RequestMetrics, TrackingServerMetrics
from windlass.server.openapi import install_exact_openapi
from windlass.server.routes import (
    artifacts,
    deployments,
    models,
    otlp,
    projects,
    prompts,
    runs,
    traces,
)
from windlass.serving.api_docs import api_docs_routes
from windlass.serving.deployments import DeploymentService
from windlass.tracking.service import Tracking

logger = logging.getLogger("windlass.server")


async def _sweep_stale_runs(service: Tracking) -> None:
    stale: float = config.settings.stale_run_seconds
    while True:
        try:
            failed = await anyio.to_thread.run_sync(service.fail_stale_runs, stale)
            if failed:
                logger.warning("marked %d stale run(s) failed: %s", len(failed), failed)
        except Exception:
            logger.exception("stale-run sweep failed")
        await asyncio.sleep(min(stale / 4, 60.0))


def create_app(service: Tracking) -> FastAPI:
    """Return the REST API over a tracking service."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far lives as long as the server: move it out of the cyclic
        # collector's sight, so full collections during big responses stay cheap.
        gc.freeze()
        sweeper = asyncio.create_task(_sweep_stale_runs(service))
        try:
            yield
        finally:
            sweeper.cancel()
            service.close()

    app = FastAPI(
        title="windlass",
        version=__version__,
        lifespan=lifespan,
        description="Tracking, artifacts and registry REST API of windlass.",
        docs_url=None,
        redoc_url=None,
    )
    app.router.routes.extend(api_docs_routes("/openapi.json", "windlass"))
    app.state.tracking = service
    app.state.registry = ModelRegistry(service.store, service.blobs)
    app.state.deployments = DeploymentService(service.store)
    app.state.traces = TraceService(service.store)
    app.state.metrics = TrackingServerMetrics()
    install_error_handlers(app)
    install_exact_openapi(app)
    app.add_middleware(BodySizeLimit, limit=config.settings.max_request_bytes)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness: the server answers."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    def metrics() -> Response:
        """Prometheus metrics: REST requests, spans ingested and duplicate, OTLP, ingest lag."""
        body, content_type = app.state.metrics.render()
        return Response(body, media_type=content_type)

    app.include_router(projects.router)
    app.include_router(runs.router)
    app.include_router(artifacts.router)
    app.include_router(models.router)
    app.include_router(deployments.router)
    app.include_router(traces.by_project)
    app.include_router(traces.any_project)
    app.include_router(otlp.router)
    app.include_router(prompts.router)
    install_exact_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """Build the app from ``WINDLASS_SERVER_STORE`` / ``WINDLASS_SERVER_ARTIFACTS``.

    This is the factory uvicorn worker processes call.
    """
    from windlass.tracking.backend import open_tracking
    from windlass.uris import StoreKind, store_kind

    store_uri = config.settings.server_store or config.default_store_uri()
    if store_kind(store_uri) is not StoreKind.SQL:
        raise ConfigError(f"the server needs a SQL store, not {store_uri!r}")
    artifacts_uri = config.settings.server_artifacts or config.default_artifact_uri()
    return create_app(open_tracking(store_uri, artifacts_uri))
