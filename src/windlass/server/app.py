"""The FastAPI application of ``windlass server``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import APIRouter, FastAPI

from windlass import __version__, config
from windlass.exceptions import ConfigError
from windlass.plugins import collect
from windlass.principal import server_principal
from windlass.server.container import Services
from windlass.server.errors import install_error_handlers
from windlass.server.limits import BodySizeLimit
from windlass.server.metrics import RequestMetrics
from windlass.server.openapi import install_exact_openapi
from windlass.server.security_headers import SecurityHeaders
from windlass.serving.api_docs import api_docs_routes
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


def routers() -> list[APIRouter]:
    """Return every router registered through the ``register_routes`` hook, built-ins first."""
    found: list[APIRouter] = []
    for (router,) in collect("register_routes"):
        if not isinstance(router, APIRouter):
            raise ConfigError(
                f"a register_routes plugin registered {router!r}, not a fastapi.APIRouter"
            )
        found.append(router)
    return found


CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"]


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Let browser pages from ``origins`` (exact origins) call the API; none: no CORS at all.

    Without origins no CORS middleware is installed, so no response, preflights included,
    carries an ``Access-Control-Allow-*`` header and browsers keep other sites out.
    Credentials are bearer tokens a page sends itself, not cookies: no
    ``Allow-Credentials``.
    """
    if not origins:
        return
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_HEADERS,
        expose_headers=["Retry-After", "X-Request-Id"],
        max_age=600,
    )


def create_app(service: Tracking, *, auth: bool | None = None) -> FastAPI:
    """Return the REST API over a tracking service (``auth``: default ``WINDLASS_AUTH``)."""
    from windlass.server.oidc import check_settings

    check_settings()  # a bad OIDC setting stops the server, named
    services = Services(service, auth=config.settings.auth if auth is None else auth)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far lives as long as the server: move it out of the cyclic
        # collector's sight, so full collections during big responses stay cheap.
        gc.freeze()
        # The server's own housekeeping: over the same store, unchecked and unaudited.
        housekeeping = Tracking(service.store, service.blobs, principal=server_principal())
        sweeper = asyncio.create_task(_sweep_stale_runs(housekeeping))
        try:
            yield
        finally:
            sweeper.cancel()
            services.close()

    app = FastAPI(
        title="windlass",
        version=__version__,
        lifespan=lifespan,
        description="Tracking, artifacts and registry REST API of windlass.",
        docs_url=None,
        redoc_url=None,
    )
    app.router.routes.extend(api_docs_routes("/openapi.json", "windlass"))
    # The app's one piece of state: handlers reach it through windlass.server.deps.
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=config.settings.max_request_bytes)
    app.add_middleware(RequestMetrics, metrics=services.metrics)
    install_cors(app, config.settings.cors_origins)
    app.add_middleware(SecurityHeaders)  # outermost: every answer gets its headers
    for router in routers():
        app.include_router(router)
    install_exact_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """Build the app from ``WINDLASS_SERVER_STORE`` / ``WINDLASS_SERVER_ARTIFACTS``.

    This is the factory uvicorn worker processes call. It builds the app with the cyclic
    garbage collector paused, then freezes what it built and resumes the collector
    (:mod:`windlass.server.startup`).
    """
    from windlass.server.startup import pause_collector, resume_collector
    from windlass.tracking.backend import open_tracking
    from windlass.uris import StoreKind, store_kind

    pause_collector()
    store_uri = config.settings.server_store or config.default_store_uri()
    if store_kind(store_uri) is not StoreKind.SQL:
        raise ConfigError(f"the server needs a SQL store, not {store_uri!r}")
    artifacts_uri = config.settings.server_artifacts or config.default_artifact_uri()
    app = create_app(open_tracking(store_uri, artifacts_uri))
    resume_collector()
    return app
