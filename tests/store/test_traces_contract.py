"""The traces contract of every MetadataStore: ingest, get, search, stats, roll-ups, export.

Runs against SQLite, PostgreSQL and the REST client over a real server (the ``store``
fixture of this folder's conftest).
"""

from __future__ import annotations

import math
import re
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from windlass.entities import (
    ADJUSTED_ATTRIBUTE,
    MAX_TOKEN_COUNT,
    Span,
    SpanEvent,
    SpanIngestResult,
    SpanKind,
    SpanStatus,
    TraceRollup,
    TraceStats,
    TraceSummary,
    all_pages,
)
from windlass.exceptions import InvalidFilter, InvalidInput, ProjectNotFound, TraceNotFound
from windlass.ids import new_id, now_ms
from windlass.store.metadata import MetadataStore
from windlass.store.rest.store import RestStore

BASE = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z, in ns
MS = 1_000_000
SECOND = 10**9


def _project(store: MetadataStore) -> str:
    return store.runs.get_or_create_project(f"tr-{new_id()[-12:]}", new_id(), now_ms()).id


def _tid() -> str:
    return uuid.uuid4().hex


def _sid() -> str:
    return uuid.uuid4().hex[:16]


def _span(
    trace_id: str, name: str = "span", start: int = BASE, duration_ms: float = 1, **fields: Any
) -> Span:
    fields.setdefault("span_id", _sid())
    return Span(
        trace_id=trace_id,
        name=name,
        start_time_ns=start,
        end_time_ns=start + int(duration_ms * MS),
        **fields,
    )


def _trace(store: MetadataStore, project: str, trace_id: str) -> TraceSummary:
    found = store.traces.search_traces([project], f"trace_id = '{trace_id}'").items
    assert len(found) == 1
    return found[0]


# -- ingest and read back ---------------------------------------------------------------
def test_ingest_and_get_back_every_field(store: MetadataStore) -> None:
    project = _project(store)
    trace_id = _tid()
    root = Span(
        trace_id=trace_id,
        span_id=_sid(),
        name="agent ✈ 旅行",
        start_time_ns=BASE + 1,
        end_time_ns=BASE + 9_223_372_036,
        parent_span_id=None,
        kind=SpanKind.AGENT,
        status=SpanStatus.OK,
        scope="opentelemetry.instrumentation.openai",
    )
    full = Span(
        trace_id=trace_id,
        span_id=_sid(),
        name="chat gpt-4o",
        start_time_ns=BASE + 7,
        end_time_ns=BASE + 123_456_789,
        parent_span_id=root.span_id,
        kind=SpanKind.LLM,
        status=SpanStatus.ERROR,
        status_message="rate limited — réessayez",
        attributes={
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1234,
            "big": 2**62 + 1,
            "negative": -(2**40),
            "ratio": 0.1,
            "flag": False,
            "nothing": None,
            "list": [1, "two", 3.5, [4, [5]], {"six": 6}],
            "nested": {"a": {"b": ["c", {"d": None}]}, "emoji": "🚀"},
            "": "empty key",
            "dotted.key.with spaces": "value",
        },
        resource={"service.name": "checkout", "host.arch": "arm64", "pids": [1, 2]},
        scope="openai",
        events=(
            SpanEvent(
                "exception",
                BASE + 50,
                {"exception.type": "RateLimitError", "exception.stacktrace": "line 1\nline 2"},
            ),
            SpanEvent("first_token", BASE + 60),
        ),
        input='{"messages": [{"role": "user", "content": "¿Dónde está?"}]}',
        output="Ici 🇫🇷",
        model="gpt-4o",
        provider="openai",
        input_tokens=1234,
        output_tokens=56,
        cached_input_tokens=1000,
        reasoning_tokens=7,
        cost=0.0123456789,
        session_id="session-1",
        user_id="ada@example.com",
        run_id=new_id(),
        prompt_name="support-answer",
        prompt_version=12,
    )
    result = store.traces.ingest_spans(project, [full, root], ingested_at=now_ms())
    assert result == SpanIngestResult(2, [])
    assert store.traces.get_trace(trace_id) == [root, full]
    assert store.traces.get_trace(trace_id, project) == [root, full]


def test_ingest_nothing_and_unknown_project(store: MetadataStore) -> None:
    project = _project(store)
    assert store.traces.ingest_spans(project, [], now_ms()) == SpanIngestResult(0, [])
    with pytest.raises(ProjectNotFound):
        store.traces.ingest_spans(new_id(), [_span(_tid())], now_ms())


def test_bad_spans_are_refused_and_nothing_is_stored(store: MetadataStore) -> None:
    project = _project(store)
    trace_id = _tid()
    good = _span(trace_id)
    with pytest.raises(InvalidInput, match="trace id"):
        store.traces.ingest_spans(project, [good, _span("abc")], now_ms())
    with pytest.raises(InvalidInput, match="span id"):
        store.traces.ingest_spans(project, [good, _span(trace_id, span_id="x" * 17)], now_ms())
    with pytest.raises(InvalidInput, match="not JSON"):
        store.traces.ingest_spans(
            project, [good, _span(trace_id, attributes={"raw": b"\x00"})], now_ms()
        )
    # PostgreSQL text cannot hold NUL characters: neither database takes them.
    for bad in (
        {"input": "a\x00b"},
        {"attributes": {"k": ["\x00"]}},
        {"resource": {"\x00": 1}},
        {"input_tokens": 2**63},
    ):
        with pytest.raises(InvalidInput, match=r"NUL|stored"):
            store.traces.ingest_spans(project, [good, _span(trace_id, **bad)], now_ms())
    with pytest.raises(TraceNotFound):
        store.traces.get_trace(trace_id)
    # An escaped-looking text is just text.
    lookalike = _span(trace_id, attributes={"k": "\\u0000 and \\\\u0000"})
    store.traces.ingest_spans(project, [lookalike], now_ms())
    assert store.traces.get_trace(trace_id) == [lookalike]


def test_duplicates_are_reported_and_stored_once(store: MetadataStore) -> None:
    project = _project(store)
    trace_id = _tid()
    a, b, c = (
        _span(trace_id, n, BASE + i, input_tokens=10, cost=0.25, kind=SpanKind.LLM)
        for i, n in enumerate("abc")
    )
    first = store.traces.ingest_spans(project, [a, b, a], now_ms())
    assert first == SpanIngestResult(2, [(trace_id, a.span_id)])
    second = store.traces.ingest_spans(project, [b, c, c], now_ms())
    assert second == SpanIngestResult(1, [(trace_id, b.span_id), (trace_id, c.span_id)])
    retry = store.traces.ingest_spans(project, [a, b, c], now_ms())
    assert retry.accepted == 0
    assert retry.duplicates == [(trace_id, s.span_id) for s in (a, b, c)]
    assert [s.name for s in store.traces.get_trace(trace_id)] == ["a", "b", "c"]
    summary = _trace(store, project, trace_id)
    assert (summary.span_count, summary.input_tokens, summary.cost) == (3, 30, 0.75)
    # The same ids in another project are another span of another trace.
    other = _project(store)
    assert store.traces.ingest_spans(other, [a], now_ms()).accepted == 1
    assert len(store.traces.get_trace(trace_id, other)) == 1
    assert len(store.traces.get_trace(trace_id, project)) == 3


def test_trace_row_rolls_up_its_spans(store: MetadataStore) -> None:
    project = _project(store)
    trace_id = _tid()
    root_id = _sid()
    early = _span(
        trace_id,
        "early child",
        BASE + 10 * MS,
        5,
        parent_span_id=root_id,
        kind=SpanKind.LLM,
        model="gpt-4o",
        input_tokens=100,
        output_tokens=10,
        cost=0.5,
        status=SpanStatus.OK,
        session_id="s-1",
    )
    later = _span(
        trace_id,
        "later child",
        BASE + 20 * MS,
        100,
        parent_span_id=root_id,
        kind=SpanKind.LLM,
        model="claude-3",
        input_tokens=200,
        output_tokens=20,
        cost=None,
        user_id="u-1",
        session_id="s-2",
    )
    tool = _span(
        trace_id, "tool", BASE + 30 * MS, 1, parent_span_id=root_id, kind=SpanKind.TOOL, cost=0.25
    )
    store.traces.ingest_spans(project, [later, early, tool], now_ms())
    summary = _trace(store, project, trace_id)
    assert summary.name == "early child"  # no root yet: the earliest span's name
    assert summary.start_time_ns == BASE + 10 * MS
    assert summary.end_time_ns == BASE + 120 * MS
    assert summary.status is SpanStatus.OK
    assert (summary.span_count, summary.input_tokens, summary.output_tokens) == (3, 300, 30)
    assert summary.cost == 0.75 and summary.cost_complete is False
    assert summary.models == ("claude-3", "gpt-4o")
    assert (summary.session_id, summary.user_id) == ("s-2", "u-1")

    # The root arrives late, in its own batch, with an error in a grandchild.
    root = _span(
        trace_id,
        "handle request",
        BASE,
        500,
        span_id=root_id,
        session_id="s-root",
        user_id="u-root",
    )
    failed = _span(
        trace_id,
        "retry",
        BASE + 40 * MS,
        1,
        parent_span_id=later.span_id,
        status=SpanStatus.ERROR,
        kind=SpanKind.LLM,
        model="gpt-4o",
        cost=0.125,
        input_tokens=1,
    )
    store.traces.ingest_spans(project, [failed, root], now_ms())
    summary = _trace(store, project, trace_id)
    assert summary.name == "handle request"
    assert (summary.start_time_ns, summary.end_time_ns) == (BASE, BASE + 500 * MS)
    assert summary.duration_ns == 500 * MS
    assert summary.status is SpanStatus.ERROR
    assert (summary.span_count, summary.input_tokens) == (5, 301)
    assert summary.cost == 0.875 and summary.cost_complete is False
    assert summary.models == ("claude-3", "gpt-4o")
    assert (summary.session_id, summary.user_id) == ("s-2", "u-1")  # first non-null stays

    # Once the root is known, an earlier span arriving later does not rename the trace.
    store.traces.ingest_spans(
        project,
        [_span(trace_id, "prelude", BASE - SECOND, 1, parent_span_id=root_id, model="o3")],
        now_ms(),
    )
    summary = _trace(store, project, trace_id)
    assert summary.name == "handle request" and summary.start_time_ns == BASE - SECOND
    assert summary.models == ("claude-3", "gpt-4o", "o3")


def test_cost_is_none_until_known_and_complete_when_every_llm_span_is_priced(
    store: MetadataStore,
) -> None:
    project = _project(store)
    unpriced, priced = _tid(), _tid()
    store.traces.ingest_spans(
        project,
        [
            _span(unpriced, "chain", kind=SpanKind.CHAIN),
            _span(priced, "llm", kind=SpanKind.LLM, cost=0.5),
            _span(priced, "tool", kind=SpanKind.TOOL),  # no cost, but not an LLM span
        ],
        now_ms(),
    )
    first = _trace(store, project, unpriced)
    assert (first.cost, first.cost_complete, first.status) == (None, True, SpanStatus.UNSET)
    second = _trace(store, project, priced)
    assert (second.cost, second.cost_complete) == (0.5, True)


def test_trace_not_found(store: MetadataStore) -> None:
    project = _project(store)
    missing = _tid()
    with pytest.raises(TraceNotFound, match=missing):
        store.traces.get_trace(missing)
    with pytest.raises(TraceNotFound, match=missing):
        store.traces.get_trace(missing, project)
    with pytest.raises(ProjectNotFound):
        store.traces.get_trace(missing, new_id())
    trace_id = _tid()
    store.traces.ingest_spans(project, [_span(trace_id)], now_ms())
    with pytest.raises(TraceNotFound):
        store.traces.get_trace(trace_id, _project(store))


def test_get_span_returns_one_span_with_its_attributes(store: MetadataStore) -> None:
    project = _project(store)
    trace_id, root, child = _tid(), _sid(), _sid()
    store.traces.ingest_spans(
        project,
        [
            _span(trace_id, "root", span_id=root),
            _span(
                trace_id,
                "llm",
                span_id=child,
                parent_span_id=root,
                kind=SpanKind.LLM,
                attributes={"k": "<b>v</b>", "n": 3},
                input="hi",
            ),
        ],
        now_ms(),
    )
    found = store.traces.get_span(trace_id, child, project)
    assert (found.name, found.parent_span_id, found.kind) == ("llm", root, SpanKind.LLM)
    assert found.attributes == {"k": "<b>v</b>", "n": 3} and found.input == "hi"
    assert store.traces.get_span(trace_id, root, project).name == "root"
    with pytest.raises(TraceNotFound, match="does not exist"):
        store.traces.get_span(trace_id, "0" * 16, project)
    with pytest.raises(TraceNotFound):
        store.traces.get_span(trace_id, child, _project(store))  # another project's
    with pytest.raises(ProjectNotFound):
        store.traces.get_span(trace_id, child, new_id())


# -- search -----------------------------------------------------------------------------
class Dataset:
    """Four traces with different names, statuses, sessions, models and attributes."""

    def __init__(self, store: MetadataStore) -> None:
        self.project = _project(store)
        self.run_id = new_id()
        self.ids = {name: _tid() for name in ("T1", "T2", "T3", "T4")}
        t1, t2, t3, t4 = self.ids.values()
        r1, r2, r3, r4 = _sid(), _sid(), _sid(), _sid()
        spans = [
            _span(
                t1,
                "chat",
                BASE,
                50,
                span_id=r1,
                kind=SpanKind.CHAIN,
                status=SpanStatus.OK,
                session_id="s1",
                user_id="u1",
                attributes={"user.tier": "gold"},
            ),
            _span(
                t1,
                "generate",
                BASE + MS,
                40,
                parent_span_id=r1,
                kind=SpanKind.LLM,
                model="gpt-4o",
                provider="openai",
                input_tokens=100,
                output_tokens=20,
                cost=0.01,
                prompt_name="greet",
                prompt_version=2,
                run_id=self.run_id,
                attributes={
                    "gen_ai.request.model": "gpt-4o",
                    "http.status_code": 200,
                    "stream": True,
                    "tags": ["a", "b"],
                },
            ),
            _span(
                t2,
                "search",
                BASE + SECOND,
                200,
                span_id=r2,
                kind=SpanKind.AGENT,
                session_id="s1",
                user_id="u2",
                attributes={"user.tier": "silver"},
            ),
            _span(
                t2,
                "retrieve",
                BASE + SECOND + MS,
                10,
                parent_span_id=r2,
                kind=SpanKind.RETRIEVER,
                status=SpanStatus.ERROR,
                status_message="down",
            ),
            _span(
                t2,
                "answer",
                BASE + SECOND + 20 * MS,
                150,
                parent_span_id=r2,
                kind=SpanKind.LLM,
                model="claude-3",
                provider="anthropic",
                input_tokens=300,
                output_tokens=50,
                attributes={"http.status_code": 500, "stream": False},
            ),
            _span(
                t3,
                "chat",
                BASE + 2 * SECOND,
                5,
                span_id=r3,
                kind=SpanKind.TOOL,
                attributes={"weird key": "x y", "n": 1.5},
            ),
            _span(
                t4,
                "embed",
                BASE + 3 * SECOND,
                1000,
                span_id=r4,
                kind=SpanKind.EMBEDDING,
                status=SpanStatus.OK,
                model="text-embedding-3",
                provider="openai",
                input_tokens=10,
                cost=0.0001,
                session_id="s2",
                user_id="u1",
            ),
        ]
        store.traces.ingest_spans(self.project, spans, now_ms())
        self.names = {trace_id: name for name, trace_id in self.ids.items()}

    def matching(self, store: MetadataStore, text: str) -> set[str]:
        page = store.traces.search_traces([self.project], text, max_results=1000)
        return {self.names[t.trace_id] for t in page.items}


@pytest.fixture
def data(store: MetadataStore) -> Dataset:
    return Dataset(store)


FIELD_FILTERS = [
    ("name = 'chat'", "T1 T3"),
    ("trace.name = 'search'", "T2"),
    ("name like 'ch%'", "T1 T3"),
    ("name ilike 'CH%'", "T1 T3"),
    ("name not like 'ch%'", "T2 T4"),
    ("status = 'error'", "T2"),
    ("status != 'error'", "T1 T3 T4"),
    ("status in ('ok', 'unset')", "T1 T3 T4"),
    ("status not in ('ok')", "T2"),
    ("session_id = 's1'", "T1 T2"),
    ("session_id is null", "T3"),
    ("session_id is not null", "T1 T2 T4"),
    ("user_id = 'u1'", "T1 T4"),
    ("duration_ms > 100", "T2 T4"),
    ("duration_ms <= 50", "T1 T3"),
    ("duration_ms = 50", "T1"),
    ("duration_ms < 5.5", "T3"),
    ("span_count = 3", "T2"),
    ("span_count >= 2", "T1 T2"),
    ("llm_calls = 1", "T1 T2"),
    ("input_tokens > 50", "T1 T2"),
    ("output_tokens = 50", "T2"),
    ("total_tokens = 120", "T1"),
    ("total_tokens < 20", "T3 T4"),
    ("cost > 0.005", "T1"),
    ("cost is null", "T2 T3"),
    ("cost < 0.001", "T4"),
    (f"start_time_ns >= {BASE + SECOND}", "T2 T3 T4"),
    (f"start_time_ns = {BASE + 2 * SECOND}", "T3"),
    (f"end_time_ns > {BASE + 2 * SECOND}", "T3 T4"),
    ("model = 'gpt-4o'", "T1"),
    ("model in ('claude-3', 'text-embedding-3')", "T2 T4"),
    ("model like 'gpt%'", "T1"),
    ("model is null", "T3"),
    ("model is not null", "T1 T2 T4"),
    ("model != 'gpt-4o'", "T2 T4"),
    ("not model = 'gpt-4o'", "T2 T3 T4"),
    ("span.model = 'claude-3'", "T2"),
    ("provider = 'openai'", "T1 T4"),
    ("kind = 'retriever'", "T2"),
    ("kind = 'llm'", "T1 T2"),
    ("prompt_name = 'greet'", "T1"),
    ("prompt_version = 2", "T1"),
    ("prompt_version > 2", ""),
    ("span.name = 'retrieve'", "T2"),
    ("span.status = 'error'", "T2"),
    ("span.duration_ms >= 100", "T2 T4"),
    ("span.cost > 0", "T1 T4"),
    ("span.input_tokens = 300", "T2"),
    ("span.session_id = 's2'", "T4"),
    ("name = 'chat' and status = 'ok'", "T1 T3"),
    ("status = 'error' or model = 'text-embedding-3'", "T2 T4"),
    ("not (name = 'chat')", "T2 T4"),
    ("(name = 'chat' or name = 'embed') and cost > 0", "T1 T4"),
]


def test_status_ok_means_not_an_error_so_it_matches_unset(store: MetadataStore) -> None:
    project = _project(store)
    ids = {status: _tid() for status in SpanStatus}
    store.traces.ingest_spans(
        project,
        [_span(trace_id, str(status), BASE, status=status) for status, trace_id in ids.items()],
        now_ms(),
    )
    names = {trace_id: str(status) for status, trace_id in ids.items()}

    def matching(text: str) -> set[str]:
        return {names[t.trace_id] for t in store.traces.search_traces([project], text).items}

    assert matching("status = 'ok'") == {"ok", "unset"}
    assert matching("status = 'OK'") == {"ok", "unset"}
    assert matching("span.status = 'ok'") == {"ok", "unset"}
    assert matching("status = 'unset'") == {"unset"}
    assert matching("status = 'error'") == {"error"}
    assert matching("status != 'ok'") == {"error"}
    assert matching("status != 'error'") == {"ok", "unset"}
    assert matching("status in ('error', 'unset')") == {"error", "unset"}
    assert matching("not status = 'ok'") == {"error"}
    assert store.traces.trace_stats([project], "status = 'ok'").count == 2
    with pytest.raises(InvalidFilter, match="'fine'"):
        store.traces.search_traces([project], "status = 'fine'")


def test_filter_literals_beyond_64_bits_are_refused_by_name(store: MetadataStore) -> None:
    project = _project(store)
    store.traces.ingest_spans(project, [_span(_tid(), attributes={"n": 5})], now_ms())
    for text, literal in [
        ("start_time_ns > 9223372036854775808", "9223372036854775808"),
        ("duration_ms < 9223372036854775807", "9223372036854775807"),
        ("input_tokens = -9223372036854775809", "-9223372036854775809"),
        ("attributes.n > 99999999999999999999", "99999999999999999999"),
        ("cost < 1e400", "1e400"),
    ]:
        with pytest.raises(InvalidFilter, match=re.escape(literal)):
            store.traces.search_traces([project], text)
    # The largest literal that fits is fine.
    assert store.traces.search_traces([project], "start_time_ns < 9223372036854775807").items


def test_store_refuses_numbers_it_cannot_sum(store: MetadataStore) -> None:
    project = _project(store)
    trace_id = _tid()
    for bad in (
        {"output_tokens": -1},
        {"prompt_version": 2**63},
        {"start": 2**63},
        {"events": (SpanEvent("e", -1),)},
    ):
        with pytest.raises(InvalidInput, match="can be stored"):
            store.traces.ingest_spans(project, [_span(trace_id, **bad)], now_ms())
    if isinstance(store, RestStore):
        # Through the server's traces domain, which clamps counts within int64 first.
        result = store.traces.ingest_spans(project, [_span(trace_id, input_tokens=2**32)], now_ms())
        assert result.adjusted == 1
        [span] = store.traces.get_trace(trace_id)
        assert span.input_tokens == MAX_TOKEN_COUNT
        assert span.attributes[ADJUSTED_ATTRIBUTE] == [
            f"input_tokens: {2**32} clamped to {MAX_TOKEN_COUNT}"
        ]
        return
    for bad in ({"input_tokens": 2**32}, {"cost": math.inf}, {"cost": -0.5}):
        with pytest.raises(InvalidInput, match="can be stored"):
            store.traces.ingest_spans(project, [_span(trace_id, **bad)], now_ms())
    with pytest.raises(TraceNotFound):
        store.traces.get_trace(trace_id)


@pytest.mark.parametrize(("text", "expected"), FIELD_FILTERS)
def test_every_filter_field(store: MetadataStore, data: Dataset, text: str, expected: str) -> None:
    assert data.matching(store, text) == set(expected.split())


def test_filters_on_trace_id_and_run_id(store: MetadataStore, data: Dataset) -> None:
    assert data.matching(store, f"trace_id = '{data.ids['T3']}'") == {"T3"}
    assert data.matching(store, f"run_id = '{data.run_id}'") == {"T1"}


ATTRIBUTE_FILTERS = [
    ("attributes.\"gen_ai.request.model\" = 'gpt-4o'", "T1"),
    ("attributes.gen_ai.request.model = 'gpt-4o'", "T1"),
    ("attr.`gen_ai.request.model` != 'gpt-4o'", ""),
    ("attributes.http.status_code = 200", "T1"),
    ("attributes.http.status_code >= 400", "T2"),
    ("attributes.http.status_code = '500'", "T2"),
    ("attributes.http.status_code in (200, 500)", "T1 T2"),
    ("attributes.stream = 'true'", "T1"),
    ("attributes.stream = 'false'", "T2"),
    ("attributes.user.tier in ('gold', 'silver')", "T1 T2"),
    ("attributes.user.tier like 'g%'", "T1"),
    ("attributes.user.tier ilike 'S%'", "T2"),
    ("attributes.user.tier not in ('gold')", "T2"),
    ("attributes.user.tier != 'gold'", "T2"),
    ("attributes.user.tier is null", "T3 T4"),
    ("attributes.user.tier is not null", "T1 T2"),
    ("attributes.`weird key` = 'x y'", "T3"),
    ("attributes.n > 1", "T3"),
    ("attributes.n = 1.5", "T3"),
    ('attributes.tags = \'["a","b"]\'', "T1"),
    ("attributes.missing = 'x'", ""),
    ("attributes.user.tier = 'gold' and attributes.http.status_code = 200", "T1"),
]


@pytest.mark.parametrize(("text", "expected"), ATTRIBUTE_FILTERS)
def test_attribute_filters(store: MetadataStore, data: Dataset, text: str, expected: str) -> None:
    assert data.matching(store, text) == set(expected.split())


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("duration = 1", "duration"),
        ("metrics.loss < 1", "metrics"),
        ("tags.team = 'a'", "tags"),
        ("span.span_count = 1", "span_count"),
        ("trace.model = 'x'", "model"),
        ("name > 3", "name"),
        ("cost = 'cheap'", "cost"),
        ("duration_ms like '1%'", "duration_ms"),
        ("attributes.`say \"hi\"` = 'x'", "double quote"),
        ("status = ", "value"),
        ("name = 'a' and", "field"),
    ],
)
def test_invalid_filters_name_the_problem(
    store: MetadataStore, data: Dataset, text: str, named: str
) -> None:
    with pytest.raises(InvalidFilter, match=named):
        store.traces.search_traces([data.project], text)
    with pytest.raises(InvalidFilter, match=named):
        store.traces.trace_stats([data.project], text)


def test_invalid_order_and_paging_arguments(store: MetadataStore, data: Dataset) -> None:
    with pytest.raises(InvalidFilter, match="model"):
        store.traces.search_traces([data.project], order_by=["model"])
    with pytest.raises(InvalidFilter, match="nope"):
        store.traces.search_traces([data.project], order_by=["nope DESC"])
    with pytest.raises(InvalidFilter, match="ASC, DESC"):
        store.traces.search_traces([data.project], order_by=["cost upwards"])
    for bad in (0, 1001):
        with pytest.raises(InvalidInput, match="max_results"):
            store.traces.search_traces([data.project], max_results=bad)
    with pytest.raises(InvalidInput, match="page_token"):
        store.traces.search_traces([data.project], page_token="garbage")
    token = store.traces.search_traces([data.project], max_results=1).next_page_token
    assert token is not None
    with pytest.raises(InvalidInput, match="page_token"):
        store.traces.search_traces([data.project], order_by=["cost"], page_token=token)
    with pytest.raises(InvalidInput, match="group"):
        store.traces.trace_rollup([data.project], "week")  # type: ignore[arg-type]
    with pytest.raises(ProjectNotFound):
        store.traces.search_traces([new_id()])


def test_time_range_is_on_trace_start(store: MetadataStore, data: Dataset) -> None:
    page = store.traces.search_traces(
        [data.project], start_ns=BASE + SECOND, end_ns=BASE + 3 * SECOND
    )
    assert [data.names[t.trace_id] for t in page.items] == ["T3", "T2"]
    assert len(store.traces.search_traces([data.project], start_ns=BASE + 3 * SECOND).items) == 1
    assert len(store.traces.search_traces([data.project], end_ns=BASE).items) == 0
    assert store.traces.trace_stats([data.project], start_ns=BASE + SECOND).count == 3


def test_search_traces_across_projects(store: MetadataStore, data: Dataset) -> None:
    other = _project(store)
    store.traces.ingest_spans(other, [_span(_tid(), "elsewhere", BASE + 2 * SECOND + 1)], now_ms())
    both = store.traces.search_traces([data.project, other]).items
    assert len(both) == 5 and both[0].project_id == data.project
    assert both[1].name == "elsewhere" and both[1].project_id == other
    # Integer literals compare exactly (a float could not tell these nanoseconds apart).
    start = BASE + 2 * SECOND + 1
    assert len(store.traces.search_traces([other], f"start_time_ns = {start}").items) == 1
    assert store.traces.search_traces([other], f"start_time_ns = {start + 1}").items == []
    assert store.traces.search_traces([]).items == []


def test_paging_through_250_traces(store: MetadataStore) -> None:
    project = _project(store)
    rng = np.random.default_rng(7)
    spans = []
    for i in range(250):
        cost = None if i % 5 == 0 else round(float(rng.uniform(0, 1)), 6)
        # Groups of three share a start time: the trace id breaks the tie.
        spans.append(
            _span(
                _tid(),
                f"t{i}",
                BASE + (i // 3) * 1000,
                int(rng.integers(1, 10_000)) / 10,
                cost=cost,
                kind=SpanKind.LLM,
            )
        )
    store.traces.ingest_spans(project, spans, now_ms())

    def collect(order_by: list[str] | None, size: int) -> list[TraceSummary]:
        return all_pages(
            lambda token: store.traces.search_traces(
                [project], order_by=order_by, max_results=size, page_token=token
            )
        )

    newest = collect(None, 37)
    assert len(newest) == 250 and len({t.trace_id for t in newest}) == 250
    assert newest == sorted(newest, key=lambda t: (t.start_time_ns, t.trace_id), reverse=True)
    assert newest == store.traces.search_traces([project], max_results=1000).items

    slowest = collect(["duration_ms DESC"], 40)
    assert len({t.trace_id for t in slowest}) == 250
    assert [t.duration_ns for t in slowest] == sorted((t.duration_ns for t in newest), reverse=True)
    cheapest = collect(["cost"], 33)
    assert len({t.trace_id for t in cheapest}) == 250
    costs = [t.cost for t in cheapest]
    known = [c for c in costs if c is not None]
    assert known == sorted(known) and costs[len(known) :] == [None] * 50

    filtered = collect(["name ASC"], 7)
    assert [t.name for t in filtered] == sorted(t.name for t in newest)


# -- statistics and roll-ups ------------------------------------------------------------
def test_stats_percentiles_match_numpy(store: MetadataStore) -> None:
    project = _project(store)
    rng = np.random.default_rng(42)
    durations = rng.integers(1, 5_000_000_000, size=101)  # ns
    spans = []
    for i, duration in enumerate(durations):
        day = i % 3
        spans.append(
            Span(
                trace_id=_tid(),
                span_id=_sid(),
                name=f"t{i}",
                start_time_ns=BASE + day * 86_400 * SECOND + i,
                end_time_ns=BASE + day * 86_400 * SECOND + i + int(duration),
                kind=SpanKind.LLM,
                status=SpanStatus.ERROR if i % 10 == 0 else SpanStatus.OK,
                model="gpt-4o" if i % 2 else "claude-3",
                input_tokens=i,
                output_tokens=2,
                cost=None if i % 4 == 0 else 0.5,
                session_id=f"s{i % 6}",
                user_id=None if i % 2 else f"u{i % 5}",
            )
        )
    store.traces.ingest_spans(project, spans, now_ms())
    stats = store.traces.trace_stats([project])
    expected = np.percentile(durations / MS, [50, 95, 99])
    assert [stats.p50_ms, stats.p95_ms, stats.p99_ms] == pytest.approx(list(expected), rel=1e-12)
    assert (stats.count, stats.error_count) == (101, 11)
    assert stats.error_rate == pytest.approx(11 / 101)
    assert (stats.input_tokens, stats.output_tokens) == (sum(range(101)), 202)
    assert stats.total_tokens == sum(range(101)) + 202
    unpriced = len(range(0, 101, 4))
    assert stats.cost == (101 - unpriced) * 0.5 and stats.unpriced_llm_spans == unpriced
    assert (stats.sessions, stats.users) == (6, 5)
    assert [r.key for r in stats.by_day] == ["2023-11-14", "2023-11-15", "2023-11-16"]
    assert [r.traces for r in stats.by_day] == [34, 34, 33]
    assert sum(r.input_tokens for r in stats.by_day) == stats.input_tokens
    by_model = {r.key: r for r in stats.by_model}
    assert by_model["gpt-4o"].spans == by_model["gpt-4o"].llm_calls == 50
    assert by_model["claude-3"].traces == 51
    assert by_model["gpt-4o"].input_tokens == sum(range(1, 101, 2))
    assert by_model["claude-3"].cost == 0.5 * len([i for i in range(0, 101, 2) if i % 4])

    errors = store.traces.trace_stats([project], "status = 'error'")
    expected = np.percentile(durations[::10] / MS, [50, 95, 99])
    assert [errors.p50_ms, errors.p95_ms, errors.p99_ms] == pytest.approx(list(expected), rel=1e-12)
    assert errors.error_rate == 1.0
    empty = store.traces.trace_stats([project], "name = 'nothing'")
    assert (empty.count, empty.p50_ms, empty.error_rate, empty.by_model) == (0, None, 0.0, [])


def test_percentiles_beyond_the_sqlite_fetch_bound(
    store: MetadataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from windlass.store.sql import traces

    monkeypatch.setattr(traces, "MAX_PERCENTILE_FETCH", 3)
    project = _project(store)
    durations = [5, 1, 4, 2, 3, 10, 7]
    store.traces.ingest_spans(
        project, [_span(_tid(), "t", BASE + i, d) for i, d in enumerate(durations)], now_ms()
    )
    stats = store.traces.trace_stats([project])
    assert [stats.p50_ms, stats.p95_ms, stats.p99_ms] == pytest.approx(
        list(np.percentile(durations, [50, 95, 99]))
    )


def _same(rows: list[TraceRollup], expected: list[TraceRollup]) -> bool:
    """Compare roll-up rows, costs (float sums) to a relative 1e-12, unknown (None) exactly."""
    assert [r.cost is None for r in rows] == [r.cost is None for r in expected]
    assert [r.cost or 0.0 for r in rows] == pytest.approx(
        [r.cost or 0.0 for r in expected], rel=1e-12
    )
    return [r.to_dict() | {"cost": 0} for r in rows] == [
        r.to_dict() | {"cost": 0} for r in expected
    ]


def test_rollups(store: MetadataStore, data: Dataset) -> None:
    project = data.project
    assert _same(
        store.traces.trace_rollup([project], "session"),
        [
            TraceRollup(
                "s1",
                traces=2,
                spans=5,
                llm_calls=2,
                input_tokens=400,
                output_tokens=70,
                cost=0.01,
                unpriced_llm_spans=1,
            ),
            TraceRollup("s2", traces=1, spans=1, llm_calls=0, input_tokens=10, cost=0.0001),
        ],
    )
    assert [(r.key, r.traces, r.spans) for r in store.traces.trace_rollup([project], "user")] == [
        ("u1", 2, 3),
        ("u2", 1, 3),
    ]
    assert _same(
        store.traces.trace_rollup([project], "day"),
        [
            TraceRollup(
                "2023-11-14",
                traces=4,
                spans=7,
                llm_calls=2,
                input_tokens=410,
                output_tokens=70,
                cost=0.0101,
                unpriced_llm_spans=1,
            )
        ],
    )
    assert _same(
        store.traces.trace_rollup([project], "model"),
        [
            TraceRollup(
                "claude-3",
                traces=1,
                spans=1,
                llm_calls=1,
                input_tokens=300,
                output_tokens=50,
                cost=None,
                unpriced_llm_spans=1,
            ),
            TraceRollup(
                "gpt-4o",
                traces=1,
                spans=1,
                llm_calls=1,
                input_tokens=100,
                output_tokens=20,
                cost=0.01,
            ),
            TraceRollup("text-embedding-3", traces=1, spans=1, input_tokens=10, cost=0.0001),
        ],
    )
    assert _same(
        store.traces.trace_rollup([project], "prompt"),
        [
            TraceRollup(
                "prompts:/greet/2",
                traces=1,
                spans=1,
                llm_calls=1,
                input_tokens=100,
                output_tokens=20,
                cost=0.01,
            )
        ],
    )
    assert [r.key for r in store.traces.trace_rollup([project], "model", "status = 'error'")] == [
        "claude-3"
    ]
    # A span filter selects traces; the roll-up then counts all their spans.
    assert [r.key for r in store.traces.trace_rollup([project], "model", "kind = 'retriever'")] == [
        "claude-3"
    ]
    assert [r.key for r in store.traces.trace_stats([project], "span.name = 'chat'").by_model] == [
        "gpt-4o"
    ]
    assert [r.key for r in store.traces.trace_rollup([project], "session", max_results=1)] == ["s1"]
    assert store.traces.trace_rollup([project], "user", start_ns=BASE + 4 * SECOND) == []


def test_entities_round_trip_through_dicts() -> None:
    row = TraceRollup("gpt-4o", 2, 3, 1, 10, 20, 0.5, 1)
    stats = TraceStats(
        count=3,
        error_count=1,
        p50_ms=1.5,
        p95_ms=2.0,
        p99_ms=None,
        input_tokens=4,
        output_tokens=5,
        cost=0.25,
        unpriced_llm_spans=1,
        sessions=2,
        users=1,
        by_model=[row],
        by_day=[row],
    )
    assert TraceStats.from_dict(stats.to_dict()) == stats
    assert stats.to_dict()["error_rate"] == pytest.approx(1 / 3)
    assert TraceRollup.from_dict(row.to_dict()) == row
    result = SpanIngestResult(3, [("a" * 32, "b" * 16)])
    assert SpanIngestResult.from_dict(result.to_dict()) == result


# -- export -----------------------------------------------------------------------------
def test_search_spans_pages_in_start_order(store: MetadataStore) -> None:
    project = _project(store)
    spans = [_span(_tid(), f"s{i}", BASE + (i % 7) * 1000) for i in range(10)]
    trace_id = _tid()
    spans += [_span(trace_id, f"same{i}", BASE + 3000) for i in range(5)]
    store.traces.ingest_spans(project, spans, now_ms())
    got = all_pages(
        lambda token: store.traces.search_spans([project], max_results=4, page_token=token)
    )
    key = [(s.start_time_ns, s.trace_id, s.span_id) for s in got]
    assert key == sorted((s.start_time_ns, s.trace_id, s.span_id) for s in spans)
    assert sorted(got, key=lambda s: s.span_id) == sorted(spans, key=lambda s: s.span_id)
    window = store.traces.search_spans([project], start_ns=BASE + 1000, end_ns=BASE + 3000)
    assert {s.start_time_ns for s in window.items} == {BASE + 1000, BASE + 2000}
    assert window.next_page_token is None
    with pytest.raises(InvalidInput):
        store.traces.search_spans([project], max_results=10_001)
    with pytest.raises(InvalidInput):
        store.traces.search_spans([project], page_token="e30")


# -- concurrency ------------------------------------------------------------------------
def test_concurrent_ingest_of_one_trace_composes(store: MetadataStore) -> None:
    project = _project(store)
    trace_id, root_id = _tid(), _sid()  # the root never arrives
    shared = [
        _span(
            trace_id,
            f"shared{i}",
            BASE + i,
            kind=SpanKind.LLM,
            input_tokens=1,
            output_tokens=2,
            cost=0.5,
            model="shared",
            parent_span_id=root_id,
        )
        for i in range(5)
    ]
    barrier = threading.Barrier(4)
    results: list[SpanIngestResult] = []
    errors: list[BaseException] = []

    def ingest(worker: int) -> None:
        try:
            own = [
                _span(
                    trace_id,
                    f"w{worker}-{i}",
                    BASE + 100 + i,
                    kind=SpanKind.LLM,
                    input_tokens=1,
                    output_tokens=2,
                    cost=0.5,
                    model=f"m{worker}",
                    parent_span_id=root_id,
                    status=SpanStatus.ERROR if worker == 2 and i == 7 else SpanStatus.OK,
                )
                for i in range(40)
            ]
            barrier.wait()
            for batch in range(4):
                chunk = own[batch * 10 : (batch + 1) * 10]
                if batch == worker % 4:
                    chunk = chunk + shared
                results.append(store.traces.ingest_spans(project, chunk, now_ms()))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.accepted for r in results) == 165
    assert sum(len(r.duplicates) for r in results) == 15
    summary = _trace(store, project, trace_id)
    assert (summary.span_count, summary.input_tokens, summary.output_tokens) == (165, 165, 330)
    assert summary.cost == 82.5 and summary.cost_complete
    assert summary.status is SpanStatus.ERROR
    assert summary.models == ("m0", "m1", "m2", "m3", "shared")
    assert summary.start_time_ns == BASE and summary.name == "shared0"
    assert len(store.traces.get_trace(trace_id)) == 165
    stats = store.traces.trace_stats([project])
    assert (stats.input_tokens, stats.cost) == (165, 82.5)


# -- migration --------------------------------------------------------------------------
def _upgrade_from_0003_keeps_data(uri: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, text
    from sqlalchemy import inspect as sa_inspect

    from windlass.entities import Variant
    from windlass.store.sql import schema
    from windlass.store.sql.engine import _MIGRATIONS, _normalize
    from windlass.store.sql.store import SqlStore

    engine = create_engine(_normalize(uri))
    cfg = Config(str(_MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(
            text(
                "INSERT INTO projects (id, name, description, created_at) "
                "VALUES ('" + "a" * 32 + "', 'old', '', 1)"
            )
        )
    engine.dispose()
    store = SqlStore(uri)  # opening migrates to the head revision
    try:
        store.deployments.create_deployment(
            deployment_id="d" * 32,
            project_id="a" * 32,
            name="prod",
            description="",
            variants=[Variant("a", "models:/m/1", 1.0)],
            shadow=None,
            claimed_by="u",
            at=1,
        )
        trace_id = _tid()
        assert store.traces.ingest_spans("a" * 32, [_span(trace_id)], 1).accepted == 1
        assert len(store.traces.get_trace(trace_id)) == 1
        assert store.runs.get_project("old").id == "a" * 32
    finally:
        store.close()
    engine = create_engine(_normalize(uri))
    with engine.connect() as conn:
        assert list(compare_metadata(MigrationContext.configure(conn), schema.metadata)) == []
    # And back: the downgrade drops exactly what 0004 added.
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM deployments")).scalars().all() == ["prod"]
        tables = set(sa_inspect(conn).get_table_names())
    engine.dispose()
    assert "deployments" in tables and not tables & {"spans", "traces"}


def test_sqlite_upgrade_from_0003_keeps_data(tmp_path: Path) -> None:
    _upgrade_from_0003_keeps_data(f"sqlite:///{tmp_path / 'old3.db'}")


def test_postgres_upgrade_from_0003_keeps_data(postgres_url: str) -> None:
    _upgrade_from_0003_keeps_data(postgres_url)
