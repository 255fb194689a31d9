"""A real, local, deterministic OpenAI-compatible HTTP server for tests.

Tests may not patch the ``openai`` SDK nor reach the internet, so they point the real
client at this server instead: a Starlette app served by uvicorn on 127.0.0.1 in a
background thread. It answers ``POST /v1/chat/completions`` (plain and streamed),
``POST /v1/embeddings`` and ``GET /v1/models`` in the shapes of the real API, records every
request it receives, and behaves deterministically:

- the reply is ``"echo: <last user message>"`` unless a test queued replies with
  :meth:`OpenAIServer.add_reply`;
- when the request offers ``tools`` and the last user message holds lines of the form
  ``call:<tool name> <json arguments>``, the reply is one tool call per such line
  (``finish_reason`` ``"tool_calls"``);
- ``max_tokens`` / ``max_completion_tokens`` cut the reply to that many words
  (``finish_reason`` ``"length"``);
- usage: ``prompt_tokens`` is the number of words in all messages, ``completion_tokens``
  the words of the reply (one per tool call plus the words of its arguments) plus the
  reasoning tokens; ``cached_tokens`` is ``min(cached_tokens, prompt_tokens)``;
  ``reasoning_tokens`` is non-zero only for models whose name starts with ``"o"``;
- a model named ``error-<status>`` (``error-500``, ``error-429``, ``error-400``…) gets that
  HTTP status with OpenAI's error body; a server started with ``api_key`` answers 401 to
  a missing or wrong bearer key;
- streams send the role chunk at once, then wait ``first_token_delay`` seconds before the
  first content or tool-call chunk (so time to first token is measurable), then one chunk
  per word (tool-call arguments in ``argument_fragment`` character fragments, the id and
  name in the first delta, as OpenAI streams them).

Usage::

    with OpenAIServer(api_key="sk-test") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        assert server.requests[-1].headers["authorization"] == "Bearer sk-test"
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

CREATED = 1_735_689_600  # a fixed "created" timestamp keeps every response deterministic
DEFAULT_MODELS = ("gpt-4o-mini", "o3-mini", "text-embedding-3-small")
_ERROR_MODEL = re.compile(r"^error-(\d{3})$")
_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the server received: method, path, lower-cased headers, parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass(frozen=True)
class ScriptedReply:
    """A reply queued for the next chat completion (instead of the echo)."""

    content: str | None = None
    tool_calls: Sequence[tuple[str, Mapping[str, Any] | str]] = ()
    finish_reason: str | None = None


@dataclass
class _Answer:
    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"


def words(text: str) -> int:
    """Count the whitespace-separated words of ``text`` (the server's token count)."""
    return len(text.split())


def message_text(message: Mapping[str, Any]) -> str:
    """Return the text of a chat message (string content or the text parts of a list)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def embedding_for(text: str, dimensions: int) -> list[float]:
    """Return the deterministic vector the server gives ``text`` (exact in float32)."""
    out: list[float] = []
    counter = 0
    while len(out) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out += [(byte - 128) / 128 for byte in digest]
        counter += 1
    return out[:dimensions]


def openai_error(status: int, message: str) -> JSONResponse:
    """Return an error response with the body shape of the OpenAI API."""
    kind, code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    # A short retry-after-ms keeps the SDK's automatic retries fast in tests.
    headers = {"retry-after-ms": "10"} if status in (429, 500, 503) else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class OpenAIServer:
    """A local OpenAI-compatible server in a background thread; a context manager.

    ``api_key``: when set, every ``/v1`` route wants ``Authorization: Bearer <api_key>``.
    ``first_token_delay``/``chunk_delay``: seconds before a stream's first token / between
    its later chunks. ``cached_tokens``: cached prompt tokens reported (capped at the
    prompt). ``reasoning_tokens``: reported for models whose name starts with ``"o"``.
    ``embedding_dimensions``: vector size unless the request asks for ``dimensions``.
    ``model_aliases``: request model → response model (e.g. a dated snapshot name).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        first_token_delay: float = 0.0,
        chunk_delay: float = 0.0,
        cached_tokens: int = 0,
        reasoning_tokens: int = 7,
        embedding_dimensions: int = 8,
        argument_fragment: int = 5,
        model_aliases: Mapping[str, str] | None = None,
        models: Sequence[str] = DEFAULT_MODELS,
    ) -> None:
        self.api_key = api_key
        self.first_token_delay = first_token_delay
        self.chunk_delay = chunk_delay
        self.cached_tokens = cached_tokens
        self.reasoning_tokens = reasoning_tokens
        self.embedding_dimensions = embedding_dimensions
        self.argument_fragment = argument_fragment
        self.model_aliases = dict(model_aliases or {})
        self.models = list(models)
        self.requests: list[ReceivedRequest] = []
        self.replies: deque[ScriptedReply] = deque()
        self._ids = itertools.count(1)
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # -- life cycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the server's root URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Return the ``base_url`` to give ``openai.OpenAI`` (ends in ``/v1``)."""
        return f"{self.url}/v1"

    def start(self, timeout: float = 10) -> OpenAIServer:
        """Start serving in a background thread; return once the server accepts requests."""
        # Binding the socket here (not a free_port() guess) leaves no race for the port.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        # uvicorn installs signal handlers only in the main thread, so none are installed
        # here; ``started`` turns true once the socket is listening and requests are served.
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"openai-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the local OpenAI-compatible server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- scripting ----------------------------------------------------------------------
    def add_reply(
        self,
        content: str | None = None,
        *,
        tool_calls: Sequence[tuple[str, Mapping[str, Any] | str]] = (),
        finish_reason: str | None = None,
    ) -> None:
        """Queue the answer to the next chat completion (first in, first out)."""
        self.replies.append(ScriptedReply(content, tuple(tool_calls), finish_reason))

    def usage_for(
        self, model: str, messages: Sequence[Mapping[str, Any]], completion_words: int
    ) -> dict[str, Any]:
        """Return the usage block the server reports for a chat completion."""
        prompt = sum(words(message_text(m)) for m in messages)
        reasoning = self.reasoning_tokens if model.startswith("o") else 0
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion_words + reasoning,
            "total_tokens": prompt + completion_words + reasoning,
            "prompt_tokens_details": {
                "cached_tokens": min(self.cached_tokens, prompt),
                "audio_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    # -- request handling ---------------------------------------------------------------
    async def _receive(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request; return its body, or the error response to send instead."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        self.requests.append(
            ReceivedRequest(
                request.method,
                request.url.path,
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        if (
            self.api_key is not None
            and request.headers.get("authorization") != f"Bearer {self.api_key}"
        ):
            return body, openai_error(401, "Incorrect API key provided.")
        if request.method == "POST" and not isinstance(body, dict):
            return body, openai_error(400, "The request body must be a JSON object.")
        if isinstance(body, dict):
            match = _ERROR_MODEL.match(str(body.get("model", "")))
            if match:
                status = int(match.group(1))
                return body, openai_error(status, f"Scripted error {status} for this model.")
            if "model" not in body:
                return body, openai_error(400, "you must provide a model parameter")
        return body, None

    async def _models(self, request: Request) -> Response:
        _, error = await self._receive(request)
        if error is not None:
            return error
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": name,
                        "object": "model",
                        "created": CREATED,
                        "owned_by": "windlass-tests",
                    }
                    for name in self.models
                ],
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        body, error = await self._receive(request)
        if error is not None:
            return error
        raw_input = body.get("input")
        texts = [raw_input] if isinstance(raw_input, str) else raw_input
        if not isinstance(texts, list) or not texts:
            return openai_error(400, "'input' must be a string or a non-empty list")
        texts = [
            t if isinstance(t, str) else " ".join(map(str, t)) if isinstance(t, list) else str(t)
            for t in texts
        ]
        dimensions = int(body.get("dimensions") or self.embedding_dimensions)
        data = []
        for index, text in enumerate(texts):
            vector = embedding_for(text, dimensions)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(words(t) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": self._model(body),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _chat(self, request: Request) -> Response:
        body, error = await self._receive(request)
        if error is not None:
            return error
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return openai_error(400, "'messages' must be a non-empty list")
        number = next(self._ids)
        answer = self._answer(body, number)
        if body.get("stream"):
            return StreamingResponse(
                self._stream(body, number, answer), media_type="text/event-stream"
            )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.content,
            "refusal": None,
            "annotations": [],
        }
        if answer.tool_calls:
            message["tool_calls"] = answer.tool_calls
        return JSONResponse(
            {
                "id": f"chatcmpl-test{number:04d}",
                "object": "chat.completion",
                "created": CREATED,
                "model": self._model(body),
                "system_fingerprint": "fp_windlass",
                "service_tier": "default",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": answer.finish_reason,
                    }
                ],
                "usage": self._usage(body, answer),
            }
        )

    # -- what to answer -----------------------------------------------------------------
    def _model(self, body: Mapping[str, Any]) -> str:
        model = str(body["model"])
        return self.model_aliases.get(model, model)

    def _answer(self, body: Mapping[str, Any], number: int) -> _Answer:
        messages = body["messages"]
        if self.replies:
            scripted = self.replies.popleft()
            calls = [
                self._tool_call(number, i, name, args)
                for i, (name, args) in enumerate(scripted.tool_calls)
            ]
            reason = scripted.finish_reason or ("tool_calls" if calls else "stop")
            return _Answer(scripted.content, calls, reason)
        last = next(
            (m for m in reversed(messages) if isinstance(m, Mapping) and m.get("role") == "user"),
            {},
        )
        text = message_text(last)
        lines = [line for line in text.splitlines() if line.startswith("call:")]
        if body.get("tools") and lines:
            calls = []
            for index, line in enumerate(lines):
                name, _, args = line.removeprefix("call:").partition(" ")
                calls.append(self._tool_call(number, index, name, args.strip() or "{}"))
            return _Answer(None, calls, "tool_calls")
        reply = f"echo: {text}"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit is not None and words(reply) > int(limit):
            return _Answer(" ".join(reply.split()[: int(limit)]), [], "length")
        return _Answer(reply)

    @staticmethod
    def _tool_call(
        number: int, index: int, name: str, args: Mapping[str, Any] | str
    ) -> dict[str, Any]:
        arguments = args if isinstance(args, str) else json.dumps(args)
        return {
            "id": f"call_{number:04d}_{index}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }

    def _usage(self, body: Mapping[str, Any], answer: _Answer) -> dict[str, Any]:
        completion = words(answer.content or "") + sum(
            1 + words(call["function"]["arguments"]) for call in answer.tool_calls
        )
        messages = [m for m in body["messages"] if isinstance(m, Mapping)]
        return self.usage_for(str(body["model"]), messages, completion)

    async def _stream(
        self, body: Mapping[str, Any], number: int, answer: _Answer
    ) -> AsyncIterator[bytes]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {
            "id": f"chatcmpl-test{number:04d}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self._model(body),
            "system_fingerprint": "fp_windlass",
            "service_tier": "default",
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            data: dict[str, Any] = {
                **head,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            if include_usage:
                data["usage"] = None
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        await asyncio.sleep(self.first_token_delay)
        first = True
        for delta in self._deltas(answer):
            if not first:
                await asyncio.sleep(self.chunk_delay)
            first = False
            yield chunk(delta)
        yield chunk({}, answer.finish_reason)
        if include_usage:
            final = {**head, "choices": [], "usage": self._usage(body, answer)}
            yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    def _deltas(self, answer: _Answer) -> list[dict[str, Any]]:
        """Split an answer into stream deltas: a word each, arguments in fragments."""
        deltas: list[dict[str, Any]] = [
            {"content": piece} for piece in re.findall(r"\s*\S+|\s+", answer.content or "")
        ]
        size = max(1, self.argument_fragment)
        for index, call in enumerate(answer.tool_calls):
            deltas.append(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
            arguments = call["function"]["arguments"]
            deltas += [
                {
                    "tool_calls": [
                        {"index": index, "function": {"arguments": arguments[i : i + size]}}
                    ]
                }
                for i in range(0, len(arguments), size)
            ]
        return deltas
