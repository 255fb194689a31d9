"""OTLP/HTTP ingest (``POST /v1/traces``) of a real ``windlass server`` process.

Spans arrive from the real OpenTelemetry SDK and its OTLP/HTTP exporter (protobuf, plain
and gzip), and as OTLP/JSON with hex ids; they are read back through the REST client with
their GenAI fields normalized and priced. Bad requests get a clear 4xx and change nothing;
``/metrics`` counts spans, duplicates, requests and the ingest lag.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client.parser import text_string_to_metric_families

from windlass.entities import Span, SpanKind
from windlass.exceptions import ProjectNotFound, TraceNotFound
from windlass.store.rest.store import RestStore
from windlass_testing import ServerProcess

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
BASE_NS = 1_750_000_000 * 10**9
# openai/gpt-4o-mini in the shipped price table: $0.15 input, $0.60 output per 1M tokens.
MINI_COST = (1000 * 0.15 + 500 * 0.60) / 1e6


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _hex_id(size: int) -> str:
    return uuid.uuid4().hex[: 2 * size] if size <= 16 else uuid.uuid4().hex


def refused(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is the JSON error body with this status (and code)."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error_code"], str) and body["error_code"]
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in body["message"]
    if code is not None:
        assert body["error_code"] == code, body
    return body


def metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample of ``/metrics`` by (name, sorted labels)."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def sample(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# -- building requests ------------------------------------------------------------------
def json_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def json_span(
    trace_id: str,
    name: str,
    *,
    span_id: str | None = None,
    parent: str | None = None,
    start: int = BASE_NS,
    duration_ns: int = 10**6,
    **attributes: Any,
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id or _hex_id(8),
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + duration_ns),
        "attributes": [
            {"key": k.replace("__", "."), "value": json_value(v)} for k, v in attributes.items()
        ],
        "status": {"code": 1},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def json_request(*groups: tuple[dict[str, Any], list[dict[str, Any]]]) -> dict[str, Any]:
    """Return an OTLP/JSON export request: one resourceSpans per (resource, spans)."""
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": k, "value": {"stringValue": v}} for k, v in resource.items()
                    ]
                },
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
            }
            for resource, spans in groups
        ]
    }


def protobuf_of(request: dict[str, Any]) -> bytes:
    """Return the protobuf encoding of an OTLP/JSON request (ids hex -> bytes)."""
    message = ExportTraceServiceRequest()
    for group in request["resourceSpans"]:
        resource_spans = message.resource_spans.add()
        for attribute in group["resource"]["attributes"]:
            kv = resource_spans.resource.attributes.add()
            kv.key, kv.value.string_value = attribute["key"], attribute["value"]["stringValue"]
        for scope in group["scopeSpans"]:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = scope["scope"]["name"]
            for span in scope["spans"]:
                pb = scope_spans.spans.add()
                pb.trace_id = bytes.fromhex(span["traceId"])
                pb.span_id = bytes.fromhex(span["spanId"])
                pb.name = span["name"]
                pb.start_time_unix_nano = int(span["startTimeUnixNano"])
                pb.end_time_unix_nano = int(span["endTimeUnixNano"])
    return message.SerializeToString()


def llm_span(trace_id: str, model: str, **extra: Any) -> dict[str, Any]:
    return json_span(
        trace_id,
        f"chat {model}",
        gen_ai__operation__name="chat",
        gen_ai__system="openai",
        gen_ai__request__model=model,
        gen_ai__usage__input_tokens=1000,
        gen_ai__usage__output_tokens=500,
        **extra,
    )


@pytest.fixture
def rest(server: ServerProcess) -> Iterator[RestStore]:
    store = RestStore(server.url)
    yield store
    store.close()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def trace_ids(rest: RestStore, project: str) -> set[str]:
    return {t.trace_id for t in rest.traces.search_traces([project], max_results=1000).items}


# -- the real OpenTelemetry exporter ----------------------------------------------------
def _export_with_sdk(url: str, resource: dict[str, str], **exporter: Any) -> tuple[str, str]:
    """Send an agent span with two model calls through the OTel SDK; return trace and root."""
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=30, **exporter))
    )
    tracer = provider.get_tracer("windlass.tests")
    with tracer.start_as_current_span("agent") as root:
        for model in ("gpt-4o-mini", "mystery-model-x"):
            with tracer.start_as_current_span(f"chat {model}") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.system": "openai",
                        "gen_ai.request.model": model,
                        "gen_ai.usage.input_tokens": 1000,
                        "gen_ai.usage.output_tokens": 500,
                    }
                )
    assert provider.force_flush(30_000)
    provider.shutdown()
    context = root.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _assert_normalized(spans: list[Span], root_id: str) -> None:
    assert [s.name for s in spans] == ["agent", "chat gpt-4o-mini", "chat mystery-model-x"]
    root, mini, mystery = spans
    assert root.span_id == root_id and root.parent_span_id is None
    assert mini.parent_span_id == root_id and mystery.parent_span_id == root_id
    assert (mini.kind, mini.model, mini.provider) == (SpanKind.LLM, "gpt-4o-mini", "openai")
    assert (mini.input_tokens, mini.output_tokens) == (1000, 500)
    assert mini.cost == pytest.approx(MINI_COST)
    assert mystery.model == "mystery-model-x" and mystery.input_tokens == 1000
    assert mystery.cost is None  # unknown model: unknown cost, never 0
    assert root.resource["service.name"] == "checkout"
    assert mini.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert mini.scope == "windlass.tests"


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_exporter_spans_are_stored_normalized_and_priced(
    server: ServerProcess, rest: RestStore, compression: Compression
) -> None:
    project = _name("otel-sdk")
    trace_id, root_id = _export_with_sdk(
        server.url,
        {"service.name": "checkout", "windlass.project": project},
        compression=compression,
    )
    _assert_normalized(rest.traces.get_trace(trace_id), root_id)
    _assert_normalized(rest.traces.get_trace(trace_id, project), root_id)
    [summary] = rest.traces.search_traces([project]).items
    assert (summary.trace_id, summary.name, summary.span_count) == (trace_id, "agent", 3)
    assert summary.models == ("gpt-4o-mini", "mystery-model-x")
    assert summary.cost == pytest.approx(MINI_COST) and summary.cost_complete is False
    stats = rest.traces.trace_stats([project])
    assert (stats.count, stats.input_tokens, stats.unpriced_llm_spans) == (1, 2000, 1)


def test_header_project_wins_over_the_resource_attribute(
    server: ServerProcess, rest: RestStore
) -> None:
    named, header = _name("otel-resource"), _name("otel-header")
    trace_id, root_id = _export_with_sdk(
        server.url,
        {"service.name": "checkout", "windlass.project": named},
        headers={"x-windlass-project": header},
    )
    _assert_normalized(rest.traces.get_trace(trace_id, header), root_id)
    with pytest.raises(ProjectNotFound):
        rest.traces.get_trace(trace_id, named)  # the resource's project was never created


# -- OTLP/JSON --------------------------------------------------------------------------
def test_json_with_hex_ids_plain_and_gzip(client: httpx.Client, rest: RestStore) -> None:
    project = _name("otlp-json")
    plain, zipped = _hex_id(16).upper(), _hex_id(16)  # hex ids in either case
    root = _hex_id(8)
    body = json_request(
        (
            {"windlass.project": project},
            [
                json_span(plain, "agent", span_id=root),
                llm_span(
                    plain, "gpt-4o-mini", parent=root, span_id=_hex_id(8), start=BASE_NS + 1000
                ),  # starts after its parent: a defined order
            ],
        )
    )
    response = client.post("/v1/traces", content=json.dumps(body), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}  # full success: no partialSuccess
    spans = rest.traces.get_trace(plain.lower(), project)
    assert [s.name for s in spans] == ["agent", "chat gpt-4o-mini"]
    assert spans[1].parent_span_id == root and spans[1].cost == pytest.approx(MINI_COST)

    zipped_body = gzip.compress(
        json.dumps(
            json_request(({"windlass.project": project}, [llm_span(zipped, "unknown-model-9")]))
        ).encode()
    )
    response = client.post(
        "/v1/traces", content=zipped_body, headers={**JSON, "content-encoding": "gzip"}
    )
    assert response.status_code == 200 and response.json() == {}
    [span] = rest.traces.get_trace(zipped, project)
    assert span.model == "unknown-model-9" and span.cost is None
    assert trace_ids(rest, project) == {plain.lower(), zipped}


def test_spans_are_routed_per_resource_project(client: httpx.Client, rest: RestStore) -> None:
    first, second, default_trace = _name("route-a"), _name("route-b"), _hex_id(16)
    a, b = _hex_id(16), _hex_id(16)
    body = json_request(
        ({"windlass.project": first}, [json_span(a, "in a")]),
        ({"windlass.project": second}, [json_span(b, "in b")]),
    )
    assert client.post("/v1/traces", content=protobuf_of(body), headers=PROTOBUF).status_code == 200
    assert trace_ids(rest, first) == {a} and trace_ids(rest, second) == {b}

    # A header files every span of the request under its project, whatever the resources.
    header = _name("route-header")
    c, d = _hex_id(16), _hex_id(16)
    body = json_request(
        ({"windlass.project": first}, [json_span(c, "c")]), ({}, [json_span(d, "d")])
    )
    assert (
        client.post(
            "/v1/traces", content=json.dumps(body), headers={**JSON, "x-windlass-project": header}
        ).status_code
        == 200
    )
    assert trace_ids(rest, header) == {c, d} and trace_ids(rest, first) == {a}

    # No header and no resource attribute: the default project.
    body = json_request(({"service.name": "x"}, [json_span(default_trace, "default")]))
    assert client.post("/v1/traces", content=json.dumps(body), headers=JSON).status_code == 200
    assert rest.traces.get_trace(default_trace, "default")[0].name == "default"


# -- duplicates -------------------------------------------------------------------------
def test_duplicates_are_reported_in_partial_success_and_metrics(
    server: ServerProcess, client: httpx.Client, rest: RestStore
) -> None:
    project = _name("otlp-dup")
    trace_id = _hex_id(16)
    spans = [json_span(trace_id, f"s{i}", start=BASE_NS + i) for i in range(12)]
    body = json_request(({"windlass.project": project}, spans))
    first = client.post("/v1/traces", content=protobuf_of(body), headers=PROTOBUF)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(first.content)
    assert not answer.HasField("partial_success")

    again = client.post("/v1/traces", content=protobuf_of(body), headers=PROTOBUF)
    assert again.status_code == 200
    answer = ExportTraceServiceResponse.FromString(again.content)
    assert answer.partial_success.rejected_spans == 12
    message = answer.partial_success.error_message
    assert "already stored" in message and "and 2 more" in message
    assert f"{trace_id}/{spans[0]['spanId']}" in message
    assert f"{trace_id}/{spans[11]['spanId']}" not in message  # the first ten are named

    # JSON: one new span and one repeated; the answer is JSON too.
    fresh = json_span(trace_id, "fresh", start=BASE_NS + 100)
    mixed = json_request(({"windlass.project": project}, [spans[3], fresh]))
    response = client.post("/v1/traces", content=json.dumps(mixed), headers=JSON)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert partial["errorMessage"].startswith("1 span(s) already stored")
    assert f"{trace_id}/{spans[3]['spanId']}" in partial["errorMessage"]

    assert len(rest.traces.get_trace(trace_id, project)) == 13
    found = metrics(server.url)
    assert sample(found, "windlass_spans_ingested_total", project=project) == 13
    assert sample(found, "windlass_spans_duplicate_total", project=project) == 13


def test_duplicates_are_counted_per_project(server: ServerProcess, client: httpx.Client) -> None:
    first, second = _name("dup-a"), _name("dup-b")
    span_a, span_b = json_span(_hex_id(16), "a"), json_span(_hex_id(16), "b")
    body = json_request(
        ({"windlass.project": first}, [span_a]), ({"windlass.project": second}, [span_b])
    )
    assert client.post("/v1/traces", content=json.dumps(body), headers=JSON).status_code == 200
    repeat = json_request(
        ({"windlass.project": first}, [span_a]),
        ({"windlass.project": second}, [span_b, json_span(_hex_id(16), "c")]),
    )
    response = client.post("/v1/traces", content=json.dumps(repeat), headers=JSON)
    assert int(response.json()["partialSuccess"]["rejectedSpans"]) == 2
    found = metrics(server.url)
    assert sample(found, "windlass_spans_ingested_total", project=first) == 1
    assert sample(found, "windlass_spans_ingested_total", project=second) == 2
    assert sample(found, "windlass_spans_duplicate_total", project=first) == 1
    assert sample(found, "windlass_spans_duplicate_total", project=second) == 1


# -- bad requests -----------------------------------------------------------------------
def test_malformed_payloads_are_400_and_store_nothing(
    client: httpx.Client, rest: RestStore
) -> None:
    project = _name("otlp-bad")
    kept = _hex_id(16)
    seed = json_request(({"windlass.project": project}, [json_span(kept, "kept")]))
    assert client.post("/v1/traces", content=json.dumps(seed), headers=JSON).status_code == 200
    before = rest.traces.trace_stats([project])

    good = json_span(_hex_id(16), "good")
    cases: list[tuple[bytes, dict[str, str], str]] = [
        (b"\xff\xff\xff\xff", PROTOBUF, "protobuf"),
        (b"{not json", JSON, "JSON"),
        (b"[1, 2]", JSON, "object"),
        (
            json.dumps(
                json_request(
                    ({"windlass.project": project}, [good, {**good, "spanId": "zz", "name": "bad"}])
                )
            ).encode(),
            JSON,
            "spanId",
        ),
        (
            json.dumps(
                json_request(
                    (
                        {"windlass.project": project},
                        [good, {**good, "spanId": _hex_id(8), "traceId": "0" * 32}],
                    )
                )
            ).encode(),
            JSON,
            "traceId",
        ),
        (
            json.dumps({"resourceSpans": [{"scopeSpans": "nope"}]}).encode(),
            JSON,
            "resourceSpans[0]",
        ),
        (b"not gzip at all", {**JSON, "content-encoding": "gzip"}, "gzip"),
        (
            gzip.compress(json.dumps(seed).encode())[:-12],
            {**JSON, "content-encoding": "gzip"},
            "truncated",
        ),
    ]
    for body, headers, named in cases:
        error = refused(client.post("/v1/traces", content=body, headers=headers), 400)
        assert named in error["message"], error
    # An invalid project name in the header is refused before anything is stored.
    error = refused(
        client.post(
            "/v1/traces",
            content=json.dumps(seed),
            headers={**JSON, "x-windlass-project": "no spaces!"},
        ),
        400,
    )
    assert "project name" in error["message"]

    assert rest.traces.trace_stats([project]) == before
    assert trace_ids(rest, project) == {kept}
    with pytest.raises(TraceNotFound):
        rest.traces.get_trace(good["traceId"])


def test_unsupported_content_types_and_encodings_are_415(
    server: ServerProcess, client: httpx.Client
) -> None:
    before = metrics(server.url)
    for headers in (
        {"content-type": "text/plain"},
        {"content-type": "application/grpc"},
        {},
        {**JSON, "content-encoding": "br"},
        {**PROTOBUF, "content-encoding": "deflate"},
    ):
        error = refused(
            client.post("/v1/traces", content=b"{}", headers=headers), 415, "UNSUPPORTED_MEDIA_TYPE"
        )
        assert "send" in error["message"]
    # Parameters of the media type do not matter.
    assert (
        client.post(
            "/v1/traces", content=b"{}", headers={"content-type": "application/json; charset=utf-8"}
        ).status_code
        == 200
    )
    after = metrics(server.url)
    assert (
        sample(after, "windlass_otlp_requests_total", status="415")
        - sample(before, "windlass_otlp_requests_total", status="415")
        == 5
    )


LIMIT = 100_000


@pytest.fixture
def small_server(server_factory: type[ServerProcess]) -> ServerProcess:
    # OTLP has its own limit: above the JSON one here, so this also shows it applies.
    return server_factory(
        env={
            "WINDLASS_OTLP_MAX_BODY_BYTES": str(LIMIT),
            "WINDLASS_MAX_REQUEST_BYTES": str(LIMIT // 2),
        }
    )


def test_oversized_bodies_are_413_as_sent_streamed_and_decompressed(
    small_server: ServerProcess,
) -> None:
    project = _name("otlp-big")
    rest = RestStore(small_server.url)
    big = json.dumps(
        json_request(
            (
                {"windlass.project": project},
                [json_span(_hex_id(16), "x" * 1000, input_value="y" * 2000) for _ in range(40)],
            )
        )
    )
    assert len(big) > LIMIT

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192].encode()

    bomb = gzip.compress(b" " * (50 * LIMIT))  # whitespace is valid JSON padding
    assert len(bomb) < LIMIT // 10
    with httpx.Client(base_url=small_server.url, timeout=60) as client:
        declared = client.post("/v1/traces", content=big, headers=JSON)
        streamed = client.post("/v1/traces", content=chunks(), headers=JSON)
        assert "content-length" not in streamed.request.headers
        expanded = client.post(
            "/v1/traces", content=bomb, headers={**JSON, "content-encoding": "gzip"}
        )
        for response in (declared, streamed, expanded):
            error = refused(response, 413, "PAYLOAD_TOO_LARGE")
            assert "WINDLASS_OTLP_MAX_BODY_BYTES" in error["message"]
            assert error["details"]["limit"] == LIMIT
        assert "decompresses" in expanded.json()["message"]

        # Under the OTLP limit but over the JSON limit of the other routes: accepted.
        medium = json.dumps(
            json_request(
                (
                    {"windlass.project": project},
                    [json_span(_hex_id(16), "m", input_value="z" * 60_000)],
                )
            )
        )
        assert LIMIT // 2 < len(medium) < LIMIT
        assert client.post("/v1/traces", content=medium, headers=JSON).status_code == 200
        gzipped = gzip.compress(medium.encode())
        assert (
            client.post(
                "/v1/traces", content=gzipped, headers={**JSON, "content-encoding": "gzip"}
            ).status_code
            == 200
        )
        found = metrics(small_server.url)
    assert sample(found, "windlass_otlp_requests_total", status="413") == 3
    assert sample(found, "windlass_otlp_requests_total", status="200") == 2
    assert rest.traces.trace_stats([project]).count == 1  # the medium one, stored once
    rest.close()


# -- metrics ----------------------------------------------------------------------------
def test_metrics_count_requests_spans_and_lag(server: ServerProcess, client: httpx.Client) -> None:
    project = _name("otlp-metrics")
    before = metrics(server.url)
    for i in range(3):
        body = json_request(
            ({"windlass.project": project}, [json_span(_hex_id(16), f"t{i}") for _ in range(i + 1)])
        )
        assert client.post("/v1/traces", content=json.dumps(body), headers=JSON).status_code == 200
    refused(client.post("/v1/traces", content=b"{oops", headers=JSON), 400)
    after = metrics(server.url)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert sample(after, "windlass_spans_ingested_total", project=project) == 6
    assert delta("windlass_otlp_requests_total", status="200") >= 3
    assert delta("windlass_otlp_requests_total", status="400") >= 1
    assert delta("windlass_span_ingest_lag_seconds_count") >= 3
    assert delta("windlass_span_ingest_lag_seconds_sum") > 0
    assert sample(after, "windlass_span_ingest_lag_seconds_bucket", le="+Inf") == sample(
        after, "windlass_span_ingest_lag_seconds_count"
    )


def test_metrics_add_up_across_workers_with_a_multiprocess_dir(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    server = server_factory(workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(folder)})
    project = _name("otlp-workers")
    for _ in range(20):  # new connections, so both workers answer some
        body = json_request(({"windlass.project": project}, [json_span(_hex_id(16), "w")]))
        assert (
            httpx.post(
                f"{server.url}/v1/traces", content=json.dumps(body), headers=JSON, timeout=60
            ).status_code
            == 200
        )
    for _ in range(3):  # whichever worker answers the scrape sees all of them
        found = metrics(server.url)
        assert sample(found, "windlass_spans_ingested_total", project=project) == 20
        assert sample(found, "windlass_otlp_requests_total", status="200") == 20
        assert sample(found, "windlass_span_ingest_lag_seconds_count") == 20
    assert len(list(folder.glob("*.db"))) >= 2  # both workers wrote their own file


# -- reasoning tokens -------------------------------------------------------------------
REASONING_SPELLINGS = [
    "gen_ai.usage.reasoning.output_tokens",  # the GenAI semantic conventions
    "gen_ai.usage.output_tokens.reasoning",
    "gen_ai.usage.reasoning_tokens",  # OpenLLMetry (Traceloop)
    "gen_ai.usage.output_tokens_details.reasoning_tokens",  # OpenAI's usage, flattened
    "llm.token_count.completion_details.reasoning",  # OpenInference
    "windlass.usage.reasoning_tokens",
]


@pytest.mark.parametrize("key", REASONING_SPELLINGS)
def test_reasoning_tokens_are_read_from_every_spelling(
    client: httpx.Client, rest: RestStore, key: str
) -> None:
    project = _name("otlp-reasoning")
    trace_id = _hex_id(16)
    span = llm_span(trace_id, "gpt-4o-mini")
    span["attributes"].append({"key": key, "value": {"intValue": "321"}})
    body = json_request(({"windlass.project": project}, [span]))
    assert client.post("/v1/traces", json=body).status_code == 200
    [stored] = rest.traces.get_trace(trace_id)
    assert stored.reasoning_tokens == 321 and stored.output_tokens == 500
