"""The trace routes and the REST client's trace methods against a real ``windlass server``.

A mini contract: what :class:`RestStore` answers (through the server's routes and traces
domain) equals what the :class:`SqlStore` under that server answers, on SQLite and on
PostgreSQL; errors come back as the same exceptions, and as the documented status codes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from windlass.entities import (
    TRACE_GROUPINGS,
    Span,
    SpanEvent,
    SpanIngestResult,
    SpanKind,
    SpanStatus,
    all_pages,
)
from windlass.exceptions import InvalidFilter, InvalidInput, ProjectNotFound, TraceNotFound
from windlass.ids import new_id, now_ms
from windlass.store.rest.store import RestStore
from windlass.store.sql.store import SqlStore
from windlass_testing import ServerProcess

API = "/api/v1"
BASE = 1_700_000_000 * 10**9
MS = 1_000_000
SECOND = 10**9
DAY = 86_400 * SECOND


def _tid() -> str:
    return uuid.uuid4().hex


def _sid() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Pair:
    """A server, the REST client talking to it, and the SQL store beneath it."""

    server: ServerProcess
    rest: RestStore
    sql: SqlStore

    def project(self, prefix: str = "tr") -> str:
        return self.rest.runs.get_or_create_project(
            f"{prefix}-{new_id()[-12:]}", new_id(), now_ms()
        ).id


@pytest.fixture(params=["sqlite", "postgresql"])
def pair(
    request: pytest.FixtureRequest, server_factory: type[ServerProcess], tmp_path: Path
) -> Iterator[Pair]:
    uri = (
        f"sqlite:///{tmp_path / 'traces.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    server = server_factory(store=uri)
    rest, sql = RestStore(server.url), SqlStore(uri)
    yield Pair(server, rest, sql)
    rest.close()
    sql.close()


def _dataset(project: str, traces: int = 30) -> list[Span]:
    """Traces of a root and children with sessions, users, models, prompts and errors."""
    spans: list[Span] = []
    models = ["gpt-4o", "gpt-4o-mini", "claude-3", None]
    for i in range(traces):
        trace_id, root = _tid(), _sid()
        start = BASE + (i % 4) * DAY + i * SECOND
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=root,
                name=f"request {i % 5}",
                start_time_ns=start,
                end_time_ns=start + (i + 1) * 7 * MS,
                kind=SpanKind.AGENT,
                status=SpanStatus.ERROR if i % 6 == 0 else SpanStatus.OK,
                session_id=f"s{i % 4}" if i % 3 else None,
                user_id=f"u{i % 3}",
                attributes={"tier": "gold" if i % 2 else "silver", "n": i},
                resource={"service.name": "svc", "project": project},
            )
        )
        for j in range(i % 3 + 1):
            model = models[(i + j) % 4]
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=_sid(),
                    parent_span_id=root,
                    name=f"call {j}",
                    start_time_ns=start + (j + 1) * MS,
                    end_time_ns=start + (j + 3) * MS,
                    kind=SpanKind.LLM if model else SpanKind.TOOL,
                    model=model,
                    provider="openai" if model and model.startswith("gpt") else None,
                    input_tokens=100 * (j + 1) if model else None,
                    output_tokens=10 * i if model else None,
                    # Some are priced by the caller, some by the server, some stay unknown.
                    cost=0.001 * j if model == "gpt-4o" else None,
                    prompt_name="greet" if j == 0 else None,
                    prompt_version=i % 2 + 1 if j == 0 else None,
                    events=(SpanEvent("token", start + 2 * MS, {"i": j}),),
                    input=f"question {i}",
                    output=f"answer {i}.{j}",
                )
            )
    return spans


FILTERS = [
    None,
    "status = 'error'",
    "model = 'gpt-4o'",
    "attributes.tier = 'gold'",
    "duration_ms > 50",
    "session_id is not null and cost > 0",
    "name like 'request 1%'",
]
ORDERS: list[list[str] | None] = [None, ["cost DESC"], ["name ASC", "duration_ms DESC"]]


def test_rest_answers_like_the_sql_store_beneath(pair: Pair) -> None:
    rest, sql = pair.rest, pair.sql
    first, second = pair.project(), pair.project()
    spans = {first: _dataset(first), second: _dataset(second, 9)}
    for project, batch in spans.items():
        half = len(batch) // 2
        assert rest.traces.ingest_spans(project, batch[:half], now_ms()) == SpanIngestResult(
            half, []
        )
        result = rest.traces.ingest_spans(project, batch, now_ms())  # a retry, plus the rest
        assert result.accepted == len(batch) - half
        assert result.duplicates == [(s.trace_id, s.span_id) for s in batch[:half]]
    both = [first, second]

    # One trace, with and without its project; priced by the server where it could be.
    for span in spans[first][:12]:
        got = rest.traces.get_trace(span.trace_id)
        assert (
            got
            == sql.traces.get_trace(span.trace_id)
            == rest.traces.get_trace(span.trace_id, first)
        )
    priced = [
        s
        for t in {s.trace_id for s in spans[first]}
        for s in rest.traces.get_trace(t)
        if s.model == "gpt-4o-mini"
    ]
    assert priced and all(s.cost is not None and s.cost > 0 for s in priced)
    assert all(
        s.cost is None
        for t in {s.trace_id for s in spans[first]}
        for s in rest.traces.get_trace(t)
        if s.model == "claude-3"
    )

    # Searches page alike, filtered and ordered, in one project or across two.
    for projects in ([first], both):
        for text in FILTERS:
            for order in ORDERS:

                def pages(
                    store: Any,
                    size: int,
                    projects: list[str] = projects,
                    text: str | None = text,
                    order: list[str] | None = order,
                ) -> list[Any]:
                    return all_pages(
                        lambda token: store.traces.search_traces(
                            projects, text, order_by=order, max_results=size, page_token=token
                        )
                    )

                expected = pages(sql, 1000)
                assert pages(rest, 7) == expected, (projects, text, order)
            window = (BASE + DAY, BASE + 3 * DAY)
            assert (
                rest.traces.search_traces(projects, text, *window).items
                == sql.traces.search_traces(projects, text, *window).items
            )
            assert rest.traces.trace_stats(projects, text) == sql.traces.trace_stats(projects, text)
            assert rest.traces.trace_stats(projects, text, *window) == sql.traces.trace_stats(
                projects, text, *window
            )
            for grouping in TRACE_GROUPINGS:
                assert rest.traces.trace_rollup(
                    projects, grouping, text
                ) == sql.traces.trace_rollup(projects, grouping, text), grouping
        assert rest.traces.trace_rollup(
            projects, "session", max_results=2
        ) == sql.traces.trace_rollup(projects, "session", max_results=2)

        # Span export pages alike.
        exported = all_pages(
            lambda token, p=projects: rest.traces.search_spans(p, max_results=13, page_token=token)
        )
        assert exported == all_pages(
            lambda token, p=projects: sql.traces.search_spans(
                p, max_results=10_000, page_token=token
            )
        )
        assert len(exported) == sum(len(spans[p]) for p in projects)
        assert (
            rest.traces.search_spans(projects, BASE + DAY, BASE + 2 * DAY).items
            == sql.traces.search_spans(projects, BASE + DAY, BASE + 2 * DAY).items
        )

    # No project: nothing, as the store says.
    assert rest.traces.search_traces([]).items == sql.traces.search_traces([]).items == []
    assert rest.traces.trace_stats([]) == sql.traces.trace_stats([])
    assert rest.traces.trace_rollup([], "day") == sql.traces.trace_rollup([], "day") == []
    assert rest.traces.search_spans([]).items == []


def test_errors_come_back_as_the_stores_exceptions(pair: Pair) -> None:
    rest, sql = pair.rest, pair.sql
    project = pair.project()
    trace_id = _tid()
    good = Span(
        trace_id=trace_id, span_id=_sid(), name="good", start_time_ns=BASE, end_time_ns=BASE + MS
    )

    def bad(**change: Any) -> Span:
        fields = {
            "trace_id": trace_id,
            "span_id": _sid(),
            "name": "bad",
            "start_time_ns": BASE,
            "end_time_ns": BASE + MS,
            **change,
        }
        return Span(**fields)

    for store in (rest, sql):
        with pytest.raises(InvalidInput, match="trace id"):
            store.traces.ingest_spans(project, [good, bad(trace_id="abc")], now_ms())
        with pytest.raises(InvalidInput, match="span id"):
            store.traces.ingest_spans(project, [good, bad(span_id="x" * 17)], now_ms())
        with pytest.raises(InvalidInput, match="not JSON"):
            store.traces.ingest_spans(project, [good, bad(attributes={"raw": b"\x00"})], now_ms())
        for change in (
            {"input": "a\x00b"},
            {"attributes": {"k": ["\x00"]}},
            {"input_tokens": 2**63},
        ):
            with pytest.raises(InvalidInput, match=r"NUL|stored"):
                store.traces.ingest_spans(project, [good, bad(**change)], now_ms())
        with pytest.raises(TraceNotFound, match=trace_id):
            store.traces.get_trace(trace_id)  # nothing of a refused batch was stored
        with pytest.raises(ProjectNotFound):
            store.traces.ingest_spans(new_id(), [good], now_ms())

    rest.traces.ingest_spans(project, [good], now_ms())
    for store in (rest, sql):
        with pytest.raises(TraceNotFound):
            store.traces.get_trace(_tid())
        with pytest.raises(TraceNotFound):
            store.traces.get_trace(trace_id, pair.project())
        with pytest.raises(ProjectNotFound):
            store.traces.get_trace(trace_id, new_id())
        with pytest.raises(ProjectNotFound):
            store.traces.search_traces([project, new_id()])
        with pytest.raises(InvalidFilter, match="name"):
            store.traces.search_traces([project], "name > 3")
        with pytest.raises(InvalidFilter, match="nope"):
            store.traces.trace_stats([project], "nope = 1")
        with pytest.raises(InvalidFilter, match="nope"):
            store.traces.search_traces([project], order_by=["nope DESC"])
        for size in (0, 1001):
            with pytest.raises(InvalidInput, match="max_results"):
                store.traces.search_traces([project], max_results=size)
        with pytest.raises(InvalidInput, match="page_token"):
            store.traces.search_traces([project], page_token="garbage")
        with pytest.raises(InvalidInput, match="group"):
            store.traces.trace_rollup([project], "week")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="max_results"):
            store.traces.search_spans([project], max_results=10_001)
        with pytest.raises(InvalidInput):
            store.traces.search_spans([project], page_token="e30")


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["error_code"] == code, body
    assert body["message"] and "Traceback" not in body["message"]
    return body


def test_status_codes_and_shapes_of_the_routes(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        name = f"routes-{uuid.uuid4().hex[:8]}"
        project = client.post(f"{API}/projects", json={"name": name}).json()
        trace_id, root = _tid(), _sid()
        spans = [
            Span(
                trace_id=trace_id,
                span_id=root,
                name="root",
                start_time_ns=BASE,
                end_time_ns=BASE + 5 * MS,
                session_id="s1",
            ).to_dict(),
            Span(
                trace_id=trace_id,
                span_id=_sid(),
                parent_span_id=root,
                name="llm",
                start_time_ns=BASE + MS,
                end_time_ns=BASE + 2 * MS,
                kind=SpanKind.LLM,
                model="gpt-4o-mini",
                provider="openai",
                input_tokens=1000,
                output_tokens=500,
            ).to_dict(),
        ]
        stored = client.post(f"{API}/projects/{name}/spans", json={"spans": spans})
        assert stored.status_code == 200 and stored.json() == {
            "accepted": 2,
            "duplicates": [],
            "adjusted": 0,
        }
        again = client.post(f"{API}/projects/{project['id']}/spans", json={"spans": spans[:1]})
        assert again.json() == {"accepted": 0, "duplicates": [[trace_id, root]], "adjusted": 0}

        page = client.get(f"{API}/projects/{name}/traces", params={"max_results": 1}).json()
        assert [t["trace_id"] for t in page["traces"]] == [trace_id]
        assert page["next_page_token"] is None
        assert page["traces"][0]["cost"] == pytest.approx((1000 * 0.15 + 500 * 0.6) / 1e6)
        stats = client.get(f"{API}/projects/{name}/traces/stats").json()
        assert (stats["count"], stats["input_tokens"]) == (1, 1000)
        rollup = client.get(
            f"{API}/projects/{name}/traces/rollup", params={"group_by": "session"}
        ).json()
        assert [(r["key"], r["traces"], r["spans"]) for r in rollup["rollup"]] == [("s1", 1, 2)]
        one = client.get(f"{API}/projects/{name}/traces/{trace_id.upper()}").json()
        assert [s["name"] for s in one["spans"]] == ["root", "llm"]
        assert client.get(f"{API}/traces/{trace_id}").json() == one
        exported = client.get(f"{API}/projects/{name}/spans", params={"max_results": 1}).json()
        assert len(exported["spans"]) == 1 and exported["next_page_token"]
        across = client.get(f"{API}/traces", params={"project_id": [name, project["id"]]})
        assert [t["trace_id"] for t in across.json()["traces"]] == [trace_id]

        _error(client.get(f"{API}/traces/{_tid()}"), 404, "TRACE_NOT_FOUND")
        _error(client.get(f"{API}/traces/not-hex"), 400, "INVALID_INPUT")
        _error(client.get(f"{API}/projects/nope-{name}/traces"), 404, "PROJECT_NOT_FOUND")
        _error(
            client.get(f"{API}/traces", params={"project_id": f"nope-{name}"}),
            404,
            "PROJECT_NOT_FOUND",
        )
        _error(
            client.get(f"{API}/projects/{name}/traces", params={"filter": "cost = 'x'"}),
            400,
            "INVALID_FILTER",
        )
        _error(
            client.get(f"{API}/projects/{name}/traces/stats", params={"filter": "("}),
            400,
            "INVALID_FILTER",
        )
        _error(client.get(f"{API}/projects/{name}/traces/rollup"), 400, "INVALID_INPUT")
        _error(
            client.get(f"{API}/projects/{name}/traces/rollup", params={"group_by": "week"}),
            400,
            "INVALID_INPUT",
        )
        _error(
            client.get(f"{API}/projects/{name}/traces", params={"max_results": 1001}),
            400,
            "INVALID_INPUT",
        )
        _error(
            client.get(f"{API}/projects/{name}/spans", params={"page_token": "e30"}),
            400,
            "INVALID_PAGE_TOKEN",
        )
        _error(
            client.post(f"{API}/projects/{name}/spans", json={"spans": [{"name": "x"}]}),
            400,
            "INVALID_INPUT",
        )
        _error(
            client.post(
                f"{API}/projects/{name}/spans", json={"spans": [{**spans[0], "kind": "wizard"}]}
            ),
            400,
            "INVALID_INPUT",
        )
        _error(
            client.post(f"{API}/projects/nope-{name}/spans", json={"spans": spans}),
            404,
            "PROJECT_NOT_FOUND",
        )
        # Nothing a refused request carried was stored.
        assert client.get(f"{API}/projects/{name}/traces/stats").json()["count"] == 1

        found = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(client.get("/metrics").text)
            for s in family.samples
        }
        assert found[("windlass_spans_ingested_total", (("project", name),))] == 2
        assert found[("windlass_spans_duplicate_total", (("project", name),))] == 1
