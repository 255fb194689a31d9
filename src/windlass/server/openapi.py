"""The OpenAPI document, with integer bounds written as the exact integers the server checks.

FastAPI passes its document through models that type ``minimum`` and ``maximum`` as
floats, so a bound of ``2**63 - 1`` would come out as ``9.223372036854776e+18``: a float
that is really ``2**63``, a bound no route enforces, and one a client generator turns
into a double. :func:`install_exact_openapi` restores exact JSON integers: bounds below
2**53 (where floats are exact) become integers again, and the 64-bit limits the server
uses (int64's minimum and maximum, uint64's maximum) are written out in full. A route
declaring an integer bound of another size above 2**53 would be ambiguous: there are
none, and the test of the document would show one.

It also drops the ``422 Validation Error`` answer FastAPI adds to every operation with
parameters: this server answers invalid parameters and bodies with 400 and the one error
body, so a 422 is documented only where a route declares it (an integrity failure).

And it documents what the permission an operation declares (``x-windlass-permission``)
can answer when auth is on: 401 and 429 (a bad token past the failure limit) for every
non-public operation, and 403 for those that need more than being authenticated, each
with the one error body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

__all__ = [
    "add_error_schema",
    "declare_permission_errors",
    "drop_fastapi_validation_errors",
    "exact_integers",
    "install_exact_openapi",
]

_BOUND_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_EXACT_BELOW = 2**53
# float(2**63 - 1) is 2**63: the int64 maximum is the bound the server means by it.
_WIDE_BOUNDS = {float(v): v for v in (2**63 - 1, -(2**63), 2**64 - 1)}


def exact_integers(node: Any) -> Any:
    """Rewrite, in place, float integer bounds of a JSON schema tree as exact integers."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _BOUND_KEYS and type(value) is float and value.is_integer():
                if abs(value) < _EXACT_BELOW:
                    node[key] = int(value)
                elif value in _WIDE_BOUNDS:
                    node[key] = _WIDE_BOUNDS[value]
            else:
                exact_integers(value)
    elif isinstance(node, list):
        for item in node:
            exact_integers(item)
    return node


_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def drop_fastapi_validation_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Remove, in place, FastAPI's own 422 answers and their schemas from ``document``."""
    ref = f"#/components/schemas/{_FASTAPI_ERROR_SCHEMAS[0]}"
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            schema = responses.get("422", {}).get("content", {}).get("application/json", {})
            if schema.get("schema", {}).get("$ref") == ref:
                del responses["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    return document


_PERMISSION_KEY = "x-windlass-permission"
_DENIALS = {
    "401": "Not authenticated (no, bad or expired credentials)",
    "403": "Refused by policy (role too small, or an untrusted model)",
    "429": "Too many failed authentications from this address (see Retry-After)",
}


def declare_permission_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add, in place, the 401 and 403 answers each operation's declared permission implies."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            permission = operation.get(_PERMISSION_KEY)
            if permission in (None, "public"):
                continue
            statuses = ["401", "429"] if permission == "authenticated" else ["401", "403", "429"]
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, {"description": _DENIALS[status], "content": body})
    return document


def add_error_schema(document: dict[str, Any]) -> dict[str, Any]:
    """Add, in place, the ErrorBody schema every error answer refers to."""
    from windlass.server.api.common import ErrorBody

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
    return document


def install_exact_openapi(app: FastAPI) -> None:
    """Make ``app`` serve its OpenAPI document with exact integer bounds, errors as declared."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI caches the document it generates; rewriting it in place is idempotent.
        document = declare_permission_errors(drop_fastapi_validation_errors(generate()))
        add_error_schema(document)
        return exact_integers(document)  # type: ignore[no-any-return]

    app.openapi = openapi  # type: ignore[method-assign]
