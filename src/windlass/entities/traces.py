"""Plain data objects of GenAI tracing: spans, their events, and trace summaries.

A :class:`Span` keeps every attribute it arrived with (``attributes``, ``resource``) and
also carries the fields windlass understands, normalized from the OpenTelemetry GenAI
conventions (``gen_ai.*``) and OpenInference (``llm.*``, ``openinference.span.kind``):
kind, model, provider, token counts, cost, session, user, run and prompt version.
Times are integer nanoseconds since the epoch, as OTLP sends them.

Shared by the store, the tracing domain and the faces, so they live in the core layer,
with the documented bounds of what a stored span may hold (:data:`MAX_TIME_NS`,
:data:`MAX_TOKEN_COUNT`, :data:`MAX_SPAN_COST`, :data:`MAX_ATTRIBUTE_CHARS`): ingest clamps
or truncates values beyond them (noting it in the span's :data:`ADJUSTED_ATTRIBUTE`), so
nothing stored can make a later listing, statistic or roll-up fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

#: The latest span or event time (ns) stored: the int64 maximum. OTLP's unsigned 64-bit
#: times beyond it are clamped to it at ingest.
MAX_TIME_NS = 2**63 - 1
#: The largest token count a span stores (2**32 - 1, far beyond any model's context);
#: larger counts are clamped to it at ingest, so sums over billions of spans stay exact
#: within the 64-bit integers SQL aggregates use.
MAX_TOKEN_COUNT = 2**32 - 1
#: The largest cost (US dollars) one span stores; a larger cost is dropped (unknown).
MAX_SPAN_COST = 1e9
#: The longest string an attribute value (of a span, its resource or an event) keeps; a
#: longer one is cut there and ends with ``…[truncated N chars]``.
MAX_ATTRIBUTE_CHARS = 65_536
#: The span attribute naming what ingest clamped, truncated or ignored in the span, as a
#: list of ``"<field>: <what happened>"`` strings (absent when nothing was).
ADJUSTED_ATTRIBUTE = "windlass.adjusted"


class SpanKind(StrEnum):
    """What a span did: the GenAI span kinds windlass groups and filters by."""

    LLM = "llm"
    EMBEDDING = "embedding"
    RETRIEVER = "retriever"
    RERANKER = "reranker"
    TOOL = "tool"
    AGENT = "agent"
    CHAIN = "chain"
    GUARDRAIL = "guardrail"
    EVALUATOR = "evaluator"
    UNKNOWN = "unknown"


class SpanStatus(StrEnum):
    """OpenTelemetry status codes, lower-cased."""

    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped event inside a span (an exception, a streamed first token…)."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"name": self.name, "time_ns": self.time_ns, "attributes": dict(self.attributes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanEvent:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            name=data["name"],
            time_ns=int(data["time_ns"]),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True, slots=True)
class Span:
    """One span: identity, timing, status, raw attributes and the normalized GenAI fields.

    ``trace_id`` is 32 lowercase hex characters, ``span_id`` and ``parent_span_id`` 16.
    ``input`` and ``output`` are text (JSON for structured values), already size-capped.
    ``cost`` is in US dollars; ``None`` means unknown (never silently zero).
    """

    trace_id: str
    span_id: str
    name: str
    start_time_ns: int
    end_time_ns: int
    parent_span_id: str | None = None
    kind: SpanKind = SpanKind.UNKNOWN
    status: SpanStatus = SpanStatus.UNSET
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""
    events: tuple[SpanEvent, ...] = ()
    input: str | None = None
    output: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    run_id: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None

    @property
    def duration_ns(self) -> int:
        """Nanoseconds between start and end (0 when the end precedes the start)."""
        return max(0, self.end_time_ns - self.start_time_ns)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "kind": str(self.kind),
            "status": str(self.status),
            "status_message": self.status_message,
            "attributes": dict(self.attributes),
            "resource": dict(self.resource),
            "scope": self.scope,
            "events": [e.to_dict() for e in self.events],
            "input": self.input,
            "output": self.output,
            "model": self.model,
            "provider": self.provider,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost": self.cost,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "run_id": self.run_id,
            "prompt_name": self.prompt_name,
            "prompt_version": self.prompt_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            trace_id=data["trace_id"],
            span_id=data["span_id"],
            parent_span_id=data.get("parent_span_id"),
            name=data["name"],
            start_time_ns=int(data["start_time_ns"]),
            end_time_ns=int(data["end_time_ns"]),
            kind=SpanKind(data.get("kind") or "unknown"),
            status=SpanStatus(data.get("status") or "unset"),
            status_message=data.get("status_message") or "",
            attributes=dict(data.get("attributes") or {}),
            resource=dict(data.get("resource") or {}),
            scope=data.get("scope") or "",
            events=tuple(SpanEvent.from_dict(e) for e in data.get("events") or ()),
            input=data.get("input"),
            output=data.get("output"),
            model=data.get("model"),
            provider=data.get("provider"),
            input_tokens=data.get("input_tokens"),
            output_tokens=data.get("output_tokens"),
            cached_input_tokens=data.get("cached_input_tokens"),
            reasoning_tokens=data.get("reasoning_tokens"),
            cost=data.get("cost"),
            session_id=data.get("session_id"),
            user_id=data.get("user_id"),
            run_id=data.get("run_id"),
            prompt_name=data.get("prompt_name"),
            prompt_version=data.get("prompt_version"),
        )


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace as a row: its root span, timing, status and the rolled-up tokens and cost.

    ``cost`` is the sum over spans whose cost is known; ``cost_complete`` says whether
    every LLM span of the trace had a known cost.
    """

    trace_id: str
    project_id: str
    name: str
    start_time_ns: int
    end_time_ns: int
    status: SpanStatus
    span_count: int
    session_id: str | None = None
    user_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    cost_complete: bool = True
    models: tuple[str, ...] = ()

    @property
    def duration_ns(self) -> int:
        """Nanoseconds from the first span's start to the last span's end."""
        return max(0, self.end_time_ns - self.start_time_ns)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "trace_id": self.trace_id,
            "project_id": self.project_id,
            "name": self.name,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "duration_ns": self.duration_ns,
            "status": str(self.status),
            "span_count": self.span_count,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
            "cost_complete": self.cost_complete,
            "models": list(self.models),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceSummary:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            trace_id=data["trace_id"],
            project_id=data["project_id"],
            name=data["name"],
            start_time_ns=int(data["start_time_ns"]),
            end_time_ns=int(data["end_time_ns"]),
            status=SpanStatus(data["status"]),
            span_count=int(data["span_count"]),
            session_id=data.get("session_id"),
            user_id=data.get("user_id"),
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            cost=data.get("cost"),
            cost_complete=bool(data.get("cost_complete", True)),
            models=tuple(data.get("models") or ()),
        )


@dataclass(frozen=True, slots=True)
class SpanIngestResult:
    """What one ingest stored: the number of new spans, and the ones already stored.

    A span whose ``(trace_id, span_id)`` the project already holds, or that repeats within
    the batch, is not stored again; it is listed in ``duplicates`` (in batch order), so a
    retried batch reports every span as a duplicate and changes nothing. ``adjusted``
    counts the spans ingest clamped or truncated (see :data:`ADJUSTED_ATTRIBUTE`).
    """

    accepted: int
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    adjusted: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``duplicates`` as ``[trace_id, span_id]`` pairs)."""
        return {
            "accepted": self.accepted,
            "duplicates": [[trace_id, span_id] for trace_id, span_id in self.duplicates],
            "adjusted": self.adjusted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanIngestResult:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            accepted=int(data["accepted"]),
            duplicates=[(str(t), str(s)) for t, s in data.get("duplicates") or ()],
            adjusted=int(data.get("adjusted") or 0),
        )


def _cost(value: Any) -> float | None:
    """Return a JSON cost as a float, keeping ``None`` (unknown) as it is."""
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class TraceRollup:
    """Totals of the traces (or spans) sharing one key: a session, user, UTC day or model.

    ``spans`` counts the spans behind the row, ``llm_calls`` those of kind ``llm``.
    ``cost`` sums the known costs, ``None`` when no span behind the row has one (unpriced
    is never shown as 0); ``unpriced_llm_spans`` counts LLM spans without one, so ``cost``
    is complete exactly when it is 0.
    """

    key: str
    traces: int
    spans: int
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    unpriced_llm_spans: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "key": self.key,
            "traces": self.traces,
            "spans": self.spans,
            "llm_calls": self.llm_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost": self.cost,
            "unpriced_llm_spans": self.unpriced_llm_spans,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceRollup:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            key=str(data["key"]),
            traces=int(data["traces"]),
            spans=int(data["spans"]),
            llm_calls=int(data.get("llm_calls") or 0),
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            cost=_cost(data.get("cost")),
            unpriced_llm_spans=int(data.get("unpriced_llm_spans") or 0),
        )


@dataclass(frozen=True, slots=True)
class TraceStats:
    """Aggregates over a set of traces: volume, errors, latency, tokens, cost.

    Latency percentiles are of trace durations in milliseconds, linearly interpolated
    (numpy's default, PostgreSQL's ``percentile_cont``); ``None`` when there is no trace.
    ``cost`` sums the known costs, ``None`` when no trace has one (unpriced is never shown
    as 0); ``unpriced_llm_spans`` counts the LLM spans without one; ``span_count`` counts
    the spans of the traces.
    ``by_model`` holds one row per model (spans naming it), ``by_day`` one per UTC day of
    trace start (key ``YYYY-MM-DD``, oldest first).
    """

    count: int
    error_count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    unpriced_llm_spans: int = 0
    sessions: int = 0
    users: int = 0
    span_count: int = 0
    by_model: list[TraceRollup] = field(default_factory=list)
    by_day: list[TraceRollup] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        """The share of traces whose status is error (0.0 without traces)."""
        return self.error_count / self.count if self.count else 0.0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "count": self.count,
            "error_count": self.error_count,
            "error_rate": self.error_rate,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost": self.cost,
            "unpriced_llm_spans": self.unpriced_llm_spans,
            "sessions": self.sessions,
            "users": self.users,
            "span_count": self.span_count,
            "by_model": [r.to_dict() for r in self.by_model],
            "by_day": [r.to_dict() for r in self.by_day],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceStats:
        """Rebuild from :meth:`to_dict` output."""

        def ms(name: str) -> float | None:
            value = data.get(name)
            return None if value is None else float(value)

        return cls(
            count=int(data["count"]),
            error_count=int(data["error_count"]),
            p50_ms=ms("p50_ms"),
            p95_ms=ms("p95_ms"),
            p99_ms=ms("p99_ms"),
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            cost=_cost(data.get("cost")),
            unpriced_llm_spans=int(data.get("unpriced_llm_spans") or 0),
            sessions=int(data.get("sessions") or 0),
            users=int(data.get("users") or 0),
            span_count=int(data.get("span_count") or 0),
            by_model=[TraceRollup.from_dict(r) for r in data.get("by_model") or ()],
            by_day=[TraceRollup.from_dict(r) for r in data.get("by_day") or ()],
        )


#: How :meth:`~windlass.store.traces.TraceStore.trace_rollup` can group traces: by
#: session, user, UTC day of the trace start, model or prompt version (the last two group
#: the spans that named one).
TraceGrouping = Literal["session", "user", "day", "model", "prompt"]
TRACE_GROUPINGS: tuple[TraceGrouping, ...] = ("session", "user", "day", "model", "prompt")
