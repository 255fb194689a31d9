"""Swagger UI (``/docs``) and ReDoc (``/redoc``) pages that work offline.

FastAPI's default pages load their scripts, styles and fonts from CDNs, so on a machine
without internet access ``/docs`` is a blank page. These routes serve the same UIs with
their assets from an installed package (``fastapi-offline``: Swagger UI 5, ReDoc 2) under
``/docs-assets``. Both the tracking server and the model server mount them.

Each page carries its own ``Content-Security-Policy``: scripts only from this server plus
the page's one inline script, allowed by its SHA-256 hash (:func:`page_policy`); styles
inline too (the UIs inject them at run time), images from the server or ``data:`` URLs,
ReDoc's search worker from a ``blob:`` URL, requests only to this server, no framing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def page_policy(html: bytes) -> str:
    """Return the Content-Security-Policy for an API docs page, allowing its inline scripts."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = page_policy(bytes(page.body))
    return page


def assets_directory() -> str:
    """Return the folder of the installed Swagger UI and ReDoc scripts, styles and icon."""
    return str(files("fastapi_offline") / "static")


def api_docs_routes(openapi_url: str, title: str) -> list[BaseRoute]:
    """Return ``/docs``, ``/redoc`` and the asset mount for the OpenAPI at ``openapi_url``."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # No badge that asks validator.swagger.io about the document.
            swagger_ui_parameters={"validatorUrl": None},
        )
        return _with_policy(page)

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        return _with_policy(page)

    return [
        Route("/docs", swagger_ui, methods=["GET"], include_in_schema=False),
        Route("/redoc", redoc, methods=["GET"], include_in_schema=False),
        Mount(ASSETS_URL, app=StaticFiles(directory=assets_directory()), name="docs-assets"),
    ]
