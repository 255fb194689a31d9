"""The tracing SDK end to end on the embedded store: decorators, nesting, context, queries."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import windlass
from windlass.entities import Span, SpanKind, SpanStatus
from windlass.genai.tracing.export import DeliveringSpanProcessor


def _by_name(spans: list[Span]) -> dict[str, Span]:
    return {s.name: s for s in spans}


def test_decorated_functions_nest_and_capture_inputs_and_outputs() -> None:
    @windlass.trace(kind="retriever")
    def search(question: str, k: int = 3) -> list[str]:
        return [f"doc-{i}" for i in range(k)]

    @windlass.trace(kind="tool", capture_output=False)
    def secret_tool(token: str) -> str:
        return "classified"

    @windlass.trace(name="answer", kind="agent")
    def answer(question: str) -> str:
        docs = search(question, k=2)
        secret_tool("t")
        with windlass.span("post-process", kind="tool", attributes={"words": 3}) as s:
            s.set_output("done")
        return f"{question}: {len(docs)} docs"

    with windlass.start_run() as run, windlass.trace_context(session_id="s-42", user_id="u-7"):
        assert answer("why") == "why: 2 docs"
    assert windlass.flush_traces()

    (summary,) = windlass.search_traces().items
    assert summary.name == "answer" and summary.span_count == 4
    assert summary.session_id == "s-42" and summary.user_id == "u-7"
    spans = windlass.get_trace(summary.trace_id)
    named = _by_name(spans)
    root = named["answer"]
    assert root.parent_span_id is None and root.kind is SpanKind.AGENT
    assert {
        named[n].parent_span_id
        for n in (
            "test_decorated_functions_nest_and_capture_inputs_and_outputs.<locals>.search",
            "post-process",
        )
    } == {root.span_id}
    retrieval = named[
        "test_decorated_functions_nest_and_capture_inputs_and_outputs.<locals>.search"
    ]
    assert retrieval.kind is SpanKind.RETRIEVER
    assert retrieval.input == '{"question":"why","k":2}'
    assert retrieval.output == '["doc-0","doc-1"]'
    tool = named[
        "test_decorated_functions_nest_and_capture_inputs_and_outputs.<locals>.secret_tool"
    ]
    assert tool.output is None
    assert named["post-process"].attributes["words"] == 3
    assert named["post-process"].output == "done"
    assert root.output == '"why: 2 docs"' or root.output == "why: 2 docs"
    assert all(s.run_id == run.id for s in spans)
    assert all(s.session_id == "s-42" and s.user_id == "u-7" for s in spans)


def test_an_exception_marks_the_span_as_an_error_and_is_recorded() -> None:
    @windlass.trace
    def broken() -> None:
        raise ValueError("no luck")

    with pytest.raises(ValueError, match="no luck"):
        broken()
    assert windlass.flush_traces()
    (summary,) = windlass.search_traces(filter="status = 'error'").items
    (span,) = windlass.get_trace(summary.trace_id)
    assert span.status is SpanStatus.ERROR and "no luck" in span.status_message
    assert any(e.name == "exception" for e in span.events)


def test_spans_nest_across_asyncio_tasks_and_threads() -> None:
    @windlass.trace(kind="tool")
    async def fetch(i: int) -> int:
        await asyncio.sleep(0.01)
        return i

    @windlass.trace(kind="tool")
    def work(i: int) -> int:
        return i * 2

    @windlass.trace(kind="agent")
    async def fan_out() -> list[int]:
        values = await asyncio.gather(*(fetch(i) for i in range(5)))
        with ThreadPoolExecutor(max_workers=3) as pool:
            doubled = list(pool.map(windlass.with_trace_context(work), range(4)))
        return [*values, *doubled]

    assert asyncio.run(fan_out()) == [0, 1, 2, 3, 4, 0, 2, 4, 6]
    assert windlass.flush_traces()
    (summary,) = windlass.search_traces().items
    spans = windlass.get_trace(summary.trace_id)
    root = next(s for s in spans if s.parent_span_id is None)
    assert len(spans) == 10
    assert all(s.parent_span_id == root.span_id for s in spans if s is not root)


def test_generators_are_traced_until_exhausted() -> None:
    @windlass.trace(kind="llm")
    def tokens(n: int) -> Any:
        yield from ("a", "b", "c")[:n]

    assert list(tokens(3)) == ["a", "b", "c"]
    assert windlass.flush_traces()
    (summary,) = windlass.search_traces().items
    (span,) = windlass.get_trace(summary.trace_id)
    assert span.output == '["a","b","c"]'


def test_redaction_and_the_size_cap_apply_before_anything_is_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WINDLASS_TRACE_MAX_CHARS", "200")

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("***" if k == "password" else v) for k, v in value.items()}
        return value

    @windlass.trace
    def login(user: str, password: str) -> str:
        return "x" * 1000

    windlass.set_trace_redactor(scrub)
    try:
        login("ada", "hunter2")
    finally:
        windlass.set_trace_redactor(None)
    assert windlass.flush_traces()
    (summary,) = windlass.search_traces().items
    (span,) = windlass.get_trace(summary.trace_id)
    assert "hunter2" not in (span.input or "") and '"password":"***"' in (span.input or "")
    assert span.output is not None and len(span.output) < 260
    assert "truncated" in span.output


def test_queries_stats_and_parquet_export(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    for i in range(3):
        with (
            windlass.trace_context(session_id=f"s-{i % 2}"),
            windlass.span(
                f"call-{i}",
                kind="llm",
                attributes={
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                },
            ),
        ):
            pass
    assert windlass.flush_traces()
    stats = windlass.trace_stats()
    assert stats.count == 3 and stats.input_tokens == 3000
    assert stats.cost is not None and stats.cost > 0
    sessions = windlass.trace_rollup("session")
    assert {r.key: r.traces for r in sessions} == {"s-0": 2, "s-1": 1}
    page = windlass.search_traces(filter="model = 'gpt-4o-mini'", max_results=2)
    assert len(page.items) == 2 and page.next_page_token
    assert windlass.export_traces(tmp_path / "spans.parquet") == 3
    table = pq.read_table(tmp_path / "spans.parquet")
    assert table.num_rows == 3 and set(table.column("model").to_pylist()) == {"gpt-4o-mini"}


class _Slow:
    """A delivery target that takes its time and keeps what it got."""

    def __init__(self, pause: float = 0.02, fail_first: int = 0) -> None:
        self.pause = pause
        self.fail_first = fail_first
        self.spans: list[Span] = []
        self.lock = threading.Lock()

    def __call__(self, spans: list[Span]) -> None:
        with self.lock:
            if self.fail_first:
                self.fail_first -= 1
                raise ConnectionError("server unavailable")
        time.sleep(self.pause)
        with self.lock:
            self.spans += spans


def _provider(processor: DeliveringSpanProcessor) -> Any:
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider.get_tracer("burst")


def test_a_burst_waits_for_room_instead_of_dropping_spans() -> None:
    target = _Slow(pause=0.01)
    processor = DeliveringSpanProcessor(
        target, max_queue=64, batch_size=32, flush_seconds=0.05, max_block_seconds=30
    )
    tracer = _provider(processor)
    for i in range(500):  # 500 traces of 5 spans, far more than the queue holds
        with tracer.start_as_current_span(f"root-{i}"):
            for j in range(4):
                with tracer.start_as_current_span(f"child-{j}"):
                    pass
    assert processor.force_flush(30_000)
    processor.shutdown()
    assert processor.stats.dropped == 0
    assert processor.stats.delivered == len(target.spans) == 2500
    assert len({(s.trace_id, s.span_id) for s in target.spans}) == 2500


def test_failed_deliveries_are_retried_and_final_losses_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = _Slow(pause=0, fail_first=2)
    processor = DeliveringSpanProcessor(target, batch_size=10, flush_seconds=0.05)
    tracer = _provider(processor)
    for i in range(10):
        with tracer.start_as_current_span(f"s-{i}"):
            pass
    assert processor.force_flush(30_000)
    assert processor.stats.retries == 2 and len(target.spans) == 10
    processor.shutdown()

    stuck = threading.Event()
    blocked = DeliveringSpanProcessor(
        lambda spans: stuck.wait(5) and None,
        max_queue=4,
        batch_size=4,
        flush_seconds=0.01,
        max_block_seconds=0.2,
        retry_seconds=0.1,
    )
    tracer = _provider(blocked)
    with caplog.at_level(logging.WARNING, logger="windlass.tracing"):
        for i in range(20):
            with tracer.start_as_current_span(f"b-{i}"):
                pass
    stuck.set()
    assert blocked.force_flush(10_000)
    blocked.shutdown()
    assert blocked.stats.dropped > 0
    assert blocked.stats.dropped + blocked.stats.delivered == 20
    assert "dropped" in caplog.text
