"""Route handlers reach the domain through the one services container of their app."""

from __future__ import annotations

from pathlib import Path

from windlass.server.app import create_app
from windlass.server.container import app_services
from windlass.tracking.backend import open_tracking

API = Path(__file__).resolve().parents[2] / "src" / "windlass" / "server" / "api"


def test_route_modules_never_touch_app_state() -> None:
    offenders = [p.name for p in sorted(API.glob("*.py")) if "app.state" in p.read_text()]
    assert offenders == []


def test_one_container_per_app_with_the_prompt_registry_built_on_first_use(
    tmp_path: Path,
) -> None:
    first = open_tracking(f"sqlite:///{tmp_path / 'a.db'}", str(tmp_path / "a"))
    second = open_tracking(f"sqlite:///{tmp_path / 'b.db'}", str(tmp_path / "b"))
    try:
        one, two = app_services(create_app(first)), app_services(create_app(second))
        assert one.tracking is first and two.tracking is second
        assert one.registry.store is first.store and one.deployments.store is first.store
        assert one._prompts is None  # not built until a request needs it
        assert one.prompts is one.prompts and one.prompts.store is first.store
        assert two.prompts is not one.prompts
    finally:
        first.close()
        second.close()
