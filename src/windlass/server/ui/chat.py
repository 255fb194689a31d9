"""LLM messages of spans as chat: who said what, which tools were called, what they gave.

A span's ``input`` and ``output`` are text: a plain string, or JSON in one of the shapes
instrumentations send — a list of ``{role, content, tool_calls}`` messages (OpenAI's,
OpenInference's rebuilt lists), ``{"messages": [...]}``, or the OpenTelemetry GenAI
``{role, parts: [{type: text|tool_call|tool_call_response, ...}]}``. :func:`messages`
reads them all into :class:`Message`; anything else is one message holding the text. The
templates print every field escaped (message text is user input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from windlass.entities import Span, SpanKind

#: Messages kept from one input or output (the last ones), and characters per text.
MAX_MESSAGES = 50
MAX_TEXT = 20_000


@dataclass(frozen=True)
class ToolCall:
    """A tool the model asked for: its name and arguments (text)."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    """One chat message: a role, its text and the tool calls it made."""

    role: str
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass(frozen=True)
class ToolStep:
    """A tool span of a trace: the tool's name, what it was given and what it returned."""

    name: str
    arguments: str
    result: str
    error: bool = False


@dataclass
class Turn:
    """One trace as a conversation turn: the new input messages, tool steps, the answer."""

    asked: list[Message] = field(default_factory=list)
    tools: list[ToolStep] = field(default_factory=list)
    answered: list[Message] = field(default_factory=list)


def _text(value: Any) -> str:
    """Return a content value as text: strings as they are, parts joined, JSON otherwise."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, list):
        texts = [
            str(part.get("text") or part.get("content") or "")
            if isinstance(part, dict)
            else str(part)
            for part in value
        ]
        return "\n".join(t for t in texts if t)[:MAX_TEXT]
    return orjson.dumps(value).decode()[:MAX_TEXT]


def _arguments(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else _text(value)


def _call(raw: Any) -> ToolCall:
    if not isinstance(raw, dict):
        return ToolCall("tool", _text(raw))
    nested = raw.get("function")
    function: dict[str, Any] = nested if isinstance(nested, dict) else raw
    return ToolCall(str(function.get("name") or "tool"), _arguments(function.get("arguments")))


def _message(raw: dict[str, Any], role: str) -> Message:
    role = str(raw.get("role") or role)
    calls = [_call(c) for c in raw.get("tool_calls") or [] if c]
    parts = raw.get("parts")
    if isinstance(parts, list):
        texts: list[str] = []
        for part in parts:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "tool_call":
                calls.append(
                    ToolCall(str(part.get("name") or "tool"), _arguments(part.get("arguments")))
                )
            elif kind == "tool_call_response":
                texts.append(_text(part.get("response") or part.get("result")))
            else:
                texts.append(_text(part.get("content") or part.get("text")))
        return Message(role, "\n".join(t for t in texts if t)[:MAX_TEXT], calls)
    return Message(role, _text(raw.get("content") if "content" in raw else raw.get("text")), calls)


def messages(text: str | None, role: str = "user") -> list[Message]:
    """Return the chat messages a span's input or output holds (``role`` when it names none)."""
    if not text:
        return []
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return [Message(role, text[:MAX_TEXT])]
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, dict) and ("role" in value or "parts" in value):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        if all("role" in v or "parts" in v for v in value):
            return [_message(v, role) for v in value[-MAX_MESSAGES:]]
        if all("name" in v or "function" in v for v in value):  # a bare list of tool calls
            return [Message("assistant", "", [_call(v) for v in value[:MAX_MESSAGES]])]
    return [Message(role, text[:MAX_TEXT])]


def new_messages(found: list[Message]) -> list[Message]:
    """Return the messages from the last user message on (what this turn added)."""
    for at in range(len(found) - 1, -1, -1):
        if found[at].role == "user":
            return found[at:]
    return found


def turn_of(spans: list[Span]) -> Turn:
    """Return a trace (its spans in start order) as one conversation turn."""
    if not spans:
        return Turn()
    root = next((s for s in spans if s.parent_span_id is None), spans[0])
    llm = [s for s in spans if s.kind is SpanKind.LLM]
    asked = messages(root.input) if root.input else messages(llm[0].input if llm else None)
    answer_text = root.output if root.output else (llm[-1].output if llm else None)
    tools = [
        ToolStep(
            s.name, (s.input or "")[:MAX_TEXT], (s.output or "")[:MAX_TEXT], s.status == "error"
        )
        for s in spans
        if s.kind is SpanKind.TOOL
    ]
    return Turn(new_messages(asked), tools, messages(answer_text, "assistant"))
