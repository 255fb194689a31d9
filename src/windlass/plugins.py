"""The plugin mechanism: pluggy hook specifications and the one plugin manager.

Built-in features register through the same hooks as third-party plugins. A plugin is a
module (or object) with ``@hookimpl`` functions; third-party plugins are found through the
``windlass`` entry-point group. Each hook receives a ``register`` callback::

    from windlass.plugins import hookimpl

    @hookimpl
    def register_artifact_backends(register):
        register("memory", lambda uri, options: MyStorage(uri, options))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("windlass")
hookimpl = pluggy.HookimplMarker("windlass")

# Built-in plugin modules, registered exactly like entry-point plugins.
_BUILTINS = (
    "windlass.artifacts.plugin",
    "windlass.models.plugin",
    "windlass.cli.plugin",
    "windlass.server.api.plugin",
)


class WindlassHooks:
    """Hook specifications. Each hook gets a ``register`` callback."""

    @hookspec
    def register_artifact_backends(
        self, register: Callable[[str, Callable[..., Any]], None]
    ) -> None:
        """Register byte-storage backends: ``register(scheme, factory(uri, options))``."""

    @hookspec
    def register_model_flavors(self, register: Callable[[Any], None]) -> None:
        """Register model flavors: ``register(flavor)``, a ``windlass.models.flavor.Flavor``."""

    @hookspec
    def register_commands(self, register: Callable[[str, Any], None]) -> None:
        """Register CLI commands: ``register(name, typer_app_or_function)``."""

    @hookspec
    def register_routes(self, register: Callable[[Any], None]) -> None:
        """Register REST routes of ``windlass server``: ``register(router)``.

        ``router`` is a ``fastapi.APIRouter``; each is included in every tracking-server
        app, in registration order, after the built-in API (which registers through this
        hook too, so a plugin cannot shadow a built-in route). Handlers reach the server's
        domain services through the ``windlass.server.deps`` dependencies, and should
        declare a ``response_model`` and their error statuses like the built-in routes, so
        the OpenAPI document stays complete. Import FastAPI inside the hook, not at module
        level, so that loading plugins stays light for SDK users.
        """


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading built-ins and entry points once."""
    global _manager
    with _lock:
        if _manager is None:
            import importlib

            manager = pluggy.PluginManager("windlass")
            manager.add_hookspecs(WindlassHooks)
            for name in _BUILTINS:
                manager.register(importlib.import_module(name), name=name)
            manager.load_setuptools_entrypoints("windlass")
            _manager = manager
        return _manager


def collect(hook_name: str) -> list[tuple[Any, ...]]:
    """Call hook ``hook_name`` and return every ``register(...)`` call's arguments, in order."""
    registered: list[tuple[Any, ...]] = []

    def register(*args: Any) -> None:
        registered.append(args)

    getattr(plugin_manager().hook, hook_name)(register=register)
    return registered
