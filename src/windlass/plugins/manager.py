"""The one plugin manager: built-ins first, then the ``windlass`` entry points."""

from __future__ import annotations

import threading
from typing import Any

import pluggy

from windlass.plugins.hookspecs import WindlassHooks

# Built-in plugin modules, registered exactly like entry-point plugins.
_BUILTINS = (
    "windlass.artifacts.plugin",
    "windlass.models.plugin",
    "windlass.cli.plugin",
    "windlass.server.api.plugin",
    "windlass.server.ui.plugin",
)

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
