"""The plugin mechanism: pluggy hook specifications, every hook documented here.

Built-in features register through the same hooks as third-party plugins. A plugin is a
module (or object) with ``@hookimpl`` functions; third-party plugins are found through the
``windlass`` entry-point group. Each hook receives a ``register`` callback::

    from windlass.plugins import hookimpl

    @hookimpl
    def register_artifact_backends(register):
        register("memory", lambda uri, options: MyStorage(uri, options))

Every hook's docstring says when windlass calls it and what ``register`` takes; the
"Hooks" section of ``docs/plugins.md`` lists every hook (a test checks both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("windlass")
hookimpl = pluggy.HookimplMarker("windlass")


class WindlassHooks:
    """Hook specifications. Each hook gets a ``register`` callback and returns nothing."""

    @hookspec
    def register_artifact_backends(
        self, register: Callable[[str, Callable[..., Any]], None]
    ) -> None:
        """Register byte-storage backends: ``register(scheme, factory(uri, options))``.

        Called each time an artifact root is opened (``windlass.artifacts.open_storage``).
        ``factory`` gets the root URI and the storage options and returns a
        ``windlass.artifacts.ByteStorage``. When two plugins register a scheme, the one
        registered last wins (a third-party plugin overrides a built-in). Returns nothing.
        """

    @hookspec
    def register_model_flavors(self, register: Callable[[Any], None]) -> None:
        """Register model flavors: ``register(flavor)``, a ``windlass.models.flavor.Flavor``.

        Called each time a flavor is looked up (a model is logged, loaded or served). When
        two plugins register a flavor name, the one registered last wins (a third-party
        plugin overrides a built-in). Returns nothing.
        """

    @hookspec
    def register_commands(self, register: Callable[[str, Any], None]) -> None:
        """Register CLI commands: ``register(name, typer_app_or_function)``.

        Called each time the ``windlass`` command is built (``windlass.cli.main.build_app``).
        A ``typer.Typer`` becomes a command group, a function a command. Every command
        reports windlass errors through the CLI's one handler (message and exit code), so
        a command need not catch them. Returns nothing.
        """

    @hookspec
    def register_routes(self, register: Callable[[Any], None]) -> None:
        """Register REST routes of ``windlass server``: ``register(router)``.

        Called each time a tracking-server app is built (``windlass.server.app.create_app``).
        ``router`` is a ``fastapi.APIRouter``; each is included in the app, in registration
        order, after the built-in API (which registers through this hook too, so a plugin
        cannot shadow a built-in route). Handlers reach the server's domain services through
        the ``windlass.server.deps`` dependencies, and should declare a ``response_model``
        and their error statuses like the built-in routes, so the OpenAPI document stays
        complete. Import FastAPI inside the hook, not at module level, so that loading
        plugins stays light for SDK users. Returns nothing.
        """
