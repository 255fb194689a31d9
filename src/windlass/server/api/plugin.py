"""The built-in REST API, registered through the ``register_routes`` hook like a plugin.

Importing this module stays light (no FastAPI): the routers are imported when the hook is
called, that is when a server app is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from windlass.plugins import hookimpl


@hookimpl(tryfirst=True)
def register_routes(register: Callable[[Any], None]) -> None:
    """Register the routers of the REST API and OTLP ingest (first: plugins come after)."""
    from windlass.server.api import (
        artifacts,
        audit,
        deployments,
        governance,
        health,
        members,
        models,
        oidc,
        otlp,
        projects,
        prompts,
        runs,
        series,
        tokens,
        traces,
        users,
    )

    for router in (
        health.router,
        projects.router,
        governance.router,
        runs.router,
        series.router,
        artifacts.router,
        models.router,
        deployments.router,
        traces.by_project,
        traces.any_project,
        otlp.router,
        prompts.router,
        audit.router,
        users.router,
        tokens.router,
        members.router,
        oidc.router,
    ):
        register(router)
