"""The web UI, registered through the ``register_routes`` hook like any plugin.

Importing this module stays light: the page modules (and Jinja2, on first render) are
imported when the hook is called, that is when a server app is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from windlass.plugins import hookimpl


@hookimpl
def register_routes(register: Callable[[Any], None]) -> None:
    """Register the UI's routers: sign-in, static files and the pages."""
    from windlass.server.ui import assets, compare, login, projects, run, runs, trace, traces

    for router in (
        assets.router,
        login.router,
        projects.router,
        runs.router,
        run.router,
        compare.router,
        traces.router,
        trace.router,
    ):
        register(router)
    from windlass.server.ui import deployments, models, prompts

    for router in (models.router, deployments.router, prompts.router):
        register(router)
