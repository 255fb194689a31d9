"""Swagger UI (``/docs``) and ReDoc (``/redoc``) pages that work offline.

FastAPI's default pages load their scripts, styles and fonts from CDNs, so on a machine
without internet access ``/docs`` is a blank page. These routes serve the same UIs with
their assets from an installed package (``fastapi-offline``: Swagger UI 5, ReDoc 2) under
``/docs-assets``. Both the tracking server and the model server mount them.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"


def assets_directory() -> str:
    """Return the folder of the installed Swagger UI and ReDoc scripts, styles and icon."""
    return str(files("fastapi_offline") / "static")


def api_docs_routes(openapi_url: str, title: str) -> list[BaseRoute]:
    """Return ``/docs``, ``/redoc`` and the asset mount for the OpenAPI at ``openapi_url``."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # No badge that asks validator.swagger.io about the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    return [
        Route("/docs", swagger_ui, methods=["GET"], include_in_schema=False),
        Route("/redoc", redoc, methods=["GET"], include_in_schema=False),
        Mount(ASSETS_URL, app=StaticFiles(directory=assets_directory()), name="docs-assets"),
    ]
