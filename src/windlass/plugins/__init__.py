"""Plugins: the hook specifications (``hookspecs``) and the one plugin manager (``manager``)."""

from __future__ import annotations

from windlass.plugins.hookspecs import WindlassHooks, hookimpl, hookspec
from windlass.plugins.manager import collect, plugin_manager

__all__ = ["WindlassHooks", "collect", "hookimpl", "hookspec", "plugin_manager"]
