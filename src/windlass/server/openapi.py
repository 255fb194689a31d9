"""The OpenAPI document with exact integer bounds.

FastAPI validates the document through its own models, whose ``minimum``/``maximum``
fields are floats: ``le=2**63 - 1`` comes out as ``9.223372036854776e+18`` (which is
2**63, one past the bound, and not an integer). Clients generated from the document, and
fuzzers reading it, then send numbers the server refuses. This module puts the bounds
back as exact JSON integers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_EXACT_FLOAT = 2**53  # every integer below this is exact as a float


def _exact(key: str, value: float) -> int:
    whole = int(value)
    if abs(whole) > _EXACT_FLOAT and key == "maximum" and whole & (whole - 1) == 0:
        # float(2**k - 1) rounds up to 2**k: an inclusive maximum there is 2**k - 1
        # (int64's 2**63 - 1, uint64's 2**64 - 1), never the power of two itself.
        return whole - 1
    return whole


def exact_bounds(node: Any) -> Any:
    """Return ``node`` with float bounds of integer schemas (and huge whole floats) as ints."""
    if isinstance(node, list):
        return [exact_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    is_integer = node.get("type") == "integer"
    fixed: dict[str, Any] = {}
    for key, value in node.items():
        if key in _BOUNDS and type(value) is float and value.is_integer() and (
                is_integer or abs(value) >= _EXACT_FLOAT):
            fixed[key] = _exact(key, value)
        else:
            fixed[key] = exact_bounds(value)
    return fixed


def install_exact_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) state integer bounds exactly."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = exact_bounds(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
