"""Values at and beyond the documented bounds, through a real ``windlass server``.

Whatever OTLP allows is accepted (times up to 2**64 - 1, int64 token counts, any-length
attributes) and brought within the stored bounds with a note; what it does not allow is
refused with a 4xx that names the problem without driver internals. After each of these,
every trace read route of the project (enumerated from the OpenAPI document, so a new
route is covered) still answers 200, on SQLite and PostgreSQL. Aggregates keep an
unpriced cost unknown (null), never 0.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from windlass.entities import (
    ADJUSTED_ATTRIBUTE,
    MAX_ATTRIBUTE_CHARS,
    MAX_TIME_NS,
    MAX_TOKEN_COUNT,
    TRACE_GROUPINGS,
)
from windlass_testing import ServerProcess

API = "/api/v1"
BASE_NS = 1_750_000_000 * 10**9
UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
# Words of SQL, drivers and Python internals no error body may carry.
LEAKS = re.compile(
    r"sqlalchemy|psycopg|sqlite3|Traceback|SELECT |INSERT |UPDATE |"
    r"\(Background on this error|OverflowError|DataError|bigint",
    re.IGNORECASE,
)


def _tid() -> str:
    return uuid.uuid4().hex


def _sid() -> str:
    return uuid.uuid4().hex[:16]


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, server_factory: type[ServerProcess], tmp_path: Path
) -> ServerProcess:
    uri = (
        f"sqlite:///{tmp_path / 'bounds.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    return server_factory(store=uri)


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _otlp_span(
    trace_id: str,
    *,
    start: int | str = BASE_NS,
    end: int | str | None = None,
    span_id: str | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id or _sid(),
        "name": "call",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(BASE_NS + 10**6 if end is None else end),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attributes.items()],
    }


def _export(client: httpx.Client, project: str, *spans: dict[str, Any]) -> httpx.Response:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}],
            }
        ]
    }
    return client.post("/v1/traces", json=body, headers={"x-windlass-project": project})


def _refused_cleanly(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["error_code"] and body["message"]
    assert not LEAKS.search(response.text), response.text[:1000]
    return body


def _read_routes(client: httpx.Client) -> list[str]:
    """Return the paths of every GET route tagged ``traces`` in the OpenAPI document."""
    document = client.get("/openapi.json").json()
    return sorted(
        path
        for path, operations in document["paths"].items()
        if "traces" in operations.get("get", {}).get("tags", [])
    )


def _assert_every_read_route_answers(client: httpx.Client, project: str, trace_id: str) -> None:
    """GET every trace read route of ``project`` (and its trace) and expect 200."""
    routes = _read_routes(client)
    assert len(routes) >= 10, routes
    for path in routes:
        url = path.replace("{project}", project).replace("{trace_id}", trace_id)
        if "{span_id}" in url:  # one span of the trace, read back whole
            trace = client.get(f"{API}/projects/{project}/traces/{trace_id}")
            assert trace.status_code == 200, trace.text[:500]
            url = url.replace("{span_id}", trace.json()["spans"][0]["span_id"])
        assert "{" not in url, f"a path parameter this test does not know: {path}"
        params: dict[str, Any] = (
            {} if path.startswith(f"{API}/projects/") else {"project_id": project}
        )
        groupings = TRACE_GROUPINGS if path.endswith("/rollup") else (None,)
        for group_by in groupings:
            query = params if group_by is None else {**params, "group_by": group_by}
            response = client.get(url, params=query)
            assert response.status_code == 200, (path, group_by, response.text[:500])
            json.dumps(response.json(), allow_nan=False)  # finite numbers only


def _project(client: httpx.Client) -> str:
    name = f"bounds-{uuid.uuid4().hex[:10]}"
    assert client.post(f"{API}/projects", json={"name": name}).status_code in (200, 201)
    return name


def _spans(client: httpx.Client, project: str, trace_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/projects/{project}/traces/{trace_id}")
    assert response.status_code == 200, response.text[:500]
    spans: list[dict[str, Any]] = response.json()["spans"]
    return spans


def _metric(url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_what_otlp_allows_is_stored_within_bounds_and_every_route_still_answers(
    server: ServerProcess, client: httpx.Client
) -> None:
    project = _project(client)
    first = _tid()
    assert _export(client, project, _otlp_span(first)).status_code == 200
    _assert_every_read_route_answers(client, project, first)
    attempts: list[tuple[str, list[dict[str, Any]]]] = [
        ("unsigned 64-bit times", [_otlp_span(_tid(), start=UINT64_MAX, end=UINT64_MAX)]),
        ("end before start", [_otlp_span(_tid(), start=BASE_NS + 5, end=BASE_NS)]),
        (
            "int64 token counts, twice per trace and in two traces",
            [
                _otlp_span(
                    trace_id,
                    **{
                        "gen_ai.request.model": "gpt-4o",
                        "gen_ai.usage.input_tokens": INT64_MAX,
                        "gen_ai.usage.output_tokens": INT64_MAX,
                    },
                )
                for trace_id in (_tid(), _tid())
                for _ in range(2)
            ],
        ),
        (
            "negative token counts",
            [
                _otlp_span(
                    _tid(),
                    **{
                        "gen_ai.request.model": "gpt-4o",
                        "gen_ai.usage.input_tokens": -5,
                        "llm.token_count.completion": -7,
                    },
                )
            ],
        ),
        (
            "a cost beyond any sum",
            [_otlp_span(_tid(), **{"windlass.cost": 1e308}) for _ in range(2)],
        ),
        ("a huge attribute", [_otlp_span(_tid(), **{"big": "x" * (MAX_ATTRIBUTE_CHARS + 10)})]),
    ]
    for what, spans in attempts:
        response = _export(client, project, *spans)
        assert response.status_code == 200, (what, response.text[:500])
        assert "clamped or truncated" in response.json()["partialSuccess"]["errorMessage"]
        _assert_every_read_route_answers(client, project, first)

    # What was stored, and the notes saying what changed.
    stored = {s["spanId"]: s for _what, spans in attempts for s in spans}
    seen = [
        span
        for span_id, span in stored.items()
        for span in _spans(client, project, span["traceId"])
        if span["span_id"] == span_id
    ]
    assert len(seen) == len(stored) and all(ADJUSTED_ATTRIBUTE in s["attributes"] for s in seen)
    by_name = {what: _spans(client, project, spans[0]["traceId"])[0] for what, spans in attempts}
    late = by_name["unsigned 64-bit times"]
    assert late["start_time_ns"] == late["end_time_ns"] == MAX_TIME_NS
    assert any("clamped" in note for note in late["attributes"][ADJUSTED_ATTRIBUTE])
    backwards = by_name["end before start"]
    assert backwards["end_time_ns"] == backwards["start_time_ns"] == BASE_NS + 5
    tokens = by_name["int64 token counts, twice per trace and in two traces"]
    assert tokens["input_tokens"] == tokens["output_tokens"] == MAX_TOKEN_COUNT
    assert tokens["attributes"]["gen_ai.usage.input_tokens"] == INT64_MAX  # kept as sent
    negative = by_name["negative token counts"]
    assert negative["input_tokens"] is None and negative["output_tokens"] is None
    assert any(
        "gen_ai.usage.input_tokens: -5" in note
        for note in negative["attributes"][ADJUSTED_ATTRIBUTE]
    )
    assert by_name["a cost beyond any sum"]["cost"] is None
    big = by_name["a huge attribute"]["attributes"]["big"]
    assert big == "x" * MAX_ATTRIBUTE_CHARS + "…[truncated 10 chars]"
    stats = client.get(f"{API}/projects/{project}/traces/stats").json()
    assert stats["input_tokens"] == 4 * MAX_TOKEN_COUNT
    assert _metric(server.url, "windlass_spans_adjusted_total", project=project) == 10


def test_what_is_refused_names_the_problem_and_leaks_nothing(
    server: ServerProcess, client: httpx.Client
) -> None:
    project = _project(client)
    trace_id = _tid()
    assert _export(client, project, _otlp_span(trace_id)).status_code == 200
    good = {
        "trace_id": _tid(),
        "span_id": _sid(),
        "name": "n",
        "start_time_ns": BASE_NS,
        "end_time_ns": BASE_NS + 1,
    }
    hostile_spans = [
        {"input_tokens": 2**63},
        {"start_time_ns": 2**64},
        {"end_time_ns": -1},
        {"prompt_version": 10**30},
        {"output_tokens": -1},
        {"trace_id": "zz" * 16},
        {"span_id": "'; DROP TABLE spans; --"},
        {"cost": -1.0},
        {"start_time_ns": "12"},
        {"events": [{"name": "e", "time_ns": 2**64, "attributes": {}}]},
    ]
    for change in hostile_spans:
        body = _refused_cleanly(
            client.post(f"{API}/projects/{project}/spans", json={"spans": [{**good, **change}]})
        )
        assert body["error_code"] == "INVALID_INPUT"
        _assert_every_read_route_answers(client, project, trace_id)
    # Beyond what OTLP allows: the request is refused and says where.
    for span in (
        _otlp_span(_tid(), start=UINT64_MAX + 1),
        _otlp_span(_tid(), **{"gen_ai.usage.input_tokens": 2**64}),
    ):
        _refused_cleanly(_export(client, project, span))
    hostile_filters = {
        "start_time_ns > 99999999999999999999": "99999999999999999999",
        "duration_ms > 9223372036854775807": "9223372036854775807",
        "span.input_tokens = -9223372036854775809": "-9223372036854775809",
        "attributes.n = 18446744073709551616": "18446744073709551616",
        "cost < 1e999": "1e999",
        "cost < '1e999'": "1e999",
        "status = 'fine'": "fine",
    }
    for text, literal in hostile_filters.items():
        for path in (f"{API}/projects/{project}/traces", f"{API}/projects/{project}/traces/stats"):
            body = _refused_cleanly(client.get(path, params={"filter": text}))
            assert body["error_code"] == "INVALID_FILTER" and literal in body["message"], body
    for path in (f"{API}/projects/{project}/traces/{'g' * 32}", f"{API}/traces/{'a' * 31}"):
        _refused_cleanly(client.get(path))
    _refused_cleanly(client.get(f"{API}/projects/{project}/spans", params={"start_ns": 2**63}))
    _assert_every_read_route_answers(client, project, trace_id)


def test_unpriced_cost_is_null_in_stats_and_rollups(client: httpx.Client) -> None:
    project = _project(client)

    def llm(trace_id: str, model: str, session: str) -> dict[str, Any]:
        return _otlp_span(
            trace_id,
            **{
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": model,
                "session.id": session,
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
            },
        )

    unpriced = _tid()
    assert (
        _export(client, project, llm(unpriced, "no-such-model-1", "s-unpriced")).status_code == 200
    )
    stats = client.get(f"{API}/projects/{project}/traces/stats").json()
    assert stats["cost"] is None and stats["unpriced_llm_spans"] == 1
    assert [r["cost"] for r in stats["by_model"]] == [None]
    assert [r["cost"] for r in stats["by_day"]] == [None]
    for group_by in TRACE_GROUPINGS:
        rows = client.get(
            f"{API}/projects/{project}/traces/rollup", params={"group_by": group_by}
        ).json()["rollup"]
        assert all(r["cost"] is None for r in rows), (group_by, rows)
    # Mixed: the priced sum, and how many model calls had no price.
    mixed = _tid()
    assert (
        _export(
            client,
            project,
            llm(mixed, "gpt-4o-mini", "s-mixed"),
            llm(mixed, "no-such-model-2", "s-mixed"),
        ).status_code
        == 200
    )
    mini = (1000 * 0.15 + 500 * 0.60) / 1e6
    sessions = {
        r["key"]: r
        for r in client.get(
            f"{API}/projects/{project}/traces/rollup", params={"group_by": "session"}
        ).json()["rollup"]
    }
    assert sessions["s-unpriced"]["cost"] is None
    assert sessions["s-mixed"]["cost"] == pytest.approx(mini)
    assert sessions["s-mixed"]["unpriced_llm_spans"] == 1
    stats = client.get(f"{API}/projects/{project}/traces/stats").json()
    assert stats["cost"] == pytest.approx(mini) and stats["unpriced_llm_spans"] == 2
    models = {r["key"]: r["cost"] for r in stats["by_model"]}
    assert models["no-such-model-1"] is None and models["no-such-model-2"] is None
    assert models["gpt-4o-mini"] == pytest.approx(mini)


def test_openapi_states_the_enforced_id_patterns_and_exact_integer_bounds(
    client: httpx.Client,
) -> None:
    response = client.get("/openapi.json")
    text = response.text
    document = response.json()
    # Bounds are exact JSON integers, never floats like 9.223372036854776e+18.
    assert not re.search(r'"(minimum|maximum)":\s*-?\d+(\.\d+)?[eE]', text)
    assert not re.search(r'"(minimum|maximum)":\s*-?\d+\.\d+', text)
    for path in (f"{API}/traces/{{trace_id}}", f"{API}/projects/{{project}}/traces/{{trace_id}}"):
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert parameters["trace_id"]["schema"]["pattern"] == "^[0-9a-fA-F]{32}$"
    spans = document["paths"][f"{API}/projects/{{project}}/spans"]["get"]["parameters"]
    start = next(p for p in spans if p["name"] == "start_ns")["schema"]["anyOf"][0]
    assert (start["minimum"], start["maximum"]) == (0, INT64_MAX)
    schemas = document["components"]["schemas"]
    body = schemas["SpanBody"]["properties"]
    assert body["trace_id"]["pattern"] == "^[0-9a-fA-F]{32}$"
    assert (
        body["span_id"]["pattern"]
        == body["parent_span_id"]["anyOf"][0]["pattern"]
        == "^[0-9a-fA-F]{16}$"
    )
    for name in ("start_time_ns", "end_time_ns"):
        assert (body[name]["type"], body[name]["minimum"], body[name]["maximum"]) == (
            "integer",
            0,
            INT64_MAX,
        )
        assert "12.0" in body[name]["description"]  # says it takes whole JSON numbers
    tokens = body["input_tokens"]["anyOf"][0]
    assert (tokens["minimum"], tokens["maximum"]) == (0, INT64_MAX)
    assert str(MAX_TOKEN_COUNT) in tokens["description"]
    event_time = schemas["SpanEventBody"]["properties"]["time_ns"]
    assert (event_time["minimum"], event_time["maximum"]) == (0, INT64_MAX)
    # And the server does what the document says: 12.0 is 12, "12" is refused.
    project = _project(client)
    span = {
        "trace_id": _tid().upper(),
        "span_id": _sid(),
        "name": "n",
        "start_time_ns": float(BASE_NS // 10**9 * 10**9),
        "end_time_ns": BASE_NS + 1,
        "input_tokens": 12.0,
    }
    stored = client.post(f"{API}/projects/{project}/spans", json={"spans": [span]})
    assert stored.status_code == 200, stored.text
    [got] = _spans(client, project, span["trace_id"].lower())
    assert got["input_tokens"] == 12 and got["trace_id"] == span["trace_id"].lower()
    _refused_cleanly(
        client.post(
            f"{API}/projects/{project}/spans",
            json={"spans": [{**span, "span_id": _sid(), "input_tokens": "12"}]},
        )
    )
    _refused_cleanly(
        client.post(
            f"{API}/projects/{project}/spans",
            json={"spans": [{**span, "span_id": _sid(), "input_tokens": 12.5}]},
        )
    )
