"""Span attributes of OpenAI-SDK calls, from real responses of the local test server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from openai_server import OpenAIServer
from windlass.exceptions import InvalidInput
from windlass.genai.tracing import attributes as attr
from windlass.genai.tracing.openai_calls import (
    EMBEDDING_VECTOR_COUNT,
    StreamAccumulator,
    embedding_response_attributes,
    request_attributes,
    response_attributes,
    truncate,
    usage_attributes,
)
from windlass_testing import run_fresh

KEY = "sk-calls"
DELAY = 0.15
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(
        api_key=KEY, cached_tokens=3, first_token_delay=DELAY, argument_fragment=4
    ) as srv:
        yield srv


@pytest.fixture
def client(server: OpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": text}]


def without(attrs: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in names}


# -- requests ------------------------------------------------------------------------------
def test_request_attributes_of_a_chat_call() -> None:
    params = {
        "model": "gpt-4o-mini",
        "messages": messages("Hi ✓"),
        "temperature": 0,
        "top_p": 0.9,
        "max_tokens": 64,
        "seed": 7,
        "stop": ["\n\n", "END"],
        "frequency_penalty": 0.5,
        "presence_penalty": -0.25,
        "tools": TOOLS,
        "stream": True,
    }
    assert request_attributes("chat", params, "openai") == {
        attr.OPERATION_NAME: "chat",
        attr.PROVIDER_NAME: "openai",
        attr.REQUEST_MODEL: "gpt-4o-mini",
        attr.REQUEST_TEMPERATURE: 0.0,
        attr.REQUEST_TOP_P: 0.9,
        attr.REQUEST_FREQUENCY_PENALTY: 0.5,
        attr.REQUEST_PRESENCE_PENALTY: -0.25,
        attr.REQUEST_MAX_TOKENS: 64,
        attr.REQUEST_SEED: 7,
        attr.REQUEST_STOP: ["\n\n", "END"],
        attr.INPUT_MESSAGES: dumps(messages("Hi ✓")),
        attr.TOOL_DEFINITIONS: dumps(TOOLS),
    }
    assert isinstance(request_attributes("chat", params, "openai")[attr.REQUEST_TEMPERATURE], float)


def test_request_attributes_skip_what_was_not_given() -> None:
    params = {
        "model": "gpt-4o-mini",
        "messages": messages("x"),
        "temperature": openai.NOT_GIVEN,
        "top_p": openai.omit,
        "seed": None,
        "max_completion_tokens": 12,
        "stop": "END",
    }
    assert request_attributes("chat", params, "vllm") == {
        attr.OPERATION_NAME: "chat",
        attr.PROVIDER_NAME: "vllm",
        attr.REQUEST_MODEL: "gpt-4o-mini",
        attr.REQUEST_MAX_TOKENS: 12,
        attr.REQUEST_STOP: ["END"],
        attr.INPUT_MESSAGES: dumps(messages("x")),
    }


def test_request_attributes_of_embeddings() -> None:
    assert request_attributes("embeddings", {"model": "e", "input": "some text"}, "openai") == {
        attr.OPERATION_NAME: "embeddings",
        attr.PROVIDER_NAME: "openai",
        attr.REQUEST_MODEL: "e",
        attr.INPUT_VALUE: "some text",
        attr.INPUT_MIME_TYPE: "text/plain",
    }
    many = request_attributes("embeddings", {"model": "e", "input": ["a", "b"]}, "openai")
    assert (many[attr.INPUT_VALUE], many[attr.INPUT_MIME_TYPE]) == (
        '["a", "b"]',
        "application/json",
    )


def test_sdk_objects_in_the_messages_are_serialized(client: openai.OpenAI) -> None:
    tool_reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages('call:get_weather {"city": "Oslo"}'), tools=TOOLS
    )
    history = [
        *messages("weather?"),
        tool_reply.choices[0].message,
        {"role": "tool", "tool_call_id": "call_0001_0", "content": "sunny"},
    ]
    attrs = request_attributes("chat", {"model": "gpt-4o-mini", "messages": history}, "openai")
    assert json.loads(attrs[attr.INPUT_MESSAGES])[2] == {
        "role": "assistant",
        "annotations": [],
        "tool_calls": [
            {
                "id": "call_0001_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }


def test_an_empty_operation_is_refused() -> None:
    with pytest.raises(InvalidInput):
        request_attributes("", {}, "openai")


# -- responses -----------------------------------------------------------------------------
def test_response_attributes_of_a_real_completion(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="o3-mini", messages=messages("hello world"))
    # prompt: 3 + 2 words; completion: "echo: hello world" (3) + 7 reasoning tokens.
    assert response_attributes(reply) == {
        attr.RESPONSE_ID: "chatcmpl-test0001",
        attr.RESPONSE_MODEL: "o3-mini",
        attr.FINISH_REASONS: ["stop"],
        attr.OUTPUT_MESSAGES: dumps(
            [{"role": "assistant", "content": "echo: hello world", "finish_reason": "stop"}]
        ),
        attr.OUTPUT_VALUE: "echo: hello world",
        attr.OUTPUT_MIME_TYPE: "text/plain",
        attr.USAGE_INPUT_TOKENS: 5,
        attr.USAGE_OUTPUT_TOKENS: 10,
        attr.USAGE_CACHED_INPUT_TOKENS: 3,
        attr.USAGE_REASONING_TOKENS: 7,
    }


def test_sdk_object_dump_and_raw_json_give_the_same_attributes(
    server: OpenAIServer, client: openai.OpenAI
) -> None:
    server.add_reply("same")
    server.add_reply("same")
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages("q"))
    raw = httpx.post(
        f"{server.base_url}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": messages("q")},
        headers={"authorization": f"Bearer {KEY}"},
    ).json()
    from_object = response_attributes(reply)
    assert response_attributes(reply.model_dump()) == from_object
    assert without(response_attributes(raw), attr.RESPONSE_ID) == without(
        from_object, attr.RESPONSE_ID
    )


def test_response_attributes_of_tool_calls(client: openai.OpenAI) -> None:
    prompt = 'call:get_weather {"city": "Paris"}\ncall:get_weather {"city": "Rome"}'
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages(prompt), tools=TOOLS
    )
    calls = [
        {"id": "call_0001_0", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"id": "call_0001_1", "name": "get_weather", "arguments": '{"city": "Rome"}'},
    ]
    assert response_attributes(reply) == {
        attr.RESPONSE_ID: "chatcmpl-test0001",
        attr.RESPONSE_MODEL: "gpt-4o-mini",
        attr.FINISH_REASONS: ["tool_calls"],
        attr.OUTPUT_MESSAGES: dumps(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": calls,
                    "finish_reason": "tool_calls",
                }
            ]
        ),
        attr.OUTPUT_VALUE: dumps(calls),
        attr.OUTPUT_MIME_TYPE: "application/json",
        attr.USAGE_INPUT_TOKENS: 3 + 6,  # system words + the two "call:" lines
        attr.USAGE_OUTPUT_TOKENS: 2 * (1 + 2),  # per call: 1 + the words of its arguments
        attr.USAGE_CACHED_INPUT_TOKENS: 3,
        attr.USAGE_REASONING_TOKENS: 0,
    }


def test_missing_usage_and_details_leave_the_keys_out() -> None:
    base = {
        "id": "r1",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
    }
    assert not {
        k for k in response_attributes(base) if k.startswith(("gen_ai.usage", "windlass.usage"))
    }
    bare = response_attributes(
        {**base, "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}}
    )
    assert (bare[attr.USAGE_INPUT_TOKENS], bare[attr.USAGE_OUTPUT_TOKENS]) == (4, 1)
    assert attr.USAGE_CACHED_INPUT_TOKENS not in bare
    assert attr.USAGE_REASONING_TOKENS not in bare
    assert usage_attributes(
        {
            "prompt_tokens": 4,
            "completion_tokens": 1,
            "prompt_tokens_details": None,
            "completion_tokens_details": {"reasoning_tokens": None},
        }
    ) == {attr.USAGE_INPUT_TOKENS: 4, attr.USAGE_OUTPUT_TOKENS: 1}
    assert usage_attributes(None) == {}


def test_something_else_is_not_a_response() -> None:
    with pytest.raises(InvalidInput):
        response_attributes("not a completion")
    with pytest.raises(InvalidInput):
        embedding_response_attributes(42)


def test_embedding_response_attributes(client: openai.OpenAI) -> None:
    reply = client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    expected = {
        attr.RESPONSE_MODEL: "text-embedding-3-small",
        EMBEDDING_VECTOR_COUNT: 2,
        attr.USAGE_INPUT_TOKENS: 3,
    }
    assert embedding_response_attributes(reply) == expected
    assert embedding_response_attributes(reply.model_dump()) == expected


# -- streams -------------------------------------------------------------------------------
def test_a_stream_gives_the_attributes_of_the_same_reply_unstreamed(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="o3-mini", messages=messages("a b c"))
    started = time.monotonic()
    stream = client.chat.completions.create(
        model="o3-mini",
        messages=messages("a b c"),
        stream=True,
        stream_options={"include_usage": True},
    )
    accumulator = StreamAccumulator(started)
    for chunk in stream:
        accumulator.add(chunk)
    result = accumulator.result()
    assert result.text == "echo: a b c" == plain.choices[0].message.content
    assert (result.response_id, result.model, result.finish_reason) == (
        "chatcmpl-test0002",
        "o3-mini",
        "stop",
    )
    assert result.tool_calls == []
    assert result.usage is not None and plain.usage is not None
    assert result.usage == plain.usage.model_dump()
    assert result.time_to_first_token is not None and result.time_to_first_token >= DELAY
    attrs = result.attributes()
    assert attrs[attr.TIME_TO_FIRST_TOKEN_S] == result.time_to_first_token
    assert attrs[attr.RESPONSE_ID] == "chatcmpl-test0002"
    assert without(attrs, attr.TIME_TO_FIRST_TOKEN_S, attr.RESPONSE_ID) == without(
        response_attributes(plain), attr.RESPONSE_ID
    )
    assert attrs[attr.USAGE_REASONING_TOKENS] == 7
    assert attrs[attr.USAGE_CACHED_INPUT_TOKENS] == 3


def test_streamed_tool_call_arguments_are_reassembled(client: openai.OpenAI) -> None:
    prompt = (
        'call:get_weather {"city": "Paris", "unit": "celsius"}\n'
        'call:get_weather {"city": "Reykjavík"}'
    )
    sent = time.monotonic()  # time to first token counts from the request being sent
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages(prompt),
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    accumulator = StreamAccumulator(sent)
    fragments = 0
    for chunk in stream:
        fragments += sum(1 for c in chunk.choices for t in c.delta.tool_calls or [] if t.id is None)
        accumulator.add(chunk)
    result = accumulator.result()
    assert fragments > 10  # the arguments really came in pieces
    calls = [
        {
            "id": "call_0001_0",
            "name": "get_weather",
            "arguments": '{"city": "Paris", "unit": "celsius"}',
        },
        {"id": "call_0001_1", "name": "get_weather", "arguments": '{"city": "Reykjavík"}'},
    ]
    assert result.tool_calls == calls
    assert (result.text, result.finish_reason) == (None, "tool_calls")
    attrs = result.attributes()
    assert attrs[attr.OUTPUT_VALUE] == dumps(calls)
    assert attrs[attr.OUTPUT_MESSAGES] == dumps(
        [{"role": "assistant", "content": None, "tool_calls": calls, "finish_reason": "tool_calls"}]
    )
    assert attrs[attr.FINISH_REASONS] == ["tool_calls"]
    assert (attrs[attr.USAGE_INPUT_TOKENS], attrs[attr.USAGE_OUTPUT_TOKENS]) == (
        3 + 8,
        (1 + 4) + (1 + 2),
    )
    assert attrs[attr.TIME_TO_FIRST_TOKEN_S] >= DELAY


def test_a_stream_without_usage_has_no_token_attributes(client: openai.OpenAI) -> None:
    accumulator = StreamAccumulator()
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini", messages=messages("x"), stream=True
    ):
        accumulator.add(chunk)
    result = accumulator.result()
    assert result.usage is None
    assert not [k for k in result.attributes() if "usage" in k]


def test_time_to_first_token_ignores_role_and_empty_chunks() -> None:
    readings = iter([10.0, 10.5, 11.25, 99.0])
    accumulator = StreamAccumulator(clock=lambda: next(readings))  # starts at 10.0
    role = {
        "id": "c1",
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        ],
    }
    accumulator.add(role)
    assert accumulator.time_to_first_token is None
    accumulator.add({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}}]})
    assert accumulator.time_to_first_token is None
    accumulator.add(
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    )  # the clock reads 10.5 here
    accumulator.add(
        {
            "id": "c1",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "stop"}],
        }
    )
    result = accumulator.result()
    assert result.time_to_first_token == 0.5
    assert (result.text, result.finish_reason) == ("Hi!", "stop")


def test_interleaved_tool_call_fragments_are_joined_per_index() -> None:
    def delta(**fields: Any) -> dict[str, Any]:
        return {"id": "c2", "model": "m", "choices": [{"index": 0, "delta": fields}]}

    accumulator = StreamAccumulator(started_at=0.0, clock=lambda: 2.0)
    accumulator.add(
        delta(
            tool_calls=[
                {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}},
                {"index": 1, "id": "b", "function": {"name": "g", "arguments": "[1"}},
            ]
        )
    )
    accumulator.add(delta(tool_calls=[{"index": 1, "function": {"arguments": ", 2"}}]))
    accumulator.add(delta(tool_calls=[{"index": 0, "function": {"arguments": '{"x"'}}]))
    accumulator.add(
        delta(
            tool_calls=[
                {"index": 1, "function": {"arguments": "]"}},
                {"index": 0, "function": {"arguments": ": 1}"}},
            ]
        )
    )
    result = accumulator.result()
    assert result.tool_calls == [
        {"id": "a", "name": "f", "arguments": '{"x": 1}'},
        {"id": "b", "name": "g", "arguments": "[1, 2]"},
    ]
    assert result.time_to_first_token == 2.0
    assert result.finish_reason is None


# -- caps ----------------------------------------------------------------------------------
def test_truncate_marks_what_it_cut() -> None:
    assert truncate("abcdef", 10) == "abcdef"
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefgh", 3) == "abc…[truncated 5 chars]"


def test_large_inputs_and_outputs_are_truncated(
    server: OpenAIServer, client: openai.OpenAI
) -> None:
    long_reply = "word " * 40  # 200 characters
    server.add_reply(long_reply)
    server.add_reply(long_reply)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages("q"))
    attrs = response_attributes(reply, max_chars=50)
    assert attrs[attr.OUTPUT_VALUE] == long_reply[:50] + "…[truncated 150 chars]"
    full_messages = dumps([{"role": "assistant", "content": long_reply, "finish_reason": "stop"}])
    assert (
        attrs[attr.OUTPUT_MESSAGES]
        == full_messages[:50] + f"…[truncated {len(full_messages) - 50} chars]"
    )
    assert response_attributes(reply)[attr.OUTPUT_VALUE] == long_reply  # default cap: 32,000

    accumulator = StreamAccumulator(max_chars=50)
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini", messages=messages("q"), stream=True
    ):
        accumulator.add(chunk)
    result = accumulator.result()
    assert result.text == long_reply  # the result keeps everything; only attributes are cut
    assert result.attributes()[attr.OUTPUT_VALUE] == attrs[attr.OUTPUT_VALUE]

    big = messages("x" * 100)
    request = request_attributes(
        "chat", {"model": "m", "messages": big, "input": "y" * 60}, "openai", max_chars=40
    )
    assert (
        request[attr.INPUT_MESSAGES]
        == dumps(big)[:40] + f"…[truncated {len(dumps(big)) - 40} chars]"
    )
    assert request[attr.INPUT_VALUE] == "y" * 40 + "…[truncated 20 chars]"


def test_importing_the_module_does_not_import_openai() -> None:
    run_fresh(
        "import sys, windlass.genai.tracing.openai_calls\n"
        "assert 'openai' not in sys.modules, 'openai was imported'"
    )
