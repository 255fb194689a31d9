"""Deliver finished OpenTelemetry spans to windlass, in batches, never dropping silently.

The OpenTelemetry SDK's ``BatchSpanProcessor`` drops spans when its queue is full and
only logs it (MLflow's client lost 16% of a 500-trace burst that way here). The
:class:`DeliveringSpanProcessor` instead makes the finishing thread wait, for a bounded
time, for room in the queue (backpressure), retries failed deliveries with backoff for a
bounded time, and counts every span it finally could not deliver, with a warning.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

from windlass.entities import Span, SpanEvent, SpanKind, SpanStatus
from windlass.genai.tracing.conventions import genai_fields

logger = logging.getLogger("windlass.tracing")

_STATUS = {0: SpanStatus.UNSET, 1: SpanStatus.OK, 2: SpanStatus.ERROR}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def from_otel(span: Any, *, max_chars: int = 32_000) -> Span:
    """Return an OpenTelemetry SDK ``ReadableSpan`` as a windlass :class:`Span`."""
    context = span.get_span_context()
    parent = span.parent
    attributes = {k: _plain(v) for k, v in (span.attributes or {}).items()}
    events = tuple(
        SpanEvent(
            e.name, int(e.timestamp or 0), {k: _plain(v) for k, v in (e.attributes or {}).items()}
        )
        for e in span.events
    )
    resource = {k: _plain(v) for k, v in span.resource.attributes.items()}
    fields = genai_fields(attributes, events, max_chars=max_chars)
    kind = fields.pop("kind", SpanKind.UNKNOWN)
    status = span.status
    return Span(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_span_id=None if parent is None else format(parent.span_id, "016x"),
        name=span.name,
        start_time_ns=int(span.start_time or 0),
        end_time_ns=int(span.end_time or span.start_time or 0),
        kind=kind,
        status=_STATUS.get(int(status.status_code.value), SpanStatus.UNSET),
        status_message=status.description or "",
        attributes=attributes,
        resource=resource,
        scope=span.instrumentation_scope.name if span.instrumentation_scope else "",
        events=events,
        **fields,
    )


@dataclass
class DeliveryStats:
    """Counters of one processor: spans queued, delivered, dropped, and batches retried."""

    queued: int = 0
    delivered: int = 0
    dropped: int = 0
    retries: int = 0


class DeliveringSpanProcessor(SpanProcessor):
    """An OpenTelemetry span processor delivering batches with backpressure and retries.

    ``deliver`` receives lists of at most ``batch_size`` windlass spans. A full queue
    blocks ``on_end`` for up to ``max_block_seconds``; a failing ``deliver`` is retried
    with backoff for up to ``retry_seconds``. Only then is a span dropped, counted in
    :attr:`stats` and warned about.
    """

    def __init__(
        self,
        deliver: Callable[[list[Span]], None],
        *,
        max_queue: int = 20_000,
        batch_size: int = 512,
        flush_seconds: float = 0.5,
        max_block_seconds: float = 10.0,
        retry_seconds: float = 30.0,
        max_chars: int = 32_000,
    ) -> None:
        self.deliver = deliver
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.max_block_seconds = max_block_seconds
        self.retry_seconds = retry_seconds
        self.max_chars = max_chars
        self.stats = DeliveryStats()
        self._queue: deque[Any] = deque()
        mutex = threading.Lock()
        self._lock = threading.Condition(mutex)  # "work to do" for the delivery thread
        self._room = threading.Condition(mutex)  # "room in the queue / progress" for callers
        self._busy = 0  # spans taken from the queue and not yet delivered or dropped
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="windlass-span-export", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    # -- the SpanProcessor interface ------------------------------------------------------
    def on_end(self, span: Any) -> None:
        """Queue a finished span, waiting (bounded) for room when the queue is full."""
        with self._lock:
            if self._stopped:
                self._drop(1, "the span exporter has shut down")
                return
            if len(self._queue) >= self.max_queue:
                deadline = time.monotonic() + self.max_block_seconds
                while len(self._queue) >= self.max_queue and not self._stopped:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._drop(
                            1,
                            f"the span queue stayed full ({self.max_queue} spans) "
                            f"for {self.max_block_seconds:g} s",
                        )
                        return
                    self._room.wait(left)
            self._queue.append(span)
            self.stats.queued += 1
            if len(self._queue) >= self.batch_size:
                self._lock.notify_all()

    def shutdown(self) -> None:
        """Deliver what is queued (bounded by the retry time), then stop."""
        with self._lock:
            if self._stopped:
                return
        self.force_flush(int((self.retry_seconds + 5) * 1000))
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout=5)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until every queued span is delivered or dropped; False on timeout."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._lock:
            self._lock.notify_all()
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._room.wait(min(left, 0.05))
                self._lock.notify_all()
        return True

    # -- the delivery thread -----------------------------------------------------------------
    def _take(self) -> list[Any]:
        with self._lock:
            if len(self._queue) < self.batch_size and not self._stopped:
                self._lock.wait(self.flush_seconds)
            count = min(len(self._queue), self.batch_size)
            batch = [self._queue.popleft() for _ in range(count)]
            self._busy = len(batch)
            self._room.notify_all()
            return batch

    def _run(self) -> None:
        # Delivering must not trace itself: an instrumented HTTP client or server in this
        # process would otherwise make spans about sending spans, without end.
        from opentelemetry import context

        context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
        while True:
            batch = self._take()
            if batch:
                self._deliver(batch)
            with self._lock:
                self._busy = 0
                self._room.notify_all()
                if self._stopped and not self._queue:
                    return

    def _deliver(self, batch: Sequence[Any]) -> None:
        try:
            spans = [from_otel(s, max_chars=self.max_chars) for s in batch]
        except Exception:
            logger.exception("could not convert %d spans; they are dropped", len(batch))
            with self._lock:
                self._drop(len(batch), "they could not be converted")
            return
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                self.deliver(spans)
            except Exception as exc:
                if time.monotonic() + pause > deadline:
                    with self._lock:
                        self._drop(len(spans), f"delivery kept failing: {exc}")
                    return
                self.stats.retries += 1
                logger.warning(
                    "delivering %d spans failed (%s); retrying in %.1f s", len(spans), exc, pause
                )
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            with self._lock:
                self.stats.delivered += len(spans)
            return

    def _drop(self, count: int, reason: str) -> None:
        self.stats.dropped += count
        logger.warning(
            "windlass dropped %d span(s): %s (%d dropped so far)", count, reason, self.stats.dropped
        )
