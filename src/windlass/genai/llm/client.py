"""Call any OpenAI-compatible LLM endpoint, traced: chat, streamed chat, tool calls, embeddings.

::

    from windlass import llm

    reply = llm.chat("gpt-4o-mini", [{"role": "user", "content": "Hi"}], temperature=0)
    reply.text, reply.usage, reply.cost, reply.trace_id

    with llm.stream_chat("gpt-4o-mini", "Tell me a story") as stream:
        for text in stream:
            print(text, end="")
    stream.reply.usage, stream.reply.time_to_first_token_s

    llm.embed("text-embedding-3-small", ["a", "b"]).vectors

Calls go through the ``openai`` SDK (``pip install "windlass[genai]"``), so OpenAI,
Azure, vLLM, Ollama, llama.cpp and gateways all work. Each call is one span (kind
``llm`` or ``embedding``) with the request, the reply, the token usage (cached and
reasoning tokens too), the cost from the price table and, for streams, the time to first
token; messages and outputs pass the redaction hook and the size cap. ``achat``,
``astream_chat`` and ``aembed`` are the asyncio twins.

Where a call goes: an explicit ``base_url``/``api_key`` wins; else ``provider="name"``
picks a profile of the ``WINDLASS_LLM_PROVIDERS`` file; else ``WINDLASS_LLM_BASE_URL``
and ``WINDLASS_LLM_API_KEY`` (``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` when unset).
A configured key is only ever sent to the endpoint it was configured with, and is never
recorded in spans or error messages (:mod:`windlass.genai.llm.providers` resolves endpoints
and caches the clients). A failed call raises
:class:`~windlass.exceptions.ProviderError` after the SDK's own retries
(``WINDLASS_LLM_MAX_RETRIES``).

Importing this module loads neither ``openai`` nor OpenTelemetry; the first call does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from windlass.exceptions import InvalidInput, InvalidState, ProviderError
from windlass.genai.llm import providers
from windlass.genai.llm.pricing import TokenUsage
from windlass.genai.llm.providers import DEFAULT_BASE_URL, Endpoint, resolve_endpoint
from windlass.genai.tracing import attributes as attr

if TYPE_CHECKING:
    from windlass.genai.tracing.instrument import (
        AsyncTracedStream,
        CallOutcome,
        ModelCall,
        StreamSpan,
        TracedStream,
    )

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncChatStream",
    "ChatReply",
    "ChatStream",
    "EmbeddingReply",
    "Endpoint",
    "ToolCall",
    "achat",
    "aembed",
    "astream_chat",
    "chat",
    "embed",
    "instrument_openai",
    "resolve_endpoint",
    "stream_chat",
    "uninstrument_openai",
]

C = TypeVar("C")


# -- what a call gives back ----------------------------------------------------------------
@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for: its id, the tool's name and the arguments (JSON text)."""

    id: str
    name: str
    arguments: str

    def json(self) -> dict[str, Any]:
        """Return the arguments parsed (``{}`` when empty).

        Raises :class:`~windlass.exceptions.InvalidInput` naming the tool when they are not
        a JSON object.
        """
        if not self.arguments.strip():
            return {}
        try:
            parsed = json.loads(self.arguments)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the arguments of tool call {self.id!r} to {self.name!r} are "
                f"not valid JSON ({exc.msg} at character {exc.pos}): "
                f"{self.arguments[:200]!r}",
                tool=self.name,
                tool_call_id=self.id,
            ) from None
        if not isinstance(parsed, dict):
            raise InvalidInput(
                f"the arguments of tool call {self.id!r} to {self.name!r} are "
                f"JSON but not an object: {self.arguments[:200]!r}",
                tool=self.name,
                tool_call_id=self.id,
            )
        return parsed


@dataclass(frozen=True)
class ChatReply:
    """A chat completion: the text or tool calls, usage, cost, timing and the trace it made.

    ``text`` is ``""`` when the model only called tools. ``usage`` follows OpenAI's
    convention (input tokens include cached ones, output tokens include reasoning ones) and
    is ``None`` when the provider reported none; ``cost`` (US dollars) is ``None`` for a
    model the price table does not know. ``model`` is the model that answered (the
    response's name, say a dated snapshot). ``time_to_first_token_s`` is set for streams.
    ``raw`` is the SDK's response (for a stream: the list of its chunks).
    """

    text: str
    tool_calls: list[ToolCall]
    finish_reason: str | None
    model: str
    usage: TokenUsage | None
    cost: float | None
    latency_s: float
    trace_id: str
    span_id: str
    time_to_first_token_s: float | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    def message(self) -> dict[str, Any]:
        """Return the reply as the assistant message to append to the conversation."""
        out: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return out


@dataclass(frozen=True)
class EmbeddingReply:
    """The vectors of an embeddings call (one per input, in order), its tokens and cost."""

    vectors: list[list[float]]
    model: str
    input_tokens: int | None
    cost: float | None
    latency_s: float = 0.0
    trace_id: str = ""
    span_id: str = ""
    raw: Any = field(default=None, repr=False, compare=False)


# -- errors ------------------------------------------------------------------------------------
def _provider_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
    return str(getattr(exc, "message", None) or exc)


def _provider_error(
    exc: BaseException, endpoint: Endpoint, model: str, operation: str
) -> ProviderError | None:
    """Return the :class:`ProviderError` an SDK or transport failure becomes, else ``None``."""
    openai = providers.openai_sdk()
    import httpx

    status: int | None = None
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        what = f"HTTP {status}: {_provider_message(exc)}"
    elif isinstance(exc, openai.APITimeoutError):
        what = f"no answer in time ({exc.message})"
    elif isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        what = f"could not connect ({exc.message}{f' {cause}' if cause else ''})"
    elif isinstance(exc, openai.APIError):  # an error event inside a stream, a bad response
        what = f"the provider reported an error: {_provider_message(exc)}"
    elif isinstance(exc, httpx.TimeoutException):  # a stream that stalled mid-way
        what = f"no answer in time ({type(exc).__name__}: {exc})"
    elif isinstance(exc, httpx.TransportError):  # the connection broke mid-stream
        what = f"the connection broke: {type(exc).__name__}: {exc}"
    else:
        return None
    message = (
        f"{operation} call with model {model!r} to {endpoint.provider} endpoint "
        f"{endpoint.host} failed: {what}"
    )
    if status == 401 and not endpoint.api_key:
        message += (
            " (no API key was configured for this endpoint: pass api_key=, set "
            "WINDLASS_LLM_API_KEY, or use a provider profile)"
        )
    from windlass.genai.tracing.instrument import scrub

    return ProviderError(
        scrub(message, endpoint.api_key), status=status, model=model, base_url=endpoint.safe_url
    )


@contextlib.contextmanager
def _calling(
    endpoint: Endpoint,
    request: Mapping[str, Any],
    operation: str,
    span_name: str | None,
    session_id: str | None,
    user_id: str | None,
) -> Iterator[ModelCall]:
    """Run the request in the block inside the call's span; failures become ProviderError."""
    from windlass.genai.tracing import sdk as tracing
    from windlass.genai.tracing.instrument import ModelCall

    model = str(request["model"])
    chat = operation == "chat"
    with tracing.trace_context(session_id=session_id, user_id=user_id):
        call = ModelCall(
            span_name or f"{'chat' if chat else 'embeddings'} {model}",
            kind="llm" if chat else "embedding",
            operation=operation,
            params=request,
            provider=endpoint.provider,
            secret=endpoint.api_key,
            base_url=endpoint.base_url,
        )
        try:
            with call.active():
                yield call
        except BaseException as exc:
            call.fail(exc)
            error = _provider_error(exc, endpoint, model, operation)
            if error is not None:
                raise error from exc
            raise


# -- requests and replies ------------------------------------------------------------------------
def _check_model(model: str) -> None:
    if not isinstance(model, str) or not model.strip():
        raise InvalidInput(f"model must be a non-empty model name, got {model!r}", field="model")


def _chat_request(
    model: str,
    messages: str | Sequence[Any],
    tools: Sequence[Any] | None,
    timeout: float | None,
    params: dict[str, Any],
    *,
    stream: bool,
) -> dict[str, Any]:
    _check_model(model)
    if "stream" in params:
        raise InvalidInput(
            "do not pass stream=: call stream_chat() (or astream_chat()) for a streamed reply",
            field="stream",
        )
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if isinstance(messages, Mapping) or not isinstance(messages, Sequence) or not messages:
        raise InvalidInput(
            "messages must be a non-empty list of chat messages "
            "({'role': ..., 'content': ...}) or one user message as a string",
            field="messages",
        )
    request: dict[str, Any] = {**params, "model": model, "messages": list(messages)}
    if tools is not None:
        request["tools"] = list(tools)
    if timeout is not None:
        request["timeout"] = timeout
    if stream:
        request["stream"] = True
        request["stream_options"] = {**(params.get("stream_options") or {}), "include_usage": True}
    return request


def _embed_request(
    model: str, input: str | Sequence[str], timeout: float | None, params: dict[str, Any]
) -> dict[str, Any]:
    _check_model(model)
    if not isinstance(input, str) and (
        not isinstance(input, Sequence)
        or not input
        or not all(isinstance(text, str) for text in input)
    ):
        raise InvalidInput("input must be a string or a non-empty list of strings", field="input")
    request: dict[str, Any] = {
        **params,
        "model": model,
        "input": input if isinstance(input, str) else list(input),
    }
    if timeout is not None:
        request["timeout"] = timeout
    return request


def _tool_calls(message: Mapping[str, Any]) -> list[ToolCall]:
    calls = []
    for call in message.get("tool_calls") or []:
        arguments = call.get("arguments")
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else json.dumps(arguments)
        calls.append(ToolCall(str(call.get("id") or ""), str(call.get("name") or ""), arguments))
    return calls


def _finish_chat(call: ModelCall, response: Any) -> ChatReply:
    from windlass.genai.tracing import openai_calls
    from windlass.genai.tracing.instrument import WHOLE

    outcome = call.finish(openai_calls.response_attributes(response, max_chars=WHOLE))
    return _chat_reply(outcome, call, response)


def _chat_reply(outcome: CallOutcome, call: ModelCall, raw: Any) -> ChatReply:
    attrs = outcome.attributes
    messages = json.loads(attrs[attr.OUTPUT_MESSAGES]) if attr.OUTPUT_MESSAGES in attrs else []
    first: dict[str, Any] = messages[0] if messages else {}
    content = first.get("content")
    return ChatReply(
        text=content if isinstance(content, str) else "",
        tool_calls=_tool_calls(first),
        finish_reason=first.get("finish_reason"),
        model=str(attrs.get(attr.RESPONSE_MODEL) or call.request_model),
        usage=outcome.usage,
        cost=outcome.cost,
        latency_s=outcome.latency_s,
        trace_id=call.trace_id,
        span_id=call.span_id,
        time_to_first_token_s=outcome.time_to_first_token_s,
        raw=raw,
    )


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):  # encoding_format="base64": little-endian float32
        data = base64.b64decode(value)
        return list(struct.unpack(f"<{len(data) // 4}f", data))
    return [float(v) for v in value]


def _finish_embedding(call: ModelCall, response: Any) -> EmbeddingReply:
    from windlass.genai.tracing import openai_calls

    outcome = call.finish(openai_calls.embedding_response_attributes(response))
    data = sorted(response.data or [], key=lambda item: item.index or 0)
    return EmbeddingReply(
        vectors=[_vector(item.embedding) for item in data],
        model=str(outcome.attributes.get(attr.RESPONSE_MODEL) or call.request_model),
        input_tokens=None if outcome.usage is None else outcome.usage.input_tokens,
        cost=outcome.cost,
        latency_s=outcome.latency_s,
        trace_id=call.trace_id,
        span_id=call.span_id,
        raw=response,
    )


def _delta_text(chunk: Any) -> str:
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        if (getattr(choice, "index", 0) or 0) == 0 and delta is not None:
            return str(getattr(delta, "content", None) or "")
    return ""


# -- sync calls ----------------------------------------------------------------------------------
def chat(
    model: str,
    messages: str | Sequence[Any],
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    tools: Sequence[Any] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    span_name: str | None = None,
    timeout: float | None = None,
    **params: Any,
) -> ChatReply:
    """Return the model's reply to ``messages``, traced as one ``llm`` span.

    ``messages`` is a list of chat messages (a string is one user message). ``params``
    go to the API as they are (``temperature``, ``max_tokens``, ``top_p``, ``seed``,
    ``stop``, ``response_format``, ``tool_choice``…). ``session_id``/``user_id`` tag the
    span and every span started inside the call. Raises
    :class:`~windlass.exceptions.ProviderError` when the provider fails.
    """
    request = _chat_request(model, messages, tools, timeout, params, stream=False)
    endpoint = resolve_endpoint(provider, base_url, api_key)
    client = providers.client(endpoint)
    with _calling(endpoint, request, "chat", span_name, session_id, user_id) as call:
        response = client.chat.completions.create(**request)
    return _finish_chat(call, response)


def stream_chat(
    model: str,
    messages: str | Sequence[Any],
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    tools: Sequence[Any] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    span_name: str | None = None,
    timeout: float | None = None,
    **params: Any,
) -> ChatStream:
    """Send a chat request and return its :class:`ChatStream` (same arguments as :func:`chat`).

    Iterate the stream for the text as it arrives; afterwards ``stream.reply`` holds the
    whole :class:`ChatReply`. Usage is always asked for (``include_usage``). The span
    stays open while the caller iterates and ends when the stream ends, fails or is
    closed: use ``with`` or ``close()`` when not reading to the end.
    """
    from windlass.genai.tracing.instrument import TracedStream

    request = _chat_request(model, messages, tools, timeout, params, stream=True)
    endpoint = resolve_endpoint(provider, base_url, api_key)
    client = providers.client(endpoint)
    with _calling(endpoint, request, "chat", span_name, session_id, user_id) as call:
        stream = client.chat.completions.create(**request)
    return ChatStream(TracedStream(stream, call, keep_chunks=True), endpoint, model)


def embed(
    model: str,
    input: str | Sequence[str],
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    span_name: str | None = None,
    timeout: float | None = None,
    **params: Any,
) -> EmbeddingReply:
    """Return the embedding vectors of ``input`` (one per string), traced as an ``embedding`` span.

    ``params`` go to the API as they are (``dimensions``, ``encoding_format``, ``user``…).
    """
    request = _embed_request(model, input, timeout, params)
    endpoint = resolve_endpoint(provider, base_url, api_key)
    client = providers.client(endpoint)
    with _calling(endpoint, request, "embeddings", span_name, session_id, user_id) as call:
        response = client.embeddings.create(**request)
    return _finish_embedding(call, response)


class _StreamReply(ABC):
    """The reply half of both chat streams."""

    def __init__(self, endpoint: Endpoint, model: str) -> None:
        self._endpoint = endpoint
        self._model = model
        self._reply: ChatReply | None = None

    @abstractmethod
    def _span_stream(self) -> StreamSpan | None:
        """Return the traced stream once the request was sent (None before)."""

    @property
    def reply(self) -> ChatReply:
        """Return the whole reply once the stream has ended (or been closed early).

        Raises :class:`~windlass.exceptions.InvalidState` while the stream is still being
        read, or when it failed.
        """
        traced = self._span_stream()
        if traced is not None and traced.error is not None:
            raise InvalidState(
                f"the stream failed ({type(traced.error).__name__}); it has no reply"
            )
        if traced is None or traced.outcome is None:
            raise InvalidState(
                "the stream has not ended: read it to the end, or close it, "
                "before asking for its reply"
            )
        if self._reply is None:
            self._reply = _chat_reply(traced.outcome, traced.call, traced.chunks)
        return self._reply

    def _converted(self, exc: BaseException) -> ProviderError | None:
        return _provider_error(exc, self._endpoint, self._model, "chat")


class ChatStream(_StreamReply):
    """A streamed chat reply: iterating yields text deltas; ``reply`` is the whole reply after.

    A context manager: leaving the block closes the stream (and ends its span).
    """

    def __init__(self, traced: TracedStream, endpoint: Endpoint, model: str) -> None:
        super().__init__(endpoint, model)
        self._traced = traced
        self.trace_id = traced.call.trace_id
        self.span_id = traced.call.span_id

    def _span_stream(self) -> StreamSpan | None:
        return self._traced

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while True:
            try:
                chunk = next(self._traced)
            except StopIteration:
                raise
            except Exception as exc:
                error = self._converted(exc)
                if error is None:
                    raise
                raise error from exc
            text = _delta_text(chunk)
            if text:
                return text

    def close(self) -> None:
        """Stop reading: close the connection; the span ends with what had arrived."""
        self._traced.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- async calls ---------------------------------------------------------------------------------
async def achat(
    model: str,
    messages: str | Sequence[Any],
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    tools: Sequence[Any] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    span_name: str | None = None,
    timeout: float | None = None,
    **params: Any,
) -> ChatReply:
    """Return the model's reply to ``messages``: the asyncio twin of :func:`chat`."""
    request = _chat_request(model, messages, tools, timeout, params, stream=False)
    endpoint = resolve_endpoint(provider, base_url, api_key)
    client = providers.async_client(endpoint)
    with _calling(endpoint, request, "chat", span_name, session_id, user_id) as call:
        response = await client.chat.completions.create(**request)
    return _finish_chat(call, response)


def astream_chat(
    model: str,
    messages: str | Sequence[Any],
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    tools: Sequence[Any] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    span_name: str | None = None,
    timeout: float | None = None,
    **params: Any,
) -> AsyncChatStream:
    """Return an :class:`AsyncChatStream`: the asyncio twin of :func:`stream_chat`.

    ``async for text in llm.astream_chat(...)`` sends the request on the first step;
    ``stream = await llm.astream_chat(...)`` and ``async with`` send it at once.
    """
    from windlass.genai.tracing.instrument import AsyncTracedStream

    request = _chat_request(model, messages, tools, timeout, params, stream=True)
    endpoint = resolve_endpoint(provider, base_url, api_key)

    async def start() -> AsyncTracedStream:
        client = providers.async_client(endpoint)
        with _calling(endpoint, request, "chat", span_name, session_id, user_id) as call:
            stream = await client.chat.completions.create(**request)
        return AsyncTracedStream(stream, call, keep_chunks=True)

    return AsyncChatStream(start, endpoint, model)


async def aembed(
    model: str,
    input: str | Sequence[str],
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    span_name: str | None = None,
    timeout: float | None = None,
    **params: Any,
) -> EmbeddingReply:
    """Return the embedding vectors of ``input``: the asyncio twin of :func:`embed`."""
    request = _embed_request(model, input, timeout, params)
    endpoint = resolve_endpoint(provider, base_url, api_key)
    client = providers.async_client(endpoint)
    with _calling(endpoint, request, "embeddings", span_name, session_id, user_id) as call:
        response = await client.embeddings.create(**request)
    return _finish_embedding(call, response)


class AsyncChatStream(_StreamReply):
    """A streamed chat reply for asyncio: ``async for`` yields text deltas; then ``reply``.

    Awaiting it (or entering ``async with``) sends the request; otherwise the first
    ``async for`` step does. Leaving ``async with`` or :meth:`aclose` closes the stream
    and ends its span.
    """

    def __init__(
        self, start: Callable[[], Awaitable[AsyncTracedStream]], endpoint: Endpoint, model: str
    ) -> None:
        super().__init__(endpoint, model)
        self._start: Callable[[], Awaitable[AsyncTracedStream]] | None = start
        self._traced: AsyncTracedStream | None = None

    def _span_stream(self) -> StreamSpan | None:
        return self._traced

    async def _started(self) -> AsyncTracedStream | None:
        if self._start is not None:
            start, self._start = self._start, None
            self._traced = await start()
        return self._traced

    @property
    def trace_id(self) -> str | None:
        """Return the trace id once the request was sent, else ``None``."""
        return None if self._traced is None else self._traced.call.trace_id

    @property
    def span_id(self) -> str | None:
        """Return the span id once the request was sent, else ``None``."""
        return None if self._traced is None else self._traced.call.span_id

    def __await__(self) -> Generator[Any, None, AsyncChatStream]:
        return self._begin().__await__()

    async def _begin(self) -> AsyncChatStream:
        await self._started()
        return self

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> str:
        traced = await self._started()
        if traced is None:  # closed before it was sent
            raise StopAsyncIteration
        while True:
            try:
                chunk = await traced.__anext__()
            except StopAsyncIteration:
                raise
            except Exception as exc:
                error = self._converted(exc)
                if error is None:
                    raise
                raise error from exc
            text = _delta_text(chunk)
            if text:
                return text

    async def aclose(self) -> None:
        """Stop reading: close the connection; the span ends with what had arrived."""
        self._start = None
        if self._traced is not None:
            await self._traced.close()

    async def __aenter__(self) -> AsyncChatStream:
        await self._started()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


# -- instrumenting your own client ---------------------------------------------------------------
def instrument_openai(client: C, *, provider: str | None = None) -> C:
    """Return ``client`` (``openai.OpenAI`` or ``AsyncOpenAI``) with every call traced.

    See :func:`windlass.genai.tracing.instrument.instrument_openai`.
    """
    from windlass.genai.tracing import instrument

    return instrument.instrument_openai(client, provider=provider)


def uninstrument_openai(client: C) -> C:
    """Return ``client`` with the tracing of :func:`instrument_openai` removed."""
    from windlass.genai.tracing import instrument

    return instrument.uninstrument_openai(client)
