"""windlass's tracing SDK: ``@trace``, ``span()``, sessions and users, delivery to the store.

Built on the OpenTelemetry SDK. windlass owns a ``TracerProvider`` whose spans go through
a :class:`~windlass.genai.tracing.export.DeliveringSpanProcessor` to the traces service of the
current tracking store (embedded SQLite, PostgreSQL, or a server). It is deliberately not
installed as OpenTelemetry's global provider: FastAPI and other instrumented libraries
trace through the global one, and in a process that also serves windlass (the demo, a
notebook) their spans about receiving spans would feed themselves. Send spans of other
instrumentation over OTLP instead (``POST /v1/traces``). Spans nest through
OpenTelemetry's context, which follows asyncio tasks by itself; wrap functions handed to
threads with :func:`with_trace_context`.

Every span started here carries the current project, the active run, and the session and
user set with :func:`trace_context`. Captured inputs and outputs go through the redaction
hook (:func:`set_redactor`) and are capped at ``WINDLASS_TRACE_MAX_CHARS`` characters.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, TypeVar, cast, overload

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Status, StatusCode

from windlass import config
from windlass.entities import Span, SpanKind
from windlass.exceptions import InvalidInput
from windlass.genai.tracing import attributes as attr
from windlass.genai.tracing.conventions import cap_text, to_text
from windlass.genai.tracing.export import DeliveringSpanProcessor, DeliveryStats

F = TypeVar("F", bound=Callable[..., Any])

_session: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "windlass_session", default=None
)
_user: contextvars.ContextVar[str | None] = contextvars.ContextVar("windlass_user", default=None)
_extra: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "windlass_attributes", default=None
)
_redactor: Callable[[Any], Any] | None = None
_lock = threading.Lock()
_provider: TracerProvider | None = None
_processor: DeliveringSpanProcessor | None = None
_KINDS = {k.value for k in SpanKind}


class _ContextAttributes(SpanProcessor):
    """Stamp project, run, session and user on every span when it starts."""

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Add the default client's project and active run, the session and user to ``span``."""
        from windlass.tracking.context import default_client

        client = default_client()
        span.set_attribute(attr.PROJECT, client.current_project())
        run = client.runs.active()
        if run is not None:
            span.set_attribute(attr.RUN_ID, run.id)
        session, user = _session.get(), _user.get()
        if session is not None:
            span.set_attribute(attr.SESSION_ID, session)
        if user is not None:
            span.set_attribute(attr.USER_ID, user)
        for key, value in (_extra.get() or {}).items():
            span.set_attribute(key, value)


def _deliver(spans: list[Span]) -> None:
    """Hand spans to the default client's traces (its store, as its principal)."""
    from windlass.tracking.context import default_client

    default_client().traces.ingest(spans)


def max_chars() -> int:
    """Return the cap on captured input and output text (``WINDLASS_TRACE_MAX_CHARS``)."""
    value: int = config.settings.trace_max_chars
    return value


def provider() -> TracerProvider:
    """Return windlass's tracer provider, creating it (and its exporter) on first use."""
    global _provider, _processor
    with _lock:
        if _provider is None:
            processor = DeliveringSpanProcessor(_deliver, max_chars=max_chars())
            made = TracerProvider(resource=Resource.create({"service.name": "windlass"}))
            made.add_span_processor(_ContextAttributes())
            made.add_span_processor(processor)
            _provider, _processor = made, processor
        return _provider


def tracer() -> otel_trace.Tracer:
    """Return windlass's OpenTelemetry tracer."""
    return provider().get_tracer("windlass")


def flush_traces(timeout_seconds: float = 30.0) -> bool:
    """Deliver every finished span now; return False if that took longer than the timeout."""
    if _processor is None:
        return True
    return _processor.force_flush(int(timeout_seconds * 1000))


def delivery_stats() -> DeliveryStats:
    """Return the exporter's counters: spans queued, delivered, dropped, retries."""
    return _processor.stats if _processor is not None else DeliveryStats()


def set_redactor(redact: Callable[[Any], Any] | None) -> None:
    """Pass every captured input and output (and LLM messages) through ``redact`` first.

    ``redact`` gets the value about to be recorded (arguments as a dict, a return value,
    a list of messages) and returns what to record instead. ``None`` removes the hook.
    """
    global _redactor
    _redactor = redact


def capture(value: Any) -> str:
    """Return ``value`` redacted and as text (JSON for structures), capped."""
    if _redactor is not None:
        value = _redactor(value)
    return cap_text(to_text(value), max_chars())


@contextlib.contextmanager
def trace_context(
    *,
    session_id: str | None = None,
    user_id: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Make spans started inside carry this session and user id, and these attributes.

    Spans of code you do not control (an instrumented library, ``windlass.llm``) get them
    too: a running prompt version stamps ``windlass.prompt.name`` and ``.version`` this way.
    """
    tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    if session_id is not None:
        tokens.append((_session, _session.set(session_id)))
    if user_id is not None:
        tokens.append((_user, _user.set(user_id)))
    if attributes:
        merged = {**(_extra.get() or {}), **{k: _attribute_value(v) for k, v in attributes.items()}}
        tokens.append((_extra, _extra.set(merged)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def with_trace_context(fn: F) -> F:
    """Return ``fn`` bound to the current trace context, for running in another thread.

    ``executor.submit(with_trace_context(work), item)``: spans ``work`` starts nest under
    the span that was current when it was wrapped.
    """
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return context.copy().run(fn, *args, **kwargs)

    return cast(F, bound)


class SpanHandle:
    """The span of a ``with windlass.span(...)`` block: set attributes, input, output."""

    def __init__(self, span: Any) -> None:
        self._span = span

    @property
    def trace_id(self) -> str:
        """Return the trace id (32 hex characters)."""
        return format(self._span.get_span_context().trace_id, "032x")

    @property
    def span_id(self) -> str:
        """Return the span id (16 hex characters)."""
        return format(self._span.get_span_context().span_id, "016x")

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (structures are stored as JSON text)."""
        self._span.set_attribute(key, _attribute_value(value))

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes."""
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_input(self, value: Any) -> None:
        """Record the span's input (redacted, capped)."""
        self._span.set_attribute(attr.INPUT_VALUE, capture(value))

    def set_output(self, value: Any) -> None:
        """Record the span's output (redacted, capped)."""
        self._span.set_attribute(attr.OUTPUT_VALUE, capture(value))

    def set_error(self, message: str) -> None:
        """Mark the span as failed with ``message``."""
        self._span.set_status(Status(StatusCode.ERROR, message))

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Record a timestamped event in the span."""
        self._span.add_event(name, {k: _attribute_value(v) for k, v in (attributes or {}).items()})


def _attribute_value(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return list(value)
    return to_text(value)


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise InvalidInput(f"span kind {kind!r} is not one of {sorted(_KINDS)}", kind=kind)
    return kind


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: str = "chain",
    attributes: Mapping[str, Any] | None = None,
    input: Any = None,
) -> Iterator[SpanHandle]:
    """Run the block inside a new span (nested under the current one); yield its handle.

    An exception escaping the block marks the span as an error and is recorded in it.
    """
    start = {attr.SPAN_KIND: _check_kind(kind)}
    with tracer().start_as_current_span(name, attributes=start) as current:
        handle = SpanHandle(current)
        if attributes:
            handle.set_attributes(attributes)
        if input is not None:
            handle.set_input(input)
        yield handle


def _arguments(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), "kwargs": kwargs}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}


@overload
def trace(func: F) -> F: ...


@overload
def trace(
    func: None = None,
    *,
    name: str | None = None,
    kind: str = "chain",
    attributes: Mapping[str, Any] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[[F], F]: ...


def trace(
    func: F | None = None,
    *,
    name: str | None = None,
    kind: str = "chain",
    attributes: Mapping[str, Any] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> F | Callable[[F], F]:
    """Trace every call of a function (sync, async, generator or async generator) as a span.

    ``kind`` is one of llm, embedding, retriever, reranker, tool, agent, chain, guardrail,
    evaluator. The call's arguments and return value are captured unless turned off.
    """
    _check_kind(kind)

    def decorate(fn: F) -> F:
        span_name = name or fn.__qualname__

        def opened() -> contextlib.AbstractContextManager[SpanHandle]:
            return span(span_name, kind=kind, attributes=attributes)

        def started(handle: SpanHandle, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if capture_input:
                handle.set_input(_arguments(fn, args, kwargs))

        def finished(handle: SpanHandle, result: Any) -> None:
            if capture_output:
                handle.set_output(result)

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                with opened() as handle:
                    started(handle, args, kwargs)
                    items = []
                    async for item in fn(*args, **kwargs):
                        items.append(item)
                        yield item
                    finished(handle, items)

            return cast(F, agen_wrapper)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with opened() as handle:
                    started(handle, args, kwargs)
                    result = await fn(*args, **kwargs)
                    finished(handle, result)
                    return result

            return cast(F, async_wrapper)
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
                with opened() as handle:
                    started(handle, args, kwargs)
                    items = []
                    for item in fn(*args, **kwargs):
                        items.append(item)
                        yield item
                    finished(handle, items)

            return cast(F, gen_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with opened() as handle:
                started(handle, args, kwargs)
                result = fn(*args, **kwargs)
                finished(handle, result)
                return result

        return cast(F, wrapper)

    return decorate(func) if func is not None else decorate
