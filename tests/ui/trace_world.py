"""Traces for the UI tests: a two-turn chat session with a tool call, an error, the XSS corpus.

Posted through the REST API's ingest route of a served site (what an SDK would send), so
the pages read them back through the same store.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
from ui_world import XSS

#: Nanoseconds of the world's first trace start (2026-01-02, UTC).
T0 = 1_767_312_000_000_000_000
MS = 1_000_000


def hex_id(size: int) -> str:
    """Return a random lowercase hex id of ``size`` characters."""
    return secrets.token_hex(size // 2)


def span(trace_id: str, name: str, start_ms: float, end_ms: float, **fields: Any) -> dict[str, Any]:
    """Return one span's ingest body (times in ms after :data:`T0`)."""
    return {
        "trace_id": trace_id,
        "span_id": fields.pop("span_id", None) or hex_id(16),
        "name": name,
        "start_time_ns": T0 + int(start_ms * MS),
        "end_time_ns": T0 + int(end_ms * MS),
        **fields,
    }


def chat_turn(
    trace_id: str, at_ms: float, question: str, answer: str, **common: Any
) -> list[dict[str, Any]]:
    """Return one agent turn's spans: root, an LLM asking for a tool, the tool, the answer."""
    root = hex_id(16)
    history = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": question},
    ]
    call = [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        }
    ]
    return [
        span(
            trace_id,
            "agent turn",
            at_ms,
            at_ms + 900,
            span_id=root,
            kind="agent",
            input=json.dumps(history),
            output=answer,
            status="ok",
            **common,
        ),
        span(
            trace_id,
            "chat gpt-4o",
            at_ms + 10,
            at_ms + 300,
            parent_span_id=root,
            kind="llm",
            model="gpt-4o",
            input=json.dumps(history),
            output=json.dumps([{"role": "assistant", "content": "", "tool_calls": call}]),
            input_tokens=120,
            output_tokens=20,
            cost=0.0012,
            prompt_name="greeter",
            prompt_version=2,
            attributes={"gen_ai.request.temperature": 0.2},
            **common,
        ),
        span(
            trace_id,
            "get_weather",
            at_ms + 310,
            at_ms + 500,
            parent_span_id=root,
            kind="tool",
            input='{"city": "Oslo"}',
            output='{"temp_c": -3}',
            **common,
        ),
        span(
            trace_id,
            "chat gpt-4o",
            at_ms + 510,
            at_ms + 890,
            parent_span_id=root,
            kind="llm",
            model="gpt-4o",
            input=json.dumps([*history, {"role": "tool", "content": '{"temp_c": -3}'}]),
            output=json.dumps([{"role": "assistant", "content": answer}]),
            input_tokens=150,
            output_tokens=30,
            cost=0.0015,
            prompt_name="greeter",
            prompt_version=2,
            **common,
        ),
    ]


def trace_spans() -> dict[str, list[dict[str, Any]]]:
    """Return the world's traces by name: ``turn1``, ``turn2``, ``failed``, ``xss``."""
    ids = {name: hex_id(32) for name in ("turn1", "turn2", "failed", "xss")}
    session = {"session_id": "s-1", "user_id": "ana"}
    xss_attributes = {text: text for text in XSS}
    xss_attributes["note"] = XSS[1]
    return {
        "turn1": chat_turn(ids["turn1"], 0, "Weather in Oslo?", "It is -3 °C in Oslo.", **session),
        "turn2": chat_turn(ids["turn2"], 5000, "And tomorrow?", "Colder: -6 °C.", **session),
        "failed": [
            span(
                ids["failed"],
                "summarize",
                10_000,
                10_400,
                kind="llm",
                model="claude-sonnet",
                status="error",
                status_message="rate limited",
                input="Summarize this.",
                input_tokens=40,
                output_tokens=0,
                cost=0.0004,
                prompt_name="summary",
                prompt_version=1,
                user_id="bo",
            )
        ],
        "xss": [
            span(
                ids["xss"],
                XSS[0],
                20_000,
                20_100,
                kind="llm",
                model=XSS[2],
                attributes=xss_attributes,
                session_id=XSS[1],
                user_id=XSS[3],
                input=json.dumps(
                    [{"role": "user", "content": XSS[0]}, {"role": XSS[1], "content": XSS[1]}]
                ),
                output=json.dumps(
                    [
                        {
                            "role": "assistant",
                            "content": XSS[1],
                            "tool_calls": [{"function": {"name": XSS[0], "arguments": XSS[1]}}],
                        }
                    ]
                ),
                input_tokens=5,
                output_tokens=5,
                cost=0.0001,
                prompt_name=XSS[0],
                prompt_version=1,
            )
        ],
    }


def post_traces(url: str, project: str, token: str | None = None) -> dict[str, str]:
    """Ingest the world's traces into ``project`` of the site at ``url``; return their ids."""
    made = trace_spans()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = {"spans": [s for spans in made.values() for s in spans]}
    answer = httpx.post(
        f"{url}/api/v1/projects/{project}/spans", json=body, headers=headers, timeout=30
    )
    answer.raise_for_status()
    return {name: spans[0]["trace_id"] for name, spans in made.items()}


def big_trace(trace_id: str, count: int) -> list[dict[str, Any]]:
    """Return a trace of ``count`` spans: a root, 50 agents, and LLM and tool calls under them."""
    root = hex_id(16)
    spans = [span(trace_id, "pipeline", 0, count * 2.0, span_id=root, kind="chain")]
    agents = [hex_id(16) for _ in range(50)]
    for i, agent in enumerate(agents):
        spans.append(
            span(
                trace_id,
                f"agent {i}",
                i * 40,
                i * 40 + 38,
                span_id=agent,
                parent_span_id=root,
                kind="agent",
            )
        )
    for i in range(count - len(spans)):
        parent = agents[i % len(agents)]
        kind = "llm" if i % 3 else "tool"
        begin = (i % len(agents)) * 40 + (i // len(agents)) * 0.3
        spans.append(
            span(
                trace_id,
                f"{kind} call {i}",
                begin,
                begin + 0.25,
                parent_span_id=parent,
                kind=kind,
                model="gpt-4o" if kind == "llm" else None,
                input_tokens=10,
                output_tokens=5,
                attributes={"i": i},
            )
        )
    return spans


def post_big_trace(url: str, project: str, count: int, token: str | None = None) -> str:
    """Ingest one trace of ``count`` spans (in batches) and return its id."""
    trace_id = hex_id(32)
    spans = big_trace(trace_id, count)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=60, headers=headers) as client:
        for start in range(0, len(spans), 1000):
            answer = client.post(
                f"{url}/api/v1/projects/{project}/spans",
                json={"spans": spans[start : start + 1000]},
            )
            answer.raise_for_status()
    return trace_id


_posted: dict[str, dict[str, str]] = {}


def traced(url: str, project: str = "demo", token: str | None = None) -> dict[str, str]:
    """Return the world's trace ids in the site at ``url``, posting them on first call."""
    if url not in _posted:
        _posted[url] = post_traces(url, project, token)
    return _posted[url]
