"""The server's one error mapping: every failure becomes ``{error_code, message, details}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from windlass.exceptions import InvalidInput, Unauthenticated, WindlassError

logger = logging.getLogger("windlass.server")


def error_response(error: WindlassError) -> JSONResponse:
    """Return the JSON response for a windlass error.

    A 401 names the scheme to use (``WWW-Authenticate: Bearer``). An error whose details
    carry ``retry_after`` seconds (:class:`TooManyRequests`, :class:`Overloaded`) also says
    so in a ``Retry-After`` header.
    """
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    retry = error.details.get("retry_after")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return JSONResponse(error.to_dict(), status_code=error.http_status, headers=headers)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def allowed_methods(request: Request) -> list[str]:
    """Return every method some route of the app accepts at the request's path.

    Starlette answers 405 from the first route whose path matched, so its ``Allow`` header
    names only that route's methods; a resource served by several routes needs them all.
    """
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map windlass errors, validation errors and HTTP errors to the one error body."""

    @app.exception_handler(WindlassError)
    async def _windlass(_request: Request, exc: WindlassError) -> JSONResponse:
        if exc.http_status >= 500:
            logger.error("%s: %s", exc.error_code, exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        message = "invalid request: " + "; ".join(problems[:5])
        return error_response(InvalidInput(message, errors=_json_safe(problems[:50])))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(
            {"error_code": code, "message": str(exc.detail), "details": {}},
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected server error")
        return JSONResponse(
            {
                "error_code": "INTERNAL_ERROR",
                "message": f"unexpected server error: {type(exc).__name__}",
                "details": {},
            },
            status_code=500,
        )
