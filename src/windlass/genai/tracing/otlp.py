"""Decode OTLP/HTTP trace export requests into windlass spans.

The server accepts ``POST /v1/traces`` from any OpenTelemetry SDK, in either encoding the
OTLP specification defines:

- ``application/x-protobuf``: a serialized ``ExportTraceServiceRequest``;
- ``application/json``: its JSON mapping, with two OTLP departures from the proto3 rules:
  trace and span ids are hex strings (not base64) and enums are integers. 64-bit
  integers may arrive as strings; unknown fields are ignored.

What the protocol allows is accepted: ``intValue`` attributes within int64, times up to
OTLP's unsigned 64-bit maximum (2**64 - 1). The traces domain then brings what is stored
within its bounds, noting what changed (:mod:`windlass.genai.tracing.span_bounds`: such times
are clamped to the int64 maximum, token counts to ``MAX_TOKEN_COUNT``). What the protocol
does not allow (an ``intValue`` beyond int64, a time beyond uint64, a malformed id) makes
the request a 400 naming where it is.

:func:`decode_traces` turns a request body into :class:`~windlass.entities.Span`
objects (ids as lowercase hex, attributes flattened to JSON values, resource and scope
kept) and fills their GenAI fields with :func:`windlass.genai.tracing.conventions.normalize`.
A body that is not a well-formed request raises :class:`~windlass.exceptions.InvalidInput`
naming what is wrong and where; attribute content never does. Decompression is the
route's job.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Literal

import orjson

from windlass.entities import Span, SpanEvent, SpanStatus
from windlass.exceptions import InvalidInput
from windlass.genai.tracing.conventions import DEFAULT_MAX_CHARS, genai_fields

if TYPE_CHECKING:  # protobuf is imported by the first protobuf payload, not by a server start
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

__all__ = ["JSON_CONTENT_TYPE", "PROTOBUF_CONTENT_TYPE", "decode_traces", "otlp_encoding"]

PROTOBUF_CONTENT_TYPE = "application/x-protobuf"
"""The content type of binary OTLP/HTTP requests."""
JSON_CONTENT_TYPE = "application/json"
"""The content type of OTLP/HTTP requests in the OTLP JSON encoding."""

_ENCODINGS: dict[str, Literal["protobuf", "json"]] = {
    PROTOBUF_CONTENT_TYPE: "protobuf",
    "application/protobuf": "protobuf",
    JSON_CONTENT_TYPE: "json",
}
_STATUS = (SpanStatus.UNSET, SpanStatus.OK, SpanStatus.ERROR)
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_HEX_TRACE_ZERO = "0" * 32
_HEX_SPAN_ZERO = "0" * 16


class _BadId(Exception):
    """A trace or span id that is not one; the caller adds where it was."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def _path(r: int | None, s: int | None = None, i: int | None = None) -> str:
    """Name a place in a request the way the OTLP JSON encoding spells it."""
    where = "resourceSpans" if r is None else f"resourceSpans[{r}]"
    if s is not None:
        where += f".scopeSpans[{s}]"
    if i is not None:
        where += f".spans[{i}]"
    return where


def _bad_id(error: _BadId, r: int, s: int, i: int) -> InvalidInput:
    where = f"{_path(r, s, i)}.{error.field}"
    return InvalidInput(f"{where} {error.reason}", field=where)


def otlp_encoding(content_type: str) -> Literal["protobuf", "json"]:
    """Return which OTLP encoding a ``Content-Type`` header names (parameters ignored).

    Raises :class:`InvalidInput` (with ``details['content_type']``) for any other type,
    so a route can answer 415 before reading the body.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    encoding = _ENCODINGS.get(media_type)
    if encoding is None:
        raise InvalidInput(
            f"OTLP traces cannot be sent as content type {content_type.strip()!r}; "
            f"send {PROTOBUF_CONTENT_TYPE} or {JSON_CONTENT_TYPE}",
            content_type=content_type,
        )
    return encoding


def decode_traces(
    body: bytes, content_type: str, *, max_chars: int = DEFAULT_MAX_CHARS
) -> list[Span]:
    """Return the spans of an OTLP trace export request, GenAI fields normalized.

    ``content_type`` is the request's ``Content-Type`` header; ``max_chars`` caps each
    span's ``input`` and ``output`` text. Raises :class:`InvalidInput` for an unsupported
    content type or a malformed body.
    """
    if otlp_encoding(content_type) == "protobuf":
        return _decode_protobuf(body, max_chars)
    return _decode_json(body, max_chars)


# -- protobuf --------------------------------------------------------------------------------
_PB_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def _pb_value(value: AnyValue) -> Any:
    """Return an AnyValue as a JSON-compatible Python value."""
    which = value.WhichOneof("value")
    if which in _PB_SCALARS:
        return getattr(value, which)
    if which == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _pb_attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _pb_attributes(pairs: Any) -> dict[str, Any]:
    """Return repeated KeyValue as a dict (a repeated key keeps its last value)."""
    out: dict[str, Any] = {}
    scalars = _PB_SCALARS
    for kv in pairs:
        # Attribute reads dominate decoding time: a non-empty string (most attributes)
        # costs one field read, other scalars two, only the rest a call.
        value = kv.value
        text = value.string_value
        if text:
            out[kv.key] = text
            continue
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in scalars else _pb_value(value)
    return out


def _pb_id(raw: bytes, size: int, zero: bytes, field: str) -> str:
    if len(raw) != size:
        raise _BadId(field, f"is {len(raw)} bytes, not {size}")
    if raw == zero:
        raise _BadId(field, "is all zeros, which OTLP reserves for 'no id'")
    return raw.hex()


def _pb_span(span: PbSpan, resource: dict[str, Any], scope: str, max_chars: int) -> Span:
    raw_parent = span.parent_span_id
    parent = None
    # An all-zero parent is how some SDKs spell "root"; only a malformed one is refused.
    if raw_parent and raw_parent != _ZERO_SPAN_ID:
        parent = _pb_id(raw_parent, 8, _ZERO_SPAN_ID, "parentSpanId")
    status = span.status
    code = status.code
    attributes = _pb_attributes(span.attributes)
    events = tuple(
        SpanEvent(name=e.name, time_ns=e.time_unix_nano, attributes=_pb_attributes(e.attributes))
        for e in span.events
    )
    return Span(
        trace_id=_pb_id(span.trace_id, 16, _ZERO_TRACE_ID, "traceId"),
        span_id=_pb_id(span.span_id, 8, _ZERO_SPAN_ID, "spanId"),
        parent_span_id=parent,
        name=span.name,
        start_time_ns=span.start_time_unix_nano,
        end_time_ns=span.end_time_unix_nano,
        status=_STATUS[code] if 0 <= code < 3 else SpanStatus.UNSET,
        status_message=status.message,
        attributes=attributes,
        resource=dict(resource),
        scope=scope,
        events=events,
        **genai_fields(attributes, events, max_chars=max_chars),
    )


def _decode_protobuf(body: bytes, max_chars: int) -> list[Span]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise InvalidInput(f"OTLP protobuf payload could not be parsed: {exc}") from None
    spans: list[Span] = []
    for r, resource_spans in enumerate(request.resource_spans):
        resource = _pb_attributes(resource_spans.resource.attributes)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope = scope_spans.scope.name
            for i, span in enumerate(scope_spans.spans):
                try:
                    spans.append(_pb_span(span, resource, scope, max_chars))
                except _BadId as error:
                    raise _bad_id(error, r, s, i) from None
    return spans


# -- JSON --------------------------------------------------------------------------------------
class _Malformed(Exception):
    """A JSON structure problem, raised deep down and reported with its path."""


def _malformed(
    error: _Malformed, r: int | None, s: int | None = None, i: int | None = None
) -> InvalidInput:
    where = _path(r, s, i)
    return InvalidInput(f"OTLP JSON payload is malformed at {where}: {error}", field=where)


def _json_value(value: Any) -> Any:
    """Return an OTLP/JSON AnyValue object as a JSON-compatible Python value."""
    if type(value) is not dict:
        raise _Malformed(f"an AnyValue must be an object, not {type(value).__name__}")
    for field, inner in value.items():
        if field == "stringValue":
            if type(inner) is not str:
                raise _Malformed("stringValue must be a string")
            return inner
        if field == "intValue":
            # int64 travels as a string in proto3 JSON; plain numbers are accepted too.
            if type(inner) is bool or type(inner) not in (str, int):
                raise _Malformed(f"intValue {inner!r} is not an integer")
            try:
                number = int(inner)
            except ValueError:
                raise _Malformed(f"intValue {inner!r} is not an integer") from None
            if not _INT64_MIN <= number <= _INT64_MAX:
                raise _Malformed(f"intValue {inner!r} is outside the int64 range")
            return number
        if field == "doubleValue":
            if type(inner) is bool or type(inner) not in (int, float, str):
                raise _Malformed(f"doubleValue {inner!r} is not a number")
            try:
                return float(inner)  # also "NaN", "Infinity", "-Infinity"
            except ValueError:
                raise _Malformed(f"doubleValue {inner!r} is not a number") from None
        if field == "boolValue":
            if type(inner) is not bool:
                raise _Malformed(f"boolValue {inner!r} is not a boolean")
            return inner
        if field == "arrayValue":
            return [_json_value(v) for v in _json_list(_json_dict(inner).get("values"))]
        if field == "kvlistValue":
            return _json_attributes(_json_dict(inner).get("values"))
        if field == "bytesValue":
            # Already base64 in JSON, which is how windlass shows bytes.
            if type(inner) is not str:
                raise _Malformed("bytesValue must be a base64 string")
            return inner
    return None


def _json_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if type(value) is not dict:
        raise _Malformed(f"expected an object, got {type(value).__name__}")
    return value


def _json_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise _Malformed(f"expected a list, got {type(value).__name__}")
    return value


def _json_attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in _json_list(pairs):
        if type(kv) is not dict:
            raise _Malformed("an attribute must be an object with key and value")
        key = kv.get("key")
        if type(key) is not str:
            raise _Malformed("an attribute key must be a string")
        value = kv.get("value")
        if type(value) is dict:
            text = value.get("stringValue")
            if type(text) is str:  # the common case, without a call
                out[key] = text
                continue
        try:
            out[key] = None if value is None else _json_value(value)
        except _Malformed as exc:
            raise _Malformed(f"attribute {key!r}: {exc}") from None
    return out


def _json_uint64(value: Any, name: str) -> int:
    """Return a fixed64/enum field (a JSON number or decimal string); missing is 0."""
    if value is None:
        return 0
    if type(value) is bool or type(value) not in (int, str):
        raise _Malformed(f"{name} {value!r} is not an integer")
    try:
        number = int(value)
    except ValueError:
        raise _Malformed(f"{name} {value!r} is not an integer") from None
    if not 0 <= number <= _UINT64_MAX:
        raise _Malformed(f"{name} {value!r} is outside the uint64 range")
    return number


def _json_id(value: Any, size: int, zero: str, field: str) -> str:
    width = 2 * size
    if type(value) is not str or len(value) != width:
        raise _BadId(field, f"is not {width} hex characters")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise _BadId(field, f"is not {width} hex characters")
    hex_id = value.lower()
    if hex_id == zero:
        raise _BadId(field, "is all zeros, which OTLP reserves for 'no id'")
    return hex_id


def _json_span(span: Any, resource: dict[str, Any], scope: str, max_chars: int) -> Span:
    if type(span) is not dict:
        raise _Malformed("a span must be an object")
    raw_parent = span.get("parentSpanId")
    parent = None
    if raw_parent and raw_parent != _HEX_SPAN_ZERO:
        parent = _json_id(raw_parent, 8, _HEX_SPAN_ZERO, "parentSpanId")
    status = _json_dict(span.get("status"))
    code = status.get("code")
    # OTLP says integers; the proto3 enum names are understood too.
    if type(code) is str and code in _STATUS_NAMES:
        code = _STATUS_NAMES[code]
    code = _json_uint64(code, "status.code")
    message = status.get("message") or ""
    name = span.get("name") or ""
    if type(message) is not str or type(name) is not str:
        raise _Malformed("name and status.message must be strings")
    event_list = []
    for event in _json_list(span.get("events")):
        event = _json_dict(event)
        event_name = event.get("name") or ""
        if type(event_name) is not str:
            raise _Malformed("an event name must be a string")
        event_list.append(
            SpanEvent(
                name=event_name,
                time_ns=_json_uint64(event.get("timeUnixNano"), "event timeUnixNano"),
                attributes=_json_attributes(event.get("attributes")),
            )
        )
    events = tuple(event_list)
    attributes = _json_attributes(span.get("attributes"))
    return Span(
        trace_id=_json_id(span.get("traceId"), 16, _HEX_TRACE_ZERO, "traceId"),
        span_id=_json_id(span.get("spanId"), 8, _HEX_SPAN_ZERO, "spanId"),
        parent_span_id=parent,
        name=name,
        start_time_ns=_json_uint64(span.get("startTimeUnixNano"), "startTimeUnixNano"),
        end_time_ns=_json_uint64(span.get("endTimeUnixNano"), "endTimeUnixNano"),
        status=_STATUS[code] if 0 <= code < 3 else SpanStatus.UNSET,
        status_message=message,
        attributes=attributes,
        resource=dict(resource),
        scope=scope,
        events=events,
        **genai_fields(attributes, events, max_chars=max_chars),
    )


def _decode_json(body: bytes, max_chars: int) -> list[Span]:
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"OTLP JSON payload could not be parsed: {exc}") from None
    if type(request) is not dict:
        raise InvalidInput("OTLP JSON payload must be an object with resourceSpans")
    spans: list[Span] = []
    try:
        resource_list = _json_list(request.get("resourceSpans"))
    except _Malformed as exc:
        raise _malformed(exc, None) from None
    for r, resource_spans in enumerate(resource_list):
        try:
            resource_spans = _json_dict(resource_spans)
            resource = _json_attributes(
                _json_dict(resource_spans.get("resource")).get("attributes")
            )
            scope_list = _json_list(resource_spans.get("scopeSpans"))
        except _Malformed as exc:
            raise _malformed(exc, r) from None
        for s, scope_spans in enumerate(scope_list):
            try:
                scope_spans = _json_dict(scope_spans)
                scope = _json_dict(scope_spans.get("scope")).get("name") or ""
                if type(scope) is not str:
                    raise _Malformed("scope.name must be a string")
                span_list = _json_list(scope_spans.get("spans"))
            except _Malformed as exc:
                raise _malformed(exc, r, s) from None
            for i, span in enumerate(span_list):
                try:
                    spans.append(_json_span(span, resource, scope, max_chars))
                except _Malformed as exc:
                    raise _malformed(exc, r, s, i) from None
                except _BadId as error:
                    raise _bad_id(error, r, s, i) from None
    return spans
