"""``POST /v1/traces``: OTLP/HTTP trace export, as the OpenTelemetry protocol defines it.

Any OpenTelemetry SDK or collector sends spans here, as protobuf
(``application/x-protobuf``) or OTLP/JSON (``application/json``), plain or with
``Content-Encoding: gzip``. Spans are filed under the project the ``x-windlass-project``
header names, else under the ``windlass.project`` resource attribute of each span, else
the default project; each project's spans are stored in one transaction.

The answer is an ``ExportTraceServiceResponse`` in the request's encoding; spans already
stored (a retried export) are counted in ``partial_success.rejected_spans`` and named in
its ``error_message``, which also says how many spans were stored with values clamped or
truncated to the stored bounds (as OTLP allows, a warning with ``rejected_spans`` 0; each
such span lists what changed in its ``windlass.adjusted`` attribute). Failures are the
server's usual JSON error body: 400 for a malformed payload or compression, 413 for a
body over ``WINDLASS_OTLP_MAX_BODY_BYTES`` (as sent, or once decompressed), 415 for
another content type or encoding.
"""

from __future__ import annotations

import time
import zlib
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from windlass import config
from windlass.access.policy import Permission
from windlass.entities import ADJUSTED_ATTRIBUTE
from windlass.exceptions import (
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
    WindlassError,
)
from windlass.genai.tracing.otlp import JSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, otlp_encoding
from windlass.genai.tracing.service import IngestReport, TraceService
from windlass.server import deps
from windlass.server.api.common import errors, requires
from windlass.server.metrics import TrackingServerMetrics

#: The request header naming the project every span of the request is filed under.
PROJECT_HEADER = "x-windlass-project"
#: How many duplicate spans the answer's ``error_message`` names.
NAMED_DUPLICATES = 10
_LIMIT_SETTING = "WINDLASS_OTLP_MAX_BODY_BYTES"

router = APIRouter(tags=["otlp"])
ServiceDep = Annotated[TraceService, Depends(deps.trace_service)]
MetricsDep = Annotated[TrackingServerMetrics, Depends(deps.server_metrics)]

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_RESPONSE_SCHEMA = {
    "type": "object",
    "description": "ExportTraceServiceResponse (OTLP/JSON)",
    "properties": {
        "partialSuccess": {
            "type": "object",
            "properties": {
                "rejectedSpans": {"type": ["string", "integer"]},
                "errorMessage": {"type": "string"},
            },
        }
    },
}
_OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            PROTOBUF_CONTENT_TYPE: _BINARY,
            JSON_CONTENT_TYPE: {
                "schema": {
                    "type": "object",
                    "description": "ExportTraceServiceRequest in OTLP/JSON (hex ids)",
                }
            },
        },
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **errors(400, 413, 415),
    200: {
        "description": "Spans stored; duplicates counted in partialSuccess",
        "content": {
            PROTOBUF_CONTENT_TYPE: _BINARY,
            JSON_CONTENT_TYPE: {"schema": _RESPONSE_SCHEMA},
        },
    },
}


def _too_large(size: int, limit: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"OTLP request body {what} at least {size} bytes, over the limit "
        f"of {limit} bytes ({_LIMIT_SETTING})",
        limit=limit,
    )


def gunzip(data: bytes, limit: int) -> bytes:
    """Return gzip ``data`` decompressed (every member), never holding more than ``limit``.

    Raises PayloadTooLarge as soon as the output would pass ``limit`` bytes (a gzip bomb
    stops there), InvalidInput if ``data`` is not complete gzip.
    """
    out = bytearray()
    pending = data
    try:
        while pending:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            while True:
                chunk = inflater.decompress(pending, limit + 1 - len(out))
                out += chunk
                if len(out) > limit:
                    raise _too_large(len(out), limit, "decompresses to")
                if inflater.eof:
                    pending = inflater.unused_data
                    break
                pending = inflater.unconsumed_tail
                if not pending and not chunk:
                    raise InvalidInput("gzip request body is truncated")
    except zlib.error as exc:
        raise InvalidInput(f"gzip request body could not be decompressed: {exc}") from None
    return bytes(out)


async def _read_body(request: Request, limit: int) -> bytes:
    """Return the request body as sent, refusing (413) one over ``limit`` bytes early."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit, "is")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit, "is")
        chunks.append(chunk)
    return b"".join(chunks)


def _content_types(request: Request) -> tuple[str, bool]:
    """Return the request's content type and whether it is gzipped; 415 if unsupported."""
    content_type = request.headers.get("content-type", "")
    try:
        otlp_encoding(content_type)
    except InvalidInput as exc:
        raise UnsupportedMediaType(exc.message, **exc.details) from None
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding not in ("gzip", "identity", ""):
        raise UnsupportedMediaType(
            f"OTLP content encoding {coding!r} is not supported; send gzip or an uncompressed body",
            encoding=coding,
        )
    return content_type, coding == "gzip"


def _answer(report: IngestReport, content_type: str) -> Response:
    """Return the ExportTraceServiceResponse, in the request's encoding."""
    # protobuf is imported by the first export, not by the server's start.
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    message = ExportTraceServiceResponse()
    problems: list[str] = []
    if report.duplicates:
        named = ", ".join(f"{t}/{s}" for t, s in report.duplicates[:NAMED_DUPLICATES])
        more = len(report.duplicates) - NAMED_DUPLICATES
        message.partial_success.rejected_spans = len(report.duplicates)
        problems.append(
            f"{len(report.duplicates)} span(s) already stored (trace_id/span_id): {named}"
            + (f" and {more} more" if more > 0 else "")
        )
    if report.adjusted:
        problems.append(
            f"{report.adjusted} span(s) stored with values clamped or truncated "
            f"to the stored bounds (listed in each span's {ADJUSTED_ATTRIBUTE} "
            "attribute)"
        )
    if problems:
        message.partial_success.error_message = "; ".join(problems)
    if otlp_encoding(content_type) == "protobuf":
        return Response(message.SerializeToString(), media_type=PROTOBUF_CONTENT_TYPE)
    return Response(json_format.MessageToJson(message, indent=None), media_type=JSON_CONTENT_TYPE)


@router.post(
    "/v1/traces",
    responses=_RESPONSES,
    response_class=Response,
    **requires(Permission.WRITE, _OPENAPI_EXTRA),
)
async def export_traces(request: Request, service: ServiceDep, metrics: MetricsDep) -> Response:
    """Store the spans of an OTLP/HTTP trace export (protobuf or JSON, gzip or plain)."""
    status = 500
    try:
        content_type, gzipped = _content_types(request)
        limit: int = config.settings.otlp_max_body_bytes
        raw = await _read_body(request, limit)
        since = time.monotonic()
        project = request.headers.get(PROJECT_HEADER) or None

        def ingest() -> IngestReport:
            body = gunzip(raw, limit) if gzipped else raw
            return service.ingest_otlp(body, content_type, project=project)

        report = await anyio.to_thread.run_sync(ingest)
        metrics.observe_ingest(
            report.projects, report.duplicates_by_project, since, report.adjusted_by_project
        )
        response = _answer(report, content_type)
        status = response.status_code
        return response
    except WindlassError as exc:
        status = exc.http_status
        raise
    finally:
        metrics.count_otlp_request(status)
