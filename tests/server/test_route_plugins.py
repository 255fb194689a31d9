"""Routes registered by a third-party plugin (an installed entry point) are served.

The plugin is a real distribution on the server's path: a module with a
``register_routes`` hook implementation and a ``windlass`` entry point naming it, found by
``windlass server`` the way any installed plugin is. Its route reaches the server's own
services through ``windlass.server.deps``, answers through a real uvicorn server, and is
documented in the server's OpenAPI document next to the built-in API.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import httpx

from windlass_testing import ServerProcess

PLUGIN = '''
from typing import Annotated, Any

from windlass.plugins import hookimpl


@hookimpl
def register_routes(register):
    from fastapi import APIRouter, Depends
    from pydantic import BaseModel

    from windlass.server.api.common import errors
    from windlass.server.deps import tracking

    class Greeting(BaseModel):
        """A greeting naming the project it was looked up in."""

        greeting: str
        project_id: str

    router = APIRouter(prefix="/api/v1/hello", tags=["hello"])

    @router.get("/{project}", response_model=Greeting, responses=errors(400, 404))
    def hello(project: str, service: Annotated[Any, Depends(tracking)]) -> dict[str, str]:
        """Greet a project (404 if there is none of that name)."""
        found = service.get_project(project)
        return {"greeting": f"hello {found.name}", "project_id": found.id}

    register(router)
'''


def install_plugin(root: Path) -> Path:
    """Write the plugin module and its distribution's entry point under ``root``."""
    root.mkdir()
    (root / "windlass_hello_plugin.py").write_text(textwrap.dedent(PLUGIN))
    dist = root / "windlass_hello_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: windlass-hello-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text("[windlass]\nhello = windlass_hello_plugin\n")
    return root


def test_a_plugin_route_is_served_next_to_the_builtin_api(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    root = install_plugin(tmp_path / "site")
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    server = server_factory(env={"PYTHONPATH": path})
    with httpx.Client(base_url=server.url, timeout=30) as client:
        made = client.post("/api/v1/projects", json={"name": "greeted"})
        assert made.status_code == 200, made.text
        answer = client.get("/api/v1/hello/greeted")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"greeting": "hello greeted", "project_id": made.json()["id"]}
        missing = client.get("/api/v1/hello/nobody")
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "PROJECT_NOT_FOUND"
        # The built-in API is still served, and the plugin's route is documented with it.
        assert client.get("/api/v1/projects/greeted").status_code == 200
        document = client.get("/openapi.json").json()
        operation = document["paths"]["/api/v1/hello/{project}"]["get"]
        assert set(operation["responses"]) >= {"200", "404"}
        assert "/api/v1/runs" in document["paths"]
