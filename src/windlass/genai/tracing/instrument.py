"""Trace calls made through the ``openai`` SDK: one span per chat completion, stream or embedding.

:class:`ModelCall` is the span of one call. It records the request with the attributes
of :mod:`windlass.genai.tracing.openai_calls`, except that message contents, inputs and outputs
go through :func:`windlass.genai.tracing.sdk.capture` (the redaction hook and the size cap);
it prices the reported usage from the price table (``windlass.cost``) and ends the span
with the response, or as failed with the exception (the API key scrubbed from its text).
A streamed reply is wrapped in a :class:`TracedStream` (:class:`AsyncTracedStream`)
whose span stays open while the caller iterates and ends when the stream ends, fails or
is closed.

:func:`instrument_openai` puts this around ``chat.completions.create`` and
``embeddings.create`` of an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client;
:mod:`windlass.genai.llm.client` uses the same pieces for its own calls.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode

from windlass.exceptions import ConfigError, InvalidInput
from windlass.genai.llm.pricing import TokenUsage, default_price_table
from windlass.genai.tracing import attributes as attr
from windlass.genai.tracing import openai_calls
from windlass.genai.tracing import sdk as tracing

__all__ = [
    "AsyncTracedStream",
    "CallOutcome",
    "ModelCall",
    "StreamSpan",
    "TracedStream",
    "instrument_openai",
    "provider_for_url",
    "scrub",
    "uninstrument_openai",
]

logger = logging.getLogger("windlass.llm")

C = TypeVar("C")

#: OpenTelemetry's names for the endpoint called and the class of a failure.
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# openai_calls cuts long texts; windlass cuts them in tracing.capture() instead, after the
# redaction hook, so the texts are asked for whole (and read back as the same structures).
WHOLE = 2**62
_JSON = "application/json"
_MARK = "_windlass_instrumentation"
_SHORTEST_SECRET = 6  # a shorter "key" would scrub ordinary words out of messages


def scrub(text: str, secret: str | None) -> str:
    """Return ``text`` with every occurrence of ``secret`` (an API key) replaced by ``***``."""
    if secret and len(secret) >= _SHORTEST_SECRET:
        return text.replace(secret, "***")
    return text


def provider_for_url(base_url: str) -> str:
    """Return the ``gen_ai.provider.name`` of an endpoint: ``openai`` for OpenAI's own API.

    Azure OpenAI hosts give ``azure.ai.openai``; every other host ``openai_compatible``.
    """
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.openai.com":
        return "openai"
    if host.endswith(".openai.azure.com"):
        return "azure.ai.openai"
    return "openai_compatible"


@dataclass(frozen=True)
class CallOutcome:
    """What a finished call reported: its whole response attributes, usage, cost and timing.

    ``attributes`` are those of :mod:`~windlass.genai.tracing.openai_calls`, uncut and unredacted
    (what the span holds is redacted and capped); ``cost`` is ``None`` when unknown.
    """

    attributes: dict[str, Any]
    usage: TokenUsage | None
    cost: float | None
    latency_s: float
    time_to_first_token_s: float | None = None


def usage_of(attributes: Mapping[str, Any]) -> TokenUsage | None:
    """Return the token usage in response attributes, or ``None`` when none was reported."""
    if attr.USAGE_INPUT_TOKENS not in attributes:
        return None
    try:
        return TokenUsage(
            attributes[attr.USAGE_INPUT_TOKENS],
            attributes.get(attr.USAGE_OUTPUT_TOKENS, 0),
            attributes.get(attr.USAGE_CACHED_INPUT_TOKENS),
            attributes.get(attr.USAGE_REASONING_TOKENS),
        )
    except InvalidInput:  # counts that contradict each other are not priced
        return None


def _price(provider: str, model: str, usage: TokenUsage) -> float | None:
    try:
        table = default_price_table()
    except ConfigError as exc:
        # A broken price file must not cost the caller a response already paid for.
        logger.warning("cannot price a call of %s: %s", model, exc.message)
        return None
    return table.cost(provider, model, usage)


def _capture(value: Any) -> str:
    try:
        return tracing.capture(value)
    except Exception as exc:
        # A failing redaction hook must neither break the call nor let the raw text through.
        logger.warning(
            "the trace redactor failed (%s); a placeholder was recorded", type(exc).__name__
        )
        return f"<redaction failed: {type(exc).__name__}>"


def recorded(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Return call attributes as the span records them: contents redacted and capped.

    Messages are handed to the redaction hook as the JSON structures openai_calls built
    (lists of ``{role, content, …}``), texts as strings; tool definitions are only capped.
    """
    out = dict(attributes)
    for key in (attr.INPUT_MESSAGES, attr.OUTPUT_MESSAGES):
        if key in out:
            out[key] = _capture(json.loads(out[key]))
    for key, mime in (
        (attr.INPUT_VALUE, attr.INPUT_MIME_TYPE),
        (attr.OUTPUT_VALUE, attr.OUTPUT_MIME_TYPE),
    ):
        if key in out:
            out[key] = _capture(json.loads(out[key]) if out.get(mime) == _JSON else out[key])
    if attr.TOOL_DEFINITIONS in out:
        out[attr.TOOL_DEFINITIONS] = openai_calls.truncate(
            out[attr.TOOL_DEFINITIONS], tracing.max_chars()
        )
    return out


class ModelCall:
    """The span of one model call, open from the request until the response or stream ends.

    The span starts under the current span (and takes the session and user of
    :func:`~windlass.genai.tracing.sdk.trace_context`), but is current only inside
    :meth:`active`, around the request: spans the caller opens while iterating a stream
    do not nest under it. ``operation`` is ``chat`` or ``embeddings``; ``secret`` (the
    API key) is scrubbed from any recorded error; ``base_url`` gives ``server.address``.
    """

    def __init__(
        self,
        name: str,
        *,
        kind: str,
        operation: str,
        params: Mapping[str, Any],
        provider: str,
        secret: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.provider = provider
        self.secret = secret
        self.request_model = str(params.get("model") or "")
        self._lock = threading.Lock()
        self._ended = False
        self.span = tracing.tracer().start_span(name, attributes={attr.SPAN_KIND: kind})
        self.handle = tracing.SpanHandle(self.span)
        try:
            self.handle.set_attributes(
                recorded(
                    openai_calls.request_attributes(operation, params, provider, max_chars=WHOLE)
                )
            )
            if base_url:
                parts = urlsplit(base_url)
                if parts.hostname:
                    self.span.set_attribute(SERVER_ADDRESS, parts.hostname)
                if parts.port:
                    self.span.set_attribute(SERVER_PORT, parts.port)
        except BaseException as exc:
            self.fail(exc)
            raise
        self.started = time.monotonic()

    @property
    def trace_id(self) -> str:
        """Return the trace id (32 hex characters)."""
        return self.handle.trace_id

    @property
    def span_id(self) -> str:
        """Return the span id (16 hex characters)."""
        return self.handle.span_id

    @property
    def ended(self) -> bool:
        """Tell whether the span has ended."""
        return self._ended

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Make the span current inside the block (the request), so spans there nest under it."""
        with otel_trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            yield

    def finish(
        self, attributes: Mapping[str, Any], time_to_first_token: float | None = None
    ) -> CallOutcome:
        """Record a response's attributes (outputs redacted, capped), price it, end the span."""
        latency = time.monotonic() - self.started
        usage = usage_of(attributes)
        cost = None
        try:
            self.handle.set_attributes(recorded(attributes))
            model = str(attributes.get(attr.RESPONSE_MODEL) or self.request_model)
            if usage is not None and model:
                cost = _price(self.provider, model, usage)
                if cost is not None:
                    self.span.set_attribute(attr.COST, cost)
        finally:
            self.end()
        return CallOutcome(dict(attributes), usage, cost, latency, time_to_first_token)

    def fail(self, exc: BaseException) -> None:
        """End the span as failed, recording ``exc`` with the API key scrubbed from its text."""
        if self._ended:
            return
        try:
            message = scrub(str(exc), self.secret)
            stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.span.set_attribute(ERROR_TYPE, f"{type(exc).__module__}.{type(exc).__qualname__}")
            self.span.record_exception(
                exc,
                escaped=True,
                attributes={
                    "exception.message": message,
                    "exception.stacktrace": scrub(stack, self.secret),
                },
            )
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {message}"))
        finally:
            self.end()

    def end(self) -> None:
        """End the span (once; later calls do nothing)."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        self.span.end()


class StreamSpan:
    """What both stream wrappers share: the chunks so far, the outcome, how the span ends.

    ``outcome`` is set once the span ended with a reply (the stream ended or was closed),
    ``error`` once it failed; ``chunks`` keeps every chunk when asked to (``keep_chunks``).
    """

    def __init__(self, stream: Any, call: ModelCall, *, keep_chunks: bool = False) -> None:
        self._stream = stream
        self.call = call
        self.accumulator = openai_calls.StreamAccumulator(call.started, max_chars=WHOLE)
        self.chunks: list[Any] | None = [] if keep_chunks else None
        self.outcome: CallOutcome | None = None
        self.error: BaseException | None = None

    def _add(self, chunk: Any) -> None:
        self.accumulator.add(chunk)
        if self.chunks is not None:
            self.chunks.append(chunk)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.call.fail(exc)

    def _complete(self) -> None:
        if not self.call.ended:
            result = self.accumulator.result()
            self.outcome = self.call.finish(result.attributes(), result.time_to_first_token)

    def _close_span(self) -> None:
        """End the span of a stream closed before its end with what had arrived."""
        if not self.call.ended:
            self.call.handle.add_event("stream closed early")
            self._complete()

    def __getattr__(self, name: str) -> Any:
        # Everything else (``response``, ``_iterator``…) is the SDK stream's.
        if name.startswith("__") or name == "_stream":
            raise AttributeError(name)
        return getattr(self._stream, name)

    def __del__(self) -> None:
        # A stream dropped half-read (a `break` without close()) still ends its span.
        with contextlib.suppress(Exception):
            call = self.__dict__.get("call")
            if call is not None and not call.ended:
                self._close_span()


class TracedStream(StreamSpan):
    """An ``openai.Stream`` of chat chunks whose span ends with it.

    Iterating yields the SDK's chunks unchanged and feeds each to a
    :class:`~windlass.genai.tracing.openai_calls.StreamAccumulator`. The span ends when the stream
    is exhausted (with the reassembled reply, usage, cost and time to first token), when
    it fails (with the error), or when it is closed early (with what had arrived and a
    ``stream closed early`` event). ``outcome`` then holds the :class:`CallOutcome`.
    """

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        if self.call.ended:
            raise StopIteration
        try:
            chunk = next(self._stream)
            self._add(chunk)
        except StopIteration:
            self._complete()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        return chunk

    def close(self) -> None:
        """Close the HTTP response; the span ends with what had arrived."""
        try:
            self._stream.close()
        finally:
            self._close_span()

    def __enter__(self) -> TracedStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTracedStream(StreamSpan):
    """An ``openai.AsyncStream`` of chat chunks whose span ends with it (see TracedStream)."""

    def __aiter__(self) -> AsyncTracedStream:
        return self

    async def __anext__(self) -> Any:
        if self.call.ended:
            raise StopAsyncIteration
        try:
            chunk = await self._stream.__anext__()
            self._add(chunk)
        except StopAsyncIteration:
            self._complete()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        return chunk

    async def close(self) -> None:
        """Close the HTTP response; the span ends with what had arrived."""
        try:
            await self._stream.close()
        finally:
            self._close_span()

    async def __aenter__(self) -> AsyncTracedStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


# -- instrumenting a client ----------------------------------------------------------------
@dataclass(frozen=True)
class _Instrumentation:
    provider: str


def _secret(client: Any) -> str | None:
    key = getattr(client, "api_key", None)
    return key if isinstance(key, str) and key else None


def _start(client: Any, provider: str, operation: str, kwargs: Mapping[str, Any]) -> ModelCall:
    model = kwargs.get("model")
    if operation == "chat":
        name, kind = f"chat {model}", "llm"
    else:
        name, kind = f"embeddings {model}", "embedding"
    return ModelCall(
        name,
        kind=kind,
        operation=operation,
        params=kwargs,
        provider=provider,
        secret=_secret(client),
        base_url=str(getattr(client, "base_url", "")),
    )


def _finish(call: ModelCall, operation: str, result: Any) -> Any:
    """Record ``result`` in the span; return it (a stream wrapped so its span ends with it)."""
    import openai

    try:
        if isinstance(result, openai.Stream):
            return TracedStream(result, call)
        if isinstance(result, openai.AsyncStream):
            return AsyncTracedStream(result, call)
        if operation == "chat":
            call.finish(openai_calls.response_attributes(result, max_chars=WHOLE))
        else:
            call.finish(openai_calls.embedding_response_attributes(result))
    except Exception:
        # Tracing never breaks the caller's own client: the call succeeded, return its result.
        logger.exception("windlass could not record an openai %s response", operation)
        call.end()
    return result


def _traced_sync(
    create: Callable[..., Any], client: Any, provider: str, operation: str
) -> Callable[..., Any]:
    @functools.wraps(create)
    def traced(*args: Any, **kwargs: Any) -> Any:
        call = _start(client, provider, operation, kwargs)
        try:
            with call.active():
                result = create(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return _finish(call, operation, result)

    return traced


def _traced_async(
    create: Callable[..., Any], client: Any, provider: str, operation: str
) -> Callable[..., Any]:
    @functools.wraps(create)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        call = _start(client, provider, operation, kwargs)
        try:
            with call.active():
                result = await create(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return _finish(call, operation, result)

    return traced


def instrument_openai(client: C, *, provider: str | None = None) -> C:
    """Return ``client`` with its chat completions and embeddings traced, one span per call.

    Works on ``openai.OpenAI`` and ``openai.AsyncOpenAI`` (and their Azure subclasses).
    ``chat.completions.create`` (``stream=True`` included: the returned stream is wrapped
    so its span ends when the stream does) and ``embeddings.create`` are traced like
    :mod:`windlass.genai.llm.client` calls; results and errors reach the caller unchanged.
    ``provider`` is the ``gen_ai.provider.name`` recorded (default from the client's
    base URL: ``openai`` for api.openai.com, else ``openai_compatible``). Instrumenting
    twice does nothing more; :func:`uninstrument_openai` restores the client. Copies made
    with ``client.with_options()``, ``with_raw_response`` calls and the ``parse``/``stream``
    helpers are not traced. A stream's usage is recorded only when the caller asks for it
    (``stream_options={"include_usage": True}``): the request is never changed.
    """
    import openai

    if getattr(client, _MARK, None) is not None:
        return client
    if not isinstance(client, openai.OpenAI | openai.AsyncOpenAI):
        raise InvalidInput(
            f"instrument_openai needs an openai.OpenAI or openai.AsyncOpenAI "
            f"client, got {type(client).__name__}"
        )
    name = provider or provider_for_url(str(client.base_url))
    wrap = _traced_async if isinstance(client, openai.AsyncOpenAI) else _traced_sync
    completions, embeddings = client.chat.completions, client.embeddings
    # Instance attributes shadow the resources' methods; deleting them restores the class's.
    completions.create = wrap(completions.create, client, name, "chat")  # type: ignore[method-assign]
    embeddings.create = wrap(embeddings.create, client, name, "embeddings")  # type: ignore[method-assign]
    setattr(client, _MARK, _Instrumentation(name))
    return client


def uninstrument_openai(client: C) -> C:
    """Return ``client`` with the tracing of :func:`instrument_openai` removed."""
    if getattr(client, _MARK, None) is None:
        return client
    for resource in (client.chat.completions, client.embeddings):  # type: ignore[attr-defined]
        vars(resource).pop("create", None)
    delattr(client, _MARK)
    return client
