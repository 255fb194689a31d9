"""The tracing half of the SDK: ``windlass.trace``, ``windlass.span``, trace queries.

Thin and lazy: ``import windlass`` does not load OpenTelemetry; the first traced call
does. Queries go to the SDK's current store (``set_tracking_uri``), and default to the
current project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from windlass.entities import Page, Span, TraceRollup, TraceStats, TraceSummary
from windlass.exceptions import InvalidInput
from windlass.tracking.context import default_client

if TYPE_CHECKING:
    from windlass.genai.tracing.export import DeliveryStats
    from windlass.genai.tracing.sdk import SpanHandle
    from windlass.genai.tracing.service import TraceService
    from windlass.tracking.context import SdkClient


F = TypeVar("F", bound=Callable[..., Any])


TimeBound = datetime | int | float | str | None


def trace(
    func: F | None = None,
    *,
    name: str | None = None,
    kind: str = "chain",
    attributes: Mapping[str, Any] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Any:
    """Trace every call of a function as a span (``@windlass.trace`` or with options).

    ``kind``: llm, embedding, retriever, reranker, tool, agent, chain, guardrail or
    evaluator. Arguments and the return value are captured (redacted, capped) unless
    ``capture_input``/``capture_output`` is False. Works on sync and async functions and
    on (async) generators.
    """
    from windlass.genai.tracing import sdk as tracing

    decorator = tracing.trace(
        name=name,
        kind=kind,
        attributes=attributes,
        capture_input=capture_input,
        capture_output=capture_output,
    )
    return decorator(func) if func is not None else decorator


def span(
    name: str,
    *,
    kind: str = "chain",
    attributes: Mapping[str, Any] | None = None,
    input: Any = None,
) -> AbstractContextManager[SpanHandle]:
    """Return a context manager running its block in a new span; it yields the span."""
    from windlass.genai.tracing import sdk as tracing

    return tracing.span(name, kind=kind, attributes=attributes, input=input)


def trace_context(
    *, session_id: str | None = None, user_id: str | None = None
) -> AbstractContextManager[None]:
    """Return a context manager making spans inside carry a session and a user id."""
    from windlass.genai.tracing import sdk as tracing

    return tracing.trace_context(session_id=session_id, user_id=user_id)


def with_trace_context(fn: F) -> F:
    """Return ``fn`` bound to the current trace context, to run in another thread."""
    from windlass.genai.tracing import sdk as tracing

    return tracing.with_trace_context(fn)


def set_trace_redactor(redact: Callable[[Any], Any] | None) -> None:
    """Pass captured inputs, outputs and LLM messages through ``redact`` before recording."""
    from windlass.genai.tracing import sdk as tracing

    tracing.set_redactor(redact)


def flush_traces(timeout_seconds: float = 30.0) -> bool:
    """Deliver every finished span now; False if it took longer than the timeout."""
    from windlass.genai.tracing import sdk as tracing

    return tracing.flush_traces(timeout_seconds)


def trace_delivery_stats() -> DeliveryStats:
    """Return the span exporter's counters (queued, delivered, dropped, retries)."""
    from windlass.genai.tracing import sdk as tracing

    return tracing.delivery_stats()


def instrument_openai(client: Any, *, provider: str | None = None) -> Any:
    """Trace every call an ``openai`` client makes (chat, streams, embeddings)."""
    from windlass.genai.llm import client as llm

    return llm.instrument_openai(client, provider=provider)


def to_ns(value: TimeBound, name: str) -> int | None:
    """Return a time bound as nanoseconds since the epoch.

    Accepts a datetime (naive means UTC), an ISO 8601 string, or a number: nanoseconds
    when above 10**17, else seconds.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name} {value!r} is not an ISO 8601 time", field=name) from None
    if isinstance(value, datetime):
        from datetime import UTC

        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1_000_000_000)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a datetime, an ISO 8601 string or a number", field=name)
    return int(value) if value > 10**17 else int(value * 1_000_000_000)


class Traces:
    """The ``client.traces`` namespace: search, read, summarize and export traces."""

    def __init__(self, client: SdkClient) -> None:
        self._client = client
        self._service_made: TraceService | None = None

    def _service(self) -> TraceService:
        if self._service_made is None:
            from windlass.genai.tracing.service import TraceService

            self._service_made = TraceService(
                self._client.tracking.store,
                principal=self._client.principal,
                access=self._client.tracking.access,
            )
        return self._service_made

    def _projects(self, project: str | Sequence[str] | None) -> list[str]:
        if project is None:
            return [self._client.current_project()]
        return [project] if isinstance(project, str) else list(project)

    def ingest(self, spans: list[Span]) -> None:
        """Store finished spans (the tracing SDK delivers the default client's spans here)."""
        self._service().ingest(spans)

    def search(
        self,
        project: str | Sequence[str] | None = None,
        filter: str | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        order_by: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[TraceSummary]:
        """Return one page of traces (newest first) matching ``filter`` in the time range.

        The filter language is the one of runs: ``status = 'error' and cost > 0.01``,
        ``session_id = 's-42'``, ``model = 'gpt-4o-mini'``, ``attributes.route = 'faq'``.
        """
        return self._service().search_traces(
            self._projects(project),
            filter,
            to_ns(start, "start"),
            to_ns(end, "end"),
            order_by,
            max_results,
            page_token,
        )

    def get(self, trace_id: str, project: str | None = None) -> list[Span]:
        """Return every span of a trace, ordered by start time."""
        return self._service().get_trace(trace_id, project)

    def stats(
        self,
        project: str | Sequence[str] | None = None,
        filter: str | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
    ) -> TraceStats:
        """Return count, error rate, latency percentiles, tokens and cost (by model and day)."""
        return self._service().trace_stats(
            self._projects(project), filter, to_ns(start, "start"), to_ns(end, "end")
        )

    def rollup(
        self,
        group_by: str,
        project: str | Sequence[str] | None = None,
        filter: str | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
        max_results: int = 1000,
    ) -> list[TraceRollup]:
        """Return tokens and cost per ``session``, ``user``, ``day``, ``model`` or ``prompt``."""
        from windlass.entities import TRACE_GROUPINGS

        if group_by not in TRACE_GROUPINGS:
            raise InvalidInput(
                f"group_by must be one of {sorted(TRACE_GROUPINGS)}, not {group_by!r}",
                field="group_by",
            )
        return self._service().trace_rollup(
            self._projects(project),
            group_by,  # type: ignore[arg-type]
            filter,
            to_ns(start, "start"),
            to_ns(end, "end"),
            max_results,
        )

    def export(
        self,
        path: str | Path,
        project: str | Sequence[str] | None = None,
        start: TimeBound = None,
        end: TimeBound = None,
    ) -> int:
        """Write the spans of the projects to a Parquet file; return how many were written."""
        return self._service().export_parquet(
            self._projects(project), path, start_ns=to_ns(start, "start"), end_ns=to_ns(end, "end")
        )


# -- the flat functions: the default client's traces --
def search_traces(
    project: str | Sequence[str] | None = None,
    filter: str | None = None,
    start: TimeBound = None,
    end: TimeBound = None,
    order_by: list[str] | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> Page[TraceSummary]:
    """Return one page of traces (newest first) matching ``filter`` in the time range.

    The filter language is the one of runs: ``status = 'error' and cost > 0.01``,
    ``session_id = 's-42'``, ``model = 'gpt-4o-mini'``, ``attributes.route = 'faq'``.
    """
    return default_client().traces.search(
        project, filter, start, end, order_by, max_results, page_token
    )


def get_trace(trace_id: str, project: str | None = None) -> list[Span]:
    """Return every span of a trace, ordered by start time."""
    return default_client().traces.get(trace_id, project)


def trace_stats(
    project: str | Sequence[str] | None = None,
    filter: str | None = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> TraceStats:
    """Return count, error rate, latency percentiles, tokens and cost (by model and day)."""
    return default_client().traces.stats(project, filter, start, end)


def trace_rollup(
    group_by: str,
    project: str | Sequence[str] | None = None,
    filter: str | None = None,
    start: TimeBound = None,
    end: TimeBound = None,
    max_results: int = 1000,
) -> list[TraceRollup]:
    """Return tokens and cost per ``session``, ``user``, ``day``, ``model`` or ``prompt``."""
    return default_client().traces.rollup(group_by, project, filter, start, end, max_results)


def export_traces(
    path: str | Path,
    project: str | Sequence[str] | None = None,
    start: TimeBound = None,
    end: TimeBound = None,
) -> int:
    """Write the spans of the projects to a Parquet file; return how many were written."""
    return default_client().traces.export(path, project, start, end)
