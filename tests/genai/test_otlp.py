"""OTLP/HTTP decoding: real OpenTelemetry SDK spans, encoded as the exporters encode them."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as PbStatus
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, format_span_id, format_trace_id

from windlass.entities import Span, SpanKind, SpanStatus
from windlass.exceptions import InvalidInput
from windlass.genai.tracing.otlp import decode_traces, otlp_encoding

PB = "application/x-protobuf"
JSON = "application/json"

INPUT_MESSAGES = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}])
OUTPUT_MESSAGES = json.dumps(
    [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello"}],
            "finish_reason": "stop",
        }
    ]
)


# -- building real payloads ------------------------------------------------------------------
@pytest.fixture
def sdk_spans() -> list[ReadableSpan]:
    """A small agent trace from the OpenTelemetry SDK: agent → LLM (GenAI), tool, retriever."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"windlass.project": "shop-bot", "service.name": "shop-bot-api"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("shop.agent", "1.2.3")
    with tracer.start_as_current_span("invoke_agent shopper") as agent:
        agent.set_attributes(
            {
                "openinference.span.kind": "AGENT",
                "input.value": "find me shoes",
                "output.value": "here are shoes",
                "session.id": "s-1",
                "user.id": "u-9",
                "windlass.run_id": "0192a7c4e2a17b3f9d2c4e5f6a7b8c9d",
            }
        )
        with tracer.start_as_current_span("chat gpt-4o") as llm:
            llm.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06",
                    "gen_ai.request.temperature": 0.25,
                    "gen_ai.request.max_tokens": 512,
                    "gen_ai.response.finish_reasons": ["stop"],
                    "gen_ai.request.stream": False,
                    "gen_ai.usage.input_tokens": 120,
                    "gen_ai.usage.output_tokens": 40,
                    "gen_ai.usage.cache_read.input_tokens": 64,
                    "gen_ai.usage.reasoning.output_tokens": 8,
                    "gen_ai.input.messages": INPUT_MESSAGES,
                    "gen_ai.output.messages": OUTPUT_MESSAGES,
                    "windlass.prompt.name": "shopper",
                    "windlass.prompt.version": 3,
                    "windlass.cost": 0.00123,
                    "custom.scores": [0.5, 1.5],
                    "custom.ids": [1, 2, 3],
                    "custom.flags": [True, False],
                    "custom.blob": b"\x00\xffok",
                    "custom.map": {"tier": "gold", "n": 2},
                }
            )
            llm.add_event("gen_ai.first_token", {"gen_ai.token.index": 0})
        with tracer.start_as_current_span("search_catalog") as tool:
            tool.set_attributes({"openinference.span.kind": "TOOL", "tool.name": "search"})
            tool.set_status(Status(StatusCode.ERROR, "catalog timed out"))
            tool.record_exception(TimeoutError("catalog timed out"))
        with tracer.start_as_current_span("retrieve") as retriever:
            retriever.set_attributes(
                {
                    "openinference.span.kind": "RETRIEVER",
                    "input.value": "shoes",
                    "retrieval.documents.0.document.id": "d1",
                    "retrieval.documents.0.document.content": "red shoes",
                    "retrieval.documents.0.document.score": 0.9,
                    "retrieval.documents.1.document.id": "d2",
                    "retrieval.documents.1.document.content": "blue shoes",
                    "retrieval.documents.1.document.score": 0.7,
                }
            )
            retriever.set_status(Status(StatusCode.OK))
    spans = list(exporter.get_finished_spans())
    provider.shutdown()
    return spans


def protobuf_body(spans: list[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


def _hex_ids(node: Any) -> Any:
    """Turn proto3 JSON (base64 ids) into OTLP JSON (hex ids)."""
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex()
            if k in ("traceId", "spanId", "parentSpanId")
            else _hex_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def _ints_as_numbers(node: Any) -> Any:
    """OTLP JSON int64 as plain JSON numbers (what many hand-written exporters send)."""
    if isinstance(node, dict):
        return {
            k: int(v)
            if k in ("intValue", "startTimeUnixNano", "endTimeUnixNano", "timeUnixNano")
            else _ints_as_numbers(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_ints_as_numbers(v) for v in node]
    return node


def otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP JSON form of a request: camelCase, integer enums, hex ids, int64 as strings."""
    return _hex_ids(MessageToDict(request, use_integers_for_enums=True))  # type: ignore[no-any-return]


def json_body(spans: list[ReadableSpan]) -> bytes:
    return json.dumps(otlp_json(encode_spans(spans))).encode()


def json_numbers_body(spans: list[ReadableSpan]) -> bytes:
    return json.dumps(_ints_as_numbers(otlp_json(encode_spans(spans)))).encode()


ENCODINGS: dict[str, tuple[Callable[[list[ReadableSpan]], bytes], str]] = {
    "protobuf": (protobuf_body, PB),
    "json": (json_body, JSON),
    "json-int-numbers": (json_numbers_body, JSON),
}


def _expected_attribute(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def by_name(spans: list[Span]) -> dict[str, Span]:
    return {s.name: s for s in spans}


# -- round trip -------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_field_survives_the_round_trip(sdk_spans: list[ReadableSpan], encoding: str) -> None:
    encode, content_type = ENCODINGS[encoding]
    decoded = by_name(decode_traces(encode(sdk_spans), content_type))
    assert set(decoded) == {s.name for s in sdk_spans}
    for original in sdk_spans:
        span = decoded[original.name]
        ctx = original.get_span_context()
        assert ctx is not None
        assert span.trace_id == format_trace_id(ctx.trace_id)
        assert span.span_id == format_span_id(ctx.span_id)
        assert len(span.trace_id) == 32 and span.trace_id == span.trace_id.lower()
        assert len(span.span_id) == 16 and span.span_id == span.span_id.lower()
        expected_parent = (
            format_span_id(original.parent.span_id) if original.parent is not None else None
        )
        assert span.parent_span_id == expected_parent
        assert span.start_time_ns == original.start_time
        assert span.end_time_ns == original.end_time
        assert span.attributes == {
            k: _expected_attribute(v) for k, v in (original.attributes or {}).items()
        }
        assert span.resource == dict(original.resource.attributes)
        assert span.resource["windlass.project"] == "shop-bot"
        assert span.scope == "shop.agent"
        assert [e.name for e in span.events] == [e.name for e in original.events]
        for event, original_event in zip(span.events, original.events, strict=True):
            assert event.time_ns == original_event.timestamp
            assert event.attributes == {
                k: _expected_attribute(v) for k, v in (original_event.attributes or {}).items()
            }


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_nesting_status_and_events(sdk_spans: list[ReadableSpan], encoding: str) -> None:
    encode, content_type = ENCODINGS[encoding]
    spans = by_name(decode_traces(encode(sdk_spans), content_type))
    agent, llm = spans["invoke_agent shopper"], spans["chat gpt-4o"]
    tool, retriever = spans["search_catalog"], spans["retrieve"]
    assert agent.parent_span_id is None
    assert {llm.parent_span_id, tool.parent_span_id, retriever.parent_span_id} == {agent.span_id}
    assert len({s.trace_id for s in spans.values()}) == 1
    assert tool.status is SpanStatus.ERROR and tool.status_message == "catalog timed out"
    assert retriever.status is SpanStatus.OK and llm.status is SpanStatus.UNSET
    assert tool.events[0].name == "exception"
    assert tool.events[0].attributes["exception.type"] == "TimeoutError"
    assert llm.events[0].attributes == {"gen_ai.token.index": 0}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_attribute_types_flatten_to_json_values(
    sdk_spans: list[ReadableSpan], encoding: str
) -> None:
    encode, content_type = ENCODINGS[encoding]
    llm = by_name(decode_traces(encode(sdk_spans), content_type))["chat gpt-4o"]
    attrs = llm.attributes
    assert attrs["gen_ai.request.temperature"] == 0.25
    assert attrs["gen_ai.request.max_tokens"] == 512
    assert type(attrs["gen_ai.usage.input_tokens"]) is int
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["custom.scores"] == [0.5, 1.5] and attrs["custom.ids"] == [1, 2, 3]
    assert attrs["custom.flags"] == [True, False]
    assert attrs["custom.blob"] == base64.b64encode(b"\x00\xffok").decode()
    assert attrs["custom.map"] == {"tier": "gold", "n": 2}
    json.dumps(llm.to_dict())  # everything is JSON-ready


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_genai_fields_are_normalized(sdk_spans: list[ReadableSpan], encoding: str) -> None:
    encode, content_type = ENCODINGS[encoding]
    spans = by_name(decode_traces(encode(sdk_spans), content_type))
    llm = spans["chat gpt-4o"]
    assert llm.kind is SpanKind.LLM
    assert (llm.model, llm.provider) == ("gpt-4o-2024-08-06", "openai")
    assert (llm.input_tokens, llm.output_tokens) == (120, 40)
    assert (llm.cached_input_tokens, llm.reasoning_tokens) == (64, 8)
    assert llm.input == INPUT_MESSAGES and llm.output == OUTPUT_MESSAGES
    assert (llm.prompt_name, llm.prompt_version, llm.cost) == ("shopper", 3, 0.00123)
    agent = spans["invoke_agent shopper"]
    assert agent.kind is SpanKind.AGENT
    assert (agent.input, agent.output) == ("find me shoes", "here are shoes")
    assert (agent.session_id, agent.user_id) == ("s-1", "u-9")
    assert agent.run_id == "0192a7c4e2a17b3f9d2c4e5f6a7b8c9d"
    assert spans["search_catalog"].kind is SpanKind.TOOL
    retriever = spans["retrieve"]
    assert retriever.kind is SpanKind.RETRIEVER
    assert retriever.output is not None
    assert json.loads(retriever.output) == [
        {"id": "d1", "content": "red shoes", "score": 0.9},
        {"id": "d2", "content": "blue shoes", "score": 0.7},
    ]


def test_max_chars_caps_input_and_output(sdk_spans: list[ReadableSpan]) -> None:
    agent = by_name(decode_traces(protobuf_body(sdk_spans), PB, max_chars=4))[
        "invoke_agent shopper"
    ]
    assert agent.input == "find…[truncated 9 chars]"
    assert agent.attributes["input.value"] == "find me shoes"


# -- content types ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("application/x-protobuf", "protobuf"),
        ("application/x-protobuf; charset=utf-8", "protobuf"),
        ("application/protobuf", "protobuf"),
        ("application/json", "json"),
        ("Application/JSON; charset=utf-8", "json"),
        (" application/json ;charset=UTF-8", "json"),
    ],
)
def test_content_types_with_parameters_are_accepted(content_type: str, encoding: str) -> None:
    assert otlp_encoding(content_type) == encoding


@pytest.mark.parametrize(
    "content_type", ["text/plain", "", "application/grpc", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_refused(content_type: str) -> None:
    with pytest.raises(InvalidInput, match="content type") as info:
        decode_traces(b"{}", content_type)
    assert repr(content_type.strip()) in info.value.message
    assert info.value.details["content_type"] == content_type


def test_empty_requests_have_no_spans() -> None:
    assert decode_traces(b"", PB) == []
    assert decode_traces(b"{}", JSON) == []
    assert decode_traces(b'{"resourceSpans": []}', JSON) == []


# -- protobuf specifics ----------------------------------------------------------------------
def _pb_request(*spans: PbSpan, resource: list[KeyValue] | None = None) -> bytes:
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=PbResource(attributes=resource or []),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name="hand"), spans=list(spans))
                ],
            )
        ]
    ).SerializeToString()


TRACE = bytes(range(1, 17))
SPAN = bytes(range(1, 9))


def _pb_span(**overrides: Any) -> PbSpan:
    fields: dict[str, Any] = {
        "trace_id": TRACE,
        "span_id": SPAN,
        "name": "s",
        "start_time_unix_nano": 1,
        "end_time_unix_nano": 2,
    }
    fields.update(overrides)
    return PbSpan(**fields)


def test_protobuf_nested_values_and_unknown_status() -> None:
    nested = AnyValue(
        kvlist_value=KeyValueList(
            values=[
                KeyValue(
                    key="list",
                    value=AnyValue(
                        array_value=ArrayValue(
                            values=[
                                AnyValue(int_value=-5),
                                AnyValue(bytes_value=b"\x01"),
                                AnyValue(),
                            ]
                        )
                    ),
                ),
                KeyValue(key="empty", value=AnyValue(string_value="")),
            ]
        )
    )
    body = _pb_request(
        _pb_span(
            attributes=[
                KeyValue(key="n", value=nested),
                KeyValue(key="unset", value=AnyValue()),
                KeyValue(key="big", value=AnyValue(int_value=2**63 - 1)),
            ],
            status=PbStatus(code=7),
        )
    )  # a code from a future OTLP version
    [span] = decode_traces(body, PB)
    assert span.attributes == {
        "n": {"list": [-5, "AQ==", None], "empty": ""},
        "unset": None,
        "big": 2**63 - 1,
    }
    assert span.status is SpanStatus.UNSET
    assert span.trace_id == TRACE.hex() and span.span_id == SPAN.hex()


def test_an_all_zero_parent_means_root() -> None:
    [span] = decode_traces(_pb_request(_pb_span(parent_span_id=bytes(8))), PB)
    assert span.parent_span_id is None


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"trace_id": bytes(15)}, "traceId", "15 bytes, not 16"),
        ({"trace_id": b""}, "traceId", "0 bytes, not 16"),
        ({"trace_id": bytes(16)}, "traceId", "all zeros"),
        ({"span_id": bytes(range(1, 10))}, "spanId", "9 bytes, not 8"),
        ({"span_id": bytes(8)}, "spanId", "all zeros"),
        ({"parent_span_id": b"\x01\x02"}, "parentSpanId", "2 bytes, not 8"),
    ],
)
def test_protobuf_bad_ids_name_the_span_and_field(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    body = _pb_request(_pb_span(), _pb_span(**overrides))
    with pytest.raises(InvalidInput) as info:
        decode_traces(body, PB)
    where = f"resourceSpans[0].scopeSpans[0].spans[1].{field}"
    assert info.value.message.startswith(where) and reason in info.value.message
    assert info.value.details["field"] == where


@pytest.mark.parametrize(
    "body",
    [
        b"not a protobuf",
        b"\xff\xfe\xfd\xfc",
        b'{"resourceSpans": []}',
        b"\x0a\xff\xff\xff\xff\x0f",
    ],
)
def test_garbage_protobuf_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"^OTLP protobuf payload could not be parsed: "):
        decode_traces(body, PB)


def test_truncated_protobuf_is_refused(sdk_spans: list[ReadableSpan]) -> None:
    body = protobuf_body(sdk_spans)
    for cut in (1, len(body) // 3, len(body) // 2, len(body) - 1):
        with pytest.raises(InvalidInput, match="could not be parsed"):
            decode_traces(body[:cut], PB)


# -- JSON specifics --------------------------------------------------------------------------
def _json_request(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "hand"}, "spans": list(spans)}],
            }
        ]
    }


def _json_span(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "traceId": TRACE.hex(),
        "spanId": SPAN.hex(),
        "name": "s",
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2",
    }
    fields.update(overrides)
    return fields


def _decode_json(request: dict[str, Any]) -> list[Span]:
    return decode_traces(json.dumps(request).encode(), JSON)


def test_json_values_and_unknown_fields() -> None:
    values = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i", "value": {"intValue": "-42"}},
        {"key": "i2", "value": {"intValue": 7}},
        {"key": "d", "value": {"doubleValue": 1.5}},
        {"key": "d2", "value": {"doubleValue": 3}},
        {"key": "inf", "value": {"doubleValue": "Infinity"}},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "b", "value": {"boolValue": True}},
        {"key": "bytes", "value": {"bytesValue": "AAE="}},
        {
            "key": "arr",
            "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}},
        },
        {"key": "emptyarr", "value": {"arrayValue": {}}},
        {
            "key": "kv",
            "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}},
        },
        {"key": "none", "value": {}},
        {"key": "missing"},
        {"key": "future", "value": {"someFutureValue": 1}},
    ]
    span = _json_span(
        attributes=values,
        kind=3,
        flags=256,
        droppedAttributesCount=0,
        futureField={"x": 1},
        parentSpanId="",
        status={"code": 2, "message": "boom"},
        events=[{"name": "e", "timeUnixNano": "5", "attributes": values[:2]}],
    )
    request = _json_request(span)
    request["futureTopLevel"] = True
    request["resourceSpans"][0]["schemaUrl"] = "https://opentelemetry.io/schemas/1.30.0"
    [decoded] = _decode_json(request)
    attrs = decoded.attributes
    assert attrs["s"] == "x" and attrs["i"] == -42 and attrs["i2"] == 7
    assert attrs["d"] == 1.5 and attrs["d2"] == 3.0 and type(attrs["d2"]) is float
    assert attrs["inf"] == math.inf and math.isnan(attrs["nan"])
    assert attrs["b"] is True and attrs["bytes"] == "AAE="
    assert attrs["arr"] == ["a", 1] and attrs["emptyarr"] == []
    assert attrs["kv"] == {"k": False}
    assert attrs["none"] is None and attrs["missing"] is None and attrs["future"] is None
    assert decoded.parent_span_id is None
    assert (decoded.status, decoded.status_message) == (SpanStatus.ERROR, "boom")
    assert decoded.events[0].time_ns == 5 and decoded.events[0].attributes == {"s": "x", "i": -42}
    assert (decoded.start_time_ns, decoded.end_time_ns) == (1, 2)


def test_json_ids_are_lowercased_and_status_names_understood() -> None:
    [span] = _decode_json(
        _json_request(
            _json_span(
                traceId=TRACE.hex().upper(),
                parentSpanId="A1B2C3D4E5F60718",
                status={"code": "STATUS_CODE_OK"},
            )
        )
    )
    assert span.trace_id == TRACE.hex()
    assert span.parent_span_id == "a1b2c3d4e5f60718"
    assert span.status is SpanStatus.OK


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"traceId": TRACE.hex()[:30]}, "traceId", "not 32 hex characters"),
        ({"traceId": base64.b64encode(TRACE).decode()}, "traceId", "not 32 hex characters"),
        ({"traceId": "zz" + TRACE.hex()[2:]}, "traceId", "not 32 hex characters"),
        ({"traceId": "0x" + TRACE.hex()[2:]}, "traceId", "not 32 hex characters"),
        ({"traceId": "0" * 32}, "traceId", "all zeros"),
        ({"traceId": None}, "traceId", "not 32 hex characters"),
        ({"traceId": 12}, "traceId", "not 32 hex characters"),
        ({"spanId": SPAN.hex() + "00"}, "spanId", "not 16 hex characters"),
        ({"spanId": "0" * 16}, "spanId", "all zeros"),
        ({"parentSpanId": "abc"}, "parentSpanId", "not 16 hex characters"),
    ],
)
def test_json_bad_ids_name_the_span_and_field(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _decode_json(_json_request(_json_span(), _json_span(), _json_span(**overrides)))
    where = f"resourceSpans[0].scopeSpans[0].spans[2].{field}"
    assert info.value.message == f"{where} is {reason}" or (
        info.value.message.startswith(where) and reason in info.value.message
    )
    assert info.value.details["field"] == where


def test_a_missing_trace_id_is_refused() -> None:
    span = _json_span()
    del span["traceId"]
    with pytest.raises(InvalidInput, match=r"spans\[0\]\.traceId is not 32 hex"):
        _decode_json(_json_request(span))


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe", b'{"a": 1,}'])
def test_invalid_json_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"^OTLP JSON payload could not be parsed: "):
        decode_traces(body, JSON)


def _mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    request = _json_request(
        _json_span(
            attributes=[{"key": "a", "value": {"stringValue": "x"}}],
            events=[{"name": "e", "timeUnixNano": "1"}],
        )
    )
    node: Any = request
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return request


SPAN_PATH: tuple[Any, ...] = ("resourceSpans", 0, "scopeSpans", 0, "spans", 0)


@pytest.mark.parametrize(
    ("request_body", "where", "reason"),
    [
        (_mutate(("resourceSpans",), "nope"), "resourceSpans", "expected a list, got str"),
        (_mutate(("resourceSpans", 0), []), "resourceSpans[0]", "expected an object, got list"),
        (_mutate(("resourceSpans", 0, "scopeSpans"), {}), "resourceSpans[0]", "expected a list"),
        (_mutate((*SPAN_PATH[:-1], 0), "span"), "spans[0]", "a span must be an object"),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), {"intValue": "x1"}),
            "spans[0]",
            "attribute 'a': intValue 'x1' is not an integer",
        ),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), "x"),
            "spans[0]",
            "attribute 'a': an AnyValue must be an object, not str",
        ),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), {"boolValue": "true"}),
            "spans[0]",
            "boolValue 'true' is not a boolean",
        ),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), {"doubleValue": "fast"}),
            "spans[0]",
            "doubleValue 'fast' is not a number",
        ),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), {"arrayValue": []}),
            "spans[0]",
            "expected an object, got list",
        ),
        (
            _mutate((*SPAN_PATH, "attributes", 0), {"key": 5}),
            "spans[0]",
            "an attribute key must be a string",
        ),
        (
            _mutate((*SPAN_PATH, "startTimeUnixNano"), "yesterday"),
            "spans[0]",
            "startTimeUnixNano 'yesterday' is not an integer",
        ),
        (_mutate((*SPAN_PATH, "startTimeUnixNano"), 1.5), "spans[0]", "is not an integer"),
        (_mutate((*SPAN_PATH, "endTimeUnixNano"), "-5"), "spans[0]", "outside the uint64 range"),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), {"intValue": "9" * 30}),
            "spans[0]",
            "outside the int64 range",
        ),
        (
            _mutate((*SPAN_PATH, "attributes", 0, "value"), {"intValue": 1.0e30}),
            "spans[0]",
            "is not an integer",
        ),
        (_mutate((*SPAN_PATH, "name"), 5), "spans[0]", "name and status.message must be strings"),
        (_mutate((*SPAN_PATH, "events"), {"name": "e"}), "spans[0]", "expected a list"),
        (_mutate((*SPAN_PATH, "status"), {"code": "boom"}), "spans[0]", "status.code 'boom'"),
    ],
)
def test_json_of_the_wrong_shape_is_refused(
    request_body: dict[str, Any], where: str, reason: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _decode_json(request_body)
    message = info.value.message
    assert message.startswith("OTLP JSON payload is malformed at ")
    assert where in message and reason in message


@pytest.mark.parametrize("body", [b"[]", b'"resourceSpans"', b"12", b"null"])
def test_json_that_is_not_an_object_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput, match="must be an object with resourceSpans"):
        decode_traces(body, JSON)


# -- robustness: never a raw exception -------------------------------------------------------
def _decodes_or_refuses(body: bytes, content_type: str) -> None:
    with contextlib.suppress(InvalidInput):
        decode_traces(body, content_type)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_escape_as_raw_errors(body: bytes) -> None:
    _decodes_or_refuses(body, PB)
    _decodes_or_refuses(body, JSON)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "attributes",
                    "key",
                    "value",
                    "stringValue",
                    "intValue",
                    "arrayValue",
                    "values",
                    "traceId",
                    "spanId",
                    "status",
                    "code",
                    "events",
                    "name",
                    "kvlistValue",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_random_json_shapes_never_escape_as_raw_errors(document: Any) -> None:
    _decodes_or_refuses(json.dumps(document).encode(), JSON)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_real_payloads_never_escape_as_raw_errors(data: st.DataObject) -> None:
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            _pb_span(
                                attributes=[KeyValue(key="k", value=AnyValue(string_value="v"))]
                            )
                        ]
                    )
                ]
            )
        ]
    )
    body = bytearray(request.SerializeToString())
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    _decodes_or_refuses(bytes(body), PB)
    document = otlp_json(copy.deepcopy(request))
    text = bytearray(json.dumps(document).encode())
    text[data.draw(st.integers(0, len(text) - 1))] = data.draw(st.integers(32, 126))
    _decodes_or_refuses(bytes(text), JSON)
