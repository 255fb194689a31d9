"""Span attributes for calls made through the ``openai`` SDK (any OpenAI-compatible API).

Pure functions: they read the keyword arguments of a call and the response (or the chunks
of a stream) and give the attribute dict of the span that traces it, under the names of
:mod:`windlass.genai.tracing.attributes`. They never import ``openai`` (it is an optional extra):
responses are read by duck typing, so SDK objects and plain dicts (parsed JSON) both work.

Texts larger than ``max_chars`` are cut and end with ``…[truncated N chars]``; a cut JSON
value (messages, tool definitions) is then no longer parseable JSON, which readers must
tolerate. Keys are only set for facts the call or the response holds: a response without
usage has no token attributes, not zeros.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from windlass.exceptions import InvalidInput
from windlass.genai.tracing import attributes as attr

DEFAULT_MAX_CHARS = 32_000

# Not in windlass.genai.tracing.attributes yet: how many vectors an embeddings call returned.
EMBEDDING_VECTOR_COUNT = "windlass.embedding.vector_count"

_FLOAT_PARAMS = (
    ("temperature", attr.REQUEST_TEMPERATURE),
    ("top_p", attr.REQUEST_TOP_P),
    ("frequency_penalty", attr.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", attr.REQUEST_PRESENCE_PENALTY),
)
_TEXT = "text/plain"
_JSON = "application/json"
# The SDK's markers for "argument not given" (openai.NOT_GIVEN, openai.omit).
_SENTINELS = frozenset({"NotGiven", "Omit"})


def truncate(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return ``text``, or its first ``max_chars`` characters and ``…[truncated N chars]``."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {len(text) - max_chars} chars]"


def to_json(value: Any) -> str:
    """Return ``value`` as JSON; SDK objects go through ``model_dump``, the rest through ``str``."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def request_attributes(
    operation: str, params: Mapping[str, Any], provider: str, *, max_chars: int = DEFAULT_MAX_CHARS
) -> dict[str, Any]:
    """Return the span attributes of a call's keyword arguments (``model``, ``messages``…).

    ``operation`` is the GenAI operation (``chat``, ``text_completion``, ``embeddings``);
    ``provider`` names who serves the endpoint (``openai``, ``vllm``, ``ollama``…). Chat
    messages become ``gen_ai.input.messages`` (JSON), an embeddings ``input`` or a
    completion ``prompt`` becomes ``input.value``; tools become ``gen_ai.tool.definitions``.
    Pass messages as a list: an iterator would be consumed here.
    """
    if not operation:
        raise InvalidInput("the GenAI operation name must not be empty")
    attrs: dict[str, Any] = {attr.OPERATION_NAME: operation, attr.PROVIDER_NAME: provider}
    if _given(params.get("model")):
        attrs[attr.REQUEST_MODEL] = str(params["model"])
    for key, name in _FLOAT_PARAMS:
        if _given(params.get(key)):
            attrs[name] = float(params[key])
    for key in ("max_tokens", "max_completion_tokens"):
        if _given(params.get(key)):
            attrs[attr.REQUEST_MAX_TOKENS] = int(params[key])
            break
    if _given(params.get("seed")):
        attrs[attr.REQUEST_SEED] = int(params["seed"])
    stop: Any = params.get("stop")
    if _given(stop):
        attrs[attr.REQUEST_STOP] = [stop] if isinstance(stop, str) else [str(s) for s in stop]
    if _given(params.get("messages")):
        attrs[attr.INPUT_MESSAGES] = truncate(to_json(params["messages"]), max_chars)
    for key in ("input", "prompt"):
        value = params.get(key)
        if _given(value):
            text = value if isinstance(value, str) else to_json(value)
            attrs[attr.INPUT_VALUE] = truncate(text, max_chars)
            attrs[attr.INPUT_MIME_TYPE] = _TEXT if isinstance(value, str) else _JSON
            break
    if _given(params.get("tools")):
        attrs[attr.TOOL_DEFINITIONS] = truncate(to_json(params["tools"]), max_chars)
    return attrs


def response_attributes(response: Any, *, max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, Any]:
    """Return the span attributes of a ``ChatCompletion`` (an SDK object or its JSON dict).

    Gives the response id and model, the finish reasons, ``gen_ai.output.messages`` (a JSON
    list of ``{role, content, tool_calls: [{id, name, arguments}], finish_reason}``),
    ``output.value`` (the first choice's text, or the JSON of its tool calls when it has no
    text) and the token usage, cached and reasoning tokens included when reported.
    """
    if not isinstance(response, Mapping) and not hasattr(response, "choices"):
        raise InvalidInput(f"expected a chat completion, got {type(response).__name__}")
    attrs: dict[str, Any] = {}
    if _field(response, "id"):
        attrs[attr.RESPONSE_ID] = str(_field(response, "id"))
    if _field(response, "model"):
        attrs[attr.RESPONSE_MODEL] = str(_field(response, "model"))
    choices = sorted(
        _field(response, "choices") or [], key=lambda choice: _field(choice, "index") or 0
    )
    messages = [_output_message(choice) for choice in choices]
    reasons = [m["finish_reason"] for m in messages if "finish_reason" in m]
    if reasons:
        attrs[attr.FINISH_REASONS] = reasons
    if messages:
        attrs[attr.OUTPUT_MESSAGES] = truncate(to_json(messages), max_chars)
        first = messages[0]
        if first.get("tool_calls") and not first["content"]:
            attrs[attr.OUTPUT_VALUE] = truncate(to_json(first["tool_calls"]), max_chars)
            attrs[attr.OUTPUT_MIME_TYPE] = _JSON
        elif first["content"] is not None:
            attrs[attr.OUTPUT_VALUE] = truncate(str(first["content"]), max_chars)
            attrs[attr.OUTPUT_MIME_TYPE] = _TEXT
    attrs.update(usage_attributes(_field(response, "usage")))
    return attrs


def embedding_response_attributes(response: Any) -> dict[str, Any]:
    """Return the span attributes of a ``CreateEmbeddingResponse``: model, tokens, vector count."""
    if not isinstance(response, Mapping) and not hasattr(response, "data"):
        raise InvalidInput(f"expected an embeddings response, got {type(response).__name__}")
    attrs: dict[str, Any] = {}
    if _field(response, "model"):
        attrs[attr.RESPONSE_MODEL] = str(_field(response, "model"))
    data = _field(response, "data")
    if data is not None:
        attrs[EMBEDDING_VECTOR_COUNT] = len(data)
    attrs.update(usage_attributes(_field(response, "usage")))
    return attrs


def usage_attributes(usage: Any) -> dict[str, Any]:
    """Return the token attributes of a ``usage`` block (empty when there is none)."""
    if usage is None:
        return {}
    found = {
        attr.USAGE_INPUT_TOKENS: _field(usage, "prompt_tokens"),
        attr.USAGE_OUTPUT_TOKENS: _field(usage, "completion_tokens"),
        attr.USAGE_CACHED_INPUT_TOKENS: _field(
            _field(usage, "prompt_tokens_details"), "cached_tokens"
        ),
        attr.USAGE_REASONING_TOKENS: _field(
            _field(usage, "completion_tokens_details"), "reasoning_tokens"
        ),
    }
    return {name: int(value) for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class StreamResult:
    """A streamed chat completion put back together (``text`` etc. are the first choice's).

    ``completion`` is the whole stream as a ``ChatCompletion``-shaped dict (every choice);
    ``tool_calls`` are ``{id, name, arguments}`` dicts with the argument fragments joined.
    """

    response_id: str | None
    model: str | None
    text: str | None
    tool_calls: list[dict[str, str]]
    finish_reason: str | None
    usage: dict[str, Any] | None
    time_to_first_token: float | None
    completion: dict[str, Any]
    max_chars: int = field(default=DEFAULT_MAX_CHARS, repr=False)

    def attributes(self) -> dict[str, Any]:
        """Return the span attributes: those of :func:`response_attributes` and the TTFT."""
        attrs = response_attributes(self.completion, max_chars=self.max_chars)
        if self.time_to_first_token is not None:
            attrs[attr.TIME_TO_FIRST_TOKEN_S] = self.time_to_first_token
        return attrs


@dataclass
class _ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _ChoiceParts:
    role: str = "assistant"
    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    tool_calls: dict[int, _ToolCallParts] = field(default_factory=dict)
    finish_reason: str | None = None


class StreamAccumulator:
    """Collects the chunks of a streamed chat completion; :meth:`result` reassembles them.

    ``started_at`` is the ``clock()`` reading when the request was sent (default: now);
    the time to first token is measured from it to the first chunk carrying content,
    a refusal, reasoning or a tool call (a role-only or empty chunk does not count).
    """

    def __init__(
        self,
        started_at: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self._clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.first_token_at: float | None = None
        self.max_chars = max_chars
        self._id: str | None = None
        self._model: str | None = None
        self._choices: dict[int, _ChoiceParts] = {}
        self._usage: Any = None

    def add(self, chunk: Any) -> None:
        """Take one ``ChatCompletionChunk`` (an SDK object or its JSON dict)."""
        if self._id is None and _field(chunk, "id"):
            self._id = str(_field(chunk, "id"))
        if self._model is None and _field(chunk, "model"):
            self._model = str(_field(chunk, "model"))
        if _field(chunk, "usage") is not None:
            self._usage = _field(chunk, "usage")
        token = False
        for position, choice in enumerate(_field(chunk, "choices") or []):
            index = _field(choice, "index")
            parts = self._choices.setdefault(
                position if index is None else int(index), _ChoiceParts()
            )
            token = self._add_delta(parts, _field(choice, "delta")) or token
            if _field(choice, "finish_reason"):
                parts.finish_reason = str(_field(choice, "finish_reason"))
        if token and self.first_token_at is None:
            self.first_token_at = self._clock()

    @staticmethod
    def _add_delta(parts: _ChoiceParts, delta: Any) -> bool:
        """Fold one delta into ``parts``; return whether it carried a token."""
        if delta is None:
            return False
        if _field(delta, "role"):
            parts.role = str(_field(delta, "role"))
        token = False
        for key, into in (("content", parts.text), ("refusal", parts.refusal)):
            if _field(delta, key):
                into.append(str(_field(delta, key)))
                token = True
        # vLLM, DeepSeek and others stream the reasoning in a field of their own.
        if _field(delta, "reasoning_content") or _field(delta, "reasoning"):
            token = True
        for position, call in enumerate(_field(delta, "tool_calls") or []):
            index = _field(call, "index")
            tool = parts.tool_calls.setdefault(
                position if index is None else int(index), _ToolCallParts()
            )
            if _field(call, "id") and not tool.id:
                tool.id = str(_field(call, "id"))
            function = _field(call, "function")
            if _field(function, "name") and not tool.name:
                tool.name = str(_field(function, "name"))
            if _field(function, "arguments"):
                tool.arguments.append(str(_field(function, "arguments")))
            token = True
        return token

    @property
    def time_to_first_token(self) -> float | None:
        """Return the seconds from ``started_at`` to the first token, ``None`` before it."""
        if self.first_token_at is None:
            return None
        return self.first_token_at - self.started_at

    def result(self) -> StreamResult:
        """Return the stream so far, put back together."""
        choices = [self._choice(index, parts) for index, parts in sorted(self._choices.items())]
        usage = None if self._usage is None else _plain(self._usage)
        completion: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "model": self._model,
            "choices": choices,
        }
        if usage is not None:
            completion["usage"] = usage
        first = choices[0] if choices else None
        message = first["message"] if first else {}
        calls = [
            {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in message.get("tool_calls", [])
        ]
        return StreamResult(
            response_id=self._id,
            model=self._model,
            text=message.get("content"),
            tool_calls=calls,
            finish_reason=first["finish_reason"] if first else None,
            usage=usage,
            time_to_first_token=self.time_to_first_token,
            completion=completion,
            max_chars=self.max_chars,
        )

    @staticmethod
    def _choice(index: int, parts: _ChoiceParts) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": parts.role,
            "content": "".join(parts.text) if parts.text else None,
        }
        if parts.refusal:
            message["refusal"] = "".join(parts.refusal)
        if parts.tool_calls:
            message["tool_calls"] = [
                {
                    "id": tool.id,
                    "type": "function",
                    "function": {"name": tool.name, "arguments": "".join(tool.arguments)},
                }
                for _, tool in sorted(parts.tool_calls.items())
            ]
        return {"index": index, "message": message, "finish_reason": parts.finish_reason}


# -- reading SDK objects and dicts alike ---------------------------------------------------
def _field(obj: Any, name: str) -> Any:
    """Return ``obj[name]`` of a mapping or ``obj.name`` of an object; ``None`` if absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _given(value: Any) -> bool:
    """Tell whether a call argument was given (not ``None``, ``NOT_GIVEN`` or ``omit``)."""
    return value is not None and type(value).__name__ not in _SENTINELS


def _plain(value: Any) -> Any:
    """Return a mapping or SDK object as a plain dict (other values unchanged)."""
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json", exclude_none=True)
        except TypeError:
            return dump()
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Iterable) and not isinstance(value, str):
        return list(value)  # sets, dict views; a tuple is already a JSON list
    return str(value)


def _output_message(choice: Any) -> dict[str, Any]:
    """Return one choice as ``{role, content, tool_calls, refusal, finish_reason}``."""
    message = _field(choice, "message")
    content = _field(message, "content") if message is not None else _field(choice, "text")
    out: dict[str, Any] = {"role": str(_field(message, "role") or "assistant"), "content": content}
    calls = [_tool_call(call) for call in _field(message, "tool_calls") or []]
    if calls:
        out["tool_calls"] = calls
    if _field(message, "refusal"):
        out["refusal"] = str(_field(message, "refusal"))
    if _field(choice, "finish_reason"):
        out["finish_reason"] = str(_field(choice, "finish_reason"))
    return out


def _tool_call(call: Any) -> dict[str, Any]:
    """Return a function (or custom) tool call as ``{id, name, arguments}``."""
    custom = _field(call, "custom")
    if custom is not None:
        return {
            "id": _field(call, "id"),
            "name": _field(custom, "name"),
            "arguments": _field(custom, "input"),
        }
    function = _field(call, "function")
    return {
        "id": _field(call, "id"),
        "name": _field(function, "name"),
        "arguments": _field(function, "arguments"),
    }
