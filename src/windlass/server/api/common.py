"""What every resource of the REST API shares: field types, body bases, pages and errors.

Request bodies derive from :class:`RequestBody` (strict: unknown fields and wrong types
are refused with 400). Response bodies derive from :class:`ResponseBody`: the fields it
names are the documented contract, and it keeps any field it does not name, so a field an
entity gains reaches clients before the model documents it. Every operation declares the
statuses it can answer with :func:`errors`, each with the one error body
``{"error_code", "message", "details"}`` (:class:`ErrorBody`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from windlass.access.policy import Permission

__all__ = [
    "NAME_PATTERN",
    "PERMISSION_KEY",
    "WHOLE",
    "Digest",
    "Empty",
    "ErrorBody",
    "Float",
    "Id",
    "Int64",
    "Key",
    "Millis",
    "NonNegative64",
    "PageToken",
    "ProjectName",
    "RequestBody",
    "ResponseBody",
    "errors",
    "requires",
]

#: The names of projects, models, prompts, deployments, aliases and variants.
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,255}$"

#: The ``page_token`` query parameter of every paged listing. Deliberately unconstrained
#: here: the store decodes it (windlass.store.paging), so every forged, damaged, oversized
#: or foreign token is one error, 400 ``INVALID_PAGE_TOKEN``.
PageToken = Annotated[
    str | None,
    Query(description="The next_page_token of the previous page (opaque); absent for the first."),
]

Float = float | Literal["NaN", "Infinity", "-Infinity"]


def _whole_number(value: Any) -> Any:
    """JSON Schema's ``integer`` is any number with a zero fraction: ``1.0`` is ``1``."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: JSON's integer is a whole number: ``3`` or ``3.0``; not ``3.5``, ``"3"`` or ``true``.
#: (The bounds come before the validator, so the schema states them as minimum/maximum.)
WHOLE = BeforeValidator(_whole_number)
#: A signed 64-bit integer (metric steps).
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), WHOLE]
#: A non-negative 64-bit integer (sizes, and UTC milliseconds since the epoch).
NonNegative64 = Annotated[int, Field(ge=0, le=2**63 - 1), WHOLE]
Millis = NonNegative64
Id = Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
Digest = Annotated[str, Field(pattern="^[0-9a-fA-F]{64}$")]
Key = Annotated[str, Field(pattern="^[A-Za-z0-9_\\-./ :]{1,250}$")]
ProjectName = Annotated[str, Field(pattern=NAME_PATTERN)]


class RequestBody(BaseModel):
    """The base of request bodies: strict, and unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseBody(BaseModel):
    """The base of response bodies: the named fields are documented; others pass through."""

    model_config = ConfigDict(extra="allow")


class Empty(ResponseBody):
    """An empty JSON object: the operation succeeded and has nothing to report."""


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error_code: str = Field(description="Stable machine-readable code, e.g. `RUN_NOT_FOUND`")
    message: str = Field(description="What went wrong, naming the offending input")
    details: dict[str, Any] = Field(default_factory=dict, description="Structured context")


_ERROR_TEXT = {
    400: "Invalid input (malformed parameters or body, bad page token, limit exceeded)",
    401: "Not authenticated (no, bad or expired credentials)",
    403: "Refused by policy (role too small, or an untrusted model)",
    429: "Too many failed authentications from this address (see Retry-After)",
    404: "Not found",
    409: "Conflict (exists, in use, or changed meanwhile)",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Integrity failure (content does not match its digest or recorded hash)",
    500: "Server error",
    502: "Upstream provider error",
    503: "Backend unavailable or overloaded",
}
#: What any operation can answer: an unexpected failure, or a database out of reach.
ALWAYS = (500, 503)


#: The content of every error answer: the one ErrorBody schema of the document's components.
ERROR_SCHEMA_REF = "#/components/schemas/ErrorBody"
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI ``responses`` entries of ``statuses`` (and 500, 503) as errors."""
    # A schema reference, not ``"model": ErrorBody``: FastAPI builds a pydantic field per
    # response model of every route at start-up (most of the server's start time); the
    # document gets the one ErrorBody schema from the app's OpenAPI post-processing.
    return {
        status: {"description": _ERROR_TEXT[status], "content": _ERROR_CONTENT}
        for status in sorted({*statuses, *ALWAYS})
    }


#: The OpenAPI extension naming the permission an operation needs.
PERMISSION_KEY = "x-windlass-permission"


def requires(permission: Permission, openapi_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return route keyword arguments declaring and enforcing the permission the route needs.

    Every route passes ``**requires(...)`` to its decorator: the permission lands in the
    OpenAPI document (``x-windlass-permission``), where the role-matrix test reads it, and
    one dependency (:func:`windlass.server.deps.permission_check`) enforces it early when
    auth is on: before the body is validated, for a path naming a ``{project}``, so a caller
    without the role learns nothing from validation errors. The domain service checks
    again, and is the only check of routes naming objects by id (runs, traces), where it
    hides other projects' objects. A public route gets no dependency at all.
    """
    from fastapi import Depends

    from windlass.server.deps import permission_check

    extra = {**(openapi_extra or {}), PERMISSION_KEY: permission.value}
    if permission is Permission.PUBLIC:
        return {"openapi_extra": extra}
    return {"openapi_extra": extra, "dependencies": [Depends(permission_check(permission))]}
