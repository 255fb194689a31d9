"""Every operation of the server's OpenAPI document declares the permission it needs.

The document is the one ``create_app`` builds, plugins included: each operation carries
``x-windlass-permission`` with one of the policy's permissions, and a route a plugin adds
without declaring one is caught by the same check (an app is built with such a route).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter

from windlass.access.policy import Permission
from windlass.plugins import hookimpl
from windlass.plugins.manager import plugin_manager
from windlass.server.api.common import PERMISSION_KEY, errors, requires
from windlass.server.app import create_app
from windlass.tracking.backend import open_tracking
from windlass.tracking.service import Tracking

VALID = {p.value for p in Permission}


def undeclared(document: dict[str, Any]) -> list[str]:
    """Return ``METHOD path`` of each operation without a valid declared permission."""
    return [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if operation.get(PERMISSION_KEY) not in VALID
    ]


@pytest.fixture
def tracking(tmp_path: Path) -> Iterator[Tracking]:
    service = open_tracking(f"sqlite:///{tmp_path / 'p.db'}", str(tmp_path / "artifacts"))
    yield service
    service.close()


class _Plugin:
    """A plugin registering one router, the way an installed plugin does."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router

    @hookimpl
    def register_routes(self, register: Callable[[Any], None]) -> None:
        register(self.router)


@pytest.fixture
def with_plugin() -> Iterator[Callable[[APIRouter], None]]:
    manager = plugin_manager()
    added: list[_Plugin] = []

    def install(router: APIRouter) -> None:
        plugin = _Plugin(router)
        manager.register(plugin)
        added.append(plugin)

    yield install
    for plugin in added:
        manager.unregister(plugin)


def test_every_operation_declares_a_valid_permission(tracking: Tracking) -> None:
    document = create_app(tracking).openapi()
    assert len(document["paths"]) > 40
    assert undeclared(document) == []
    declared = {
        f"{m.upper()} {p}": op[PERMISSION_KEY]
        for p, ms in document["paths"].items()
        for m, op in ms.items()
    }
    # A few that matter: probes stay open, deletes and weight changes are admin's.
    assert declared["GET /health"] == "public"
    assert declared["GET /metrics"] == "public"
    assert declared["POST /v1/traces"] == "write"
    assert declared["DELETE /api/v1/runs/{run_id}"] == "admin"
    assert declared["PATCH /api/v1/projects/{project}/deployments/{name}"] == "admin"
    assert declared["POST /api/v1/runs/fail-stale"] == "server_admin"
    # What a declared permission implies is documented as an answer.
    run = document["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]
    assert {"401", "403"} <= set(run)
    assert "401" not in document["paths"]["/health"]["get"]["responses"]


def test_a_plugin_route_without_a_permission_fails_the_check(
    tracking: Tracking, with_plugin: Callable[[APIRouter], None]
) -> None:
    router = APIRouter(prefix="/api/v1/plugin-check")

    @router.get("/declared", responses=errors(), **requires(Permission.AUTHENTICATED))
    def declared() -> dict[str, str]:
        """A route that says what it needs."""
        return {}

    @router.get("/forgotten", responses=errors())
    def forgotten() -> dict[str, str]:
        """A route that forgot to declare its permission."""
        return {}

    with_plugin(router)
    document = create_app(tracking).openapi()
    assert "/api/v1/plugin-check/declared" in document["paths"]
    assert undeclared(document) == ["GET /api/v1/plugin-check/forgotten"]
