"""Send agent traces to one OTLP/HTTP endpoint with the real OpenTelemetry SDK; report times.

Run by the trace benchmark in a process of its own, with windlass's virtualenv python (it
imports the OpenTelemetry SDK and ``opentelemetry-exporter-otlp-proto-http``, not windlass)::

    python bench/traces_sender.py --endpoint http://127.0.0.1:PORT/v1/traces \
        --traces 2000 [--header x-windlass-project=NAME] [--project NAME]

The wiring is the one an application would use: a ``TracerProvider`` with a
``BatchSpanProcessor`` around ``OTLPSpanExporter`` (protobuf over HTTP, the SDK's default
batch size and delay). The processor's queue holds every span of the run, so the SDK never
drops one; an exporter wrapper counts what the server acknowledged, and a counting
processor counts the spans ended, so the driver can check that every span was delivered.

Protocol with the driver, one line each on stdout: ``READY`` once the SDK is set up; the
sender then waits for a line on stdin, and only then takes its start time and makes the
first span. ``FLUSHED {json}`` as soon as ``force_flush`` returns (the driver starts polling
the server then), and ``RESULT {json}`` after ``shutdown``. Times are ``time.monotonic()``,
one clock for every process of the machine (CLOCK_MONOTONIC), so the driver can subtract
them from its own.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

SPANS_PER_TRACE = 5
DOCUMENTS = 3
FLUSH_TIMEOUT_MS = 600_000
WORDS = (
    "agent",
    "model",
    "token",
    "latency",
    "retrieval",
    "vector",
    "prompt",
    "context",
    "answer",
    "policy",
    "invoice",
    "customer",
    "refund",
    "order",
    "shipping",
    "account",
    "warranty",
    "battery",
    "screen",
    "replacement",
    "delivery",
    "tracking",
    "support",
)


class CountingExporter(SpanExporter):
    """Export through ``inner`` and count the spans the server acknowledged (or not)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.exported = 0
        self.failed = 0
        self.requests = 0
        self.failed_requests = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export one batch and record whether the server took it."""
        result = self.inner.export(spans)
        with self.lock:
            self.requests += 1
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed += len(spans)
                self.failed_requests += 1
        return result

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return bool(self.inner.force_flush(timeout_millis))


class EndedCounter(SpanProcessor):
    """Count the spans the application ended (what the SDK was handed)."""

    def __init__(self) -> None:
        self.ended = 0

    def on_end(self, span: ReadableSpan) -> None:
        """Count one ended span."""
        self.ended += 1


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def send(tracer: Any, traces: int, seed: int) -> None:
    """Make ``traces`` agent traces of 5 spans each (OpenInference attributes)."""
    rng = random.Random(seed)
    for i in range(traces):
        session = {"session.id": f"session-{i // 10:05d}", "user.id": f"user-{i % 97:03d}"}
        question = f"Question {i}: " + _text(rng, 40)
        with tracer.start_as_current_span(
            "agent",
            attributes={"openinference.span.kind": "AGENT", "input.value": question, **session},
        ) as root:
            with tracer.start_as_current_span(
                "llm.plan",
                attributes={
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o-mini",
                    "llm.provider": "openai",
                    "llm.token_count.prompt": rng.randint(200, 900),
                    "llm.token_count.completion": rng.randint(20, 200),
                    "input.value": question,
                    "output.value": _text(rng, 30),
                    **session,
                },
            ):
                pass
            docs: dict[str, Any] = {}
            for d in range(DOCUMENTS):
                prefix = f"retrieval.documents.{d}.document"
                docs[f"{prefix}.id"] = f"doc-{rng.randint(0, 99_999):05d}"
                docs[f"{prefix}.content"] = _text(rng, 60)
                docs[f"{prefix}.score"] = round(rng.random(), 4)
            with tracer.start_as_current_span(
                "retriever",
                attributes={
                    "openinference.span.kind": "RETRIEVER",
                    "input.value": question,
                    **docs,
                    **session,
                },
            ):
                pass
            with tracer.start_as_current_span(
                "tool.lookup_order",
                attributes={
                    "openinference.span.kind": "TOOL",
                    "tool.name": "lookup_order",
                    "input.value": json.dumps({"order_id": f"o-{i:06d}"}),
                    "output.value": json.dumps({"status": "shipped", "items": rng.randint(1, 5)}),
                    **session,
                },
            ):
                pass
            answer = _text(rng, 50)
            with tracer.start_as_current_span(
                "llm.answer",
                attributes={
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o-mini",
                    "llm.provider": "openai",
                    "llm.token_count.prompt": rng.randint(800, 2500),
                    "llm.token_count.completion": rng.randint(50, 400),
                    "input.value": question,
                    "output.value": answer,
                    **session,
                },
            ):
                pass
            root.set_attribute("output.value", answer)


def _emit(tag: str, body: dict[str, Any]) -> None:
    print(f"{tag} {json.dumps(body)}", flush=True)


def main() -> int:
    """Set up the SDK, wait for the go line, send, flush, shut down; print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="http://HOST:PORT/v1/traces")
    parser.add_argument("--traces", type=int, default=2_000)
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE")
    parser.add_argument(
        "--project", default=None, help="openinference.project.name resource attribute"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)
    total = args.traces * SPANS_PER_TRACE
    attributes: dict[str, Any] = {"service.name": "bench-agent"}
    if args.project:
        attributes["openinference.project.name"] = args.project

    exporter = CountingExporter(OTLPSpanExporter(endpoint=args.endpoint, headers=headers))
    # The queue holds the whole run: the SDK drops spans only when its queue is full.
    queue = max(10_000, 2 * total)
    provider = TracerProvider(resource=Resource.create(attributes))
    ended = EndedCounter()
    provider.add_span_processor(ended)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=queue))
    tracer = provider.get_tracer("windlass.bench.traces")

    print("READY", flush=True)
    if not sys.stdin.readline():
        return 2  # the driver went away
    t0 = time.monotonic()
    send(tracer, args.traces, args.seed)
    t_created = time.monotonic()
    flushed = provider.force_flush(timeout_millis=FLUSH_TIMEOUT_MS)
    t_flushed = time.monotonic()
    _emit(
        "FLUSHED", {"t0": t0, "t_created": t_created, "t_flushed": t_flushed, "flush_ok": flushed}
    )
    provider.shutdown()
    _emit(
        "RESULT",
        {
            "t0": t0,
            "t_created": t_created,
            "t_flushed": t_flushed,
            "t_shutdown": time.monotonic(),
            "flush_ok": flushed,
            "spans_expected": total,
            "spans_ended": ended.ended,
            "spans_exported": exporter.exported,
            "spans_failed": exporter.failed,
            "requests": exporter.requests,
            "failed_requests": exporter.failed_requests,
            "max_queue_size": queue,
            "headers": sorted(headers),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
