"""The local OpenAI-compatible test server, driven by the real ``openai`` client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from openai_server import CREATED, OpenAIServer, embedding_for

KEY = "sk-test-key"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(
        api_key=KEY, cached_tokens=2, model_aliases={"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
    ) as srv:
        yield srv


@pytest.fixture
def client(server: OpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def test_chat_echoes_the_last_user_message(server: OpenAIServer, client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=user("hello there"))
    assert reply.id == "chatcmpl-test0001"
    assert reply.object == "chat.completion"
    assert reply.created == CREATED
    assert reply.model == "gpt-4o-mini-2024-07-18"
    choice = reply.choices[0]
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert choice.message.role == "assistant"
    assert choice.message.content == "echo: hello there"
    assert choice.message.tool_calls is None
    usage = reply.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (4, 3, 7)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 2
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_requests_are_recorded_with_path_headers_and_body(
    server: OpenAIServer, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"), temperature=0.5)
    received = server.requests[-1]
    assert (received.method, received.path) == ("POST", "/v1/chat/completions")
    assert received.headers["authorization"] == f"Bearer {KEY}"
    assert received.json == {"model": "gpt-4o-mini", "messages": user("hi"), "temperature": 0.5}


def test_reasoning_models_report_reasoning_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="o3-mini", messages=user("think"))
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 7
    assert reply.usage.completion_tokens == 2 + 7  # "echo: think" plus the reasoning


def test_scripted_replies_come_first_in_order(server: OpenAIServer, client: openai.OpenAI) -> None:
    server.add_reply("first answer")
    server.add_reply("cut short", finish_reason="length")
    answers = [
        client.chat.completions.create(model="gpt-4o-mini", messages=user("q")).choices[0]
        for _ in range(3)
    ]
    assert [(a.message.content, a.finish_reason) for a in answers] == [
        ("first answer", "stop"),
        ("cut short", "length"),
        ("echo: q", "stop"),
    ]


def test_max_tokens_cuts_the_reply(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=user("a b c d e"), max_completion_tokens=3
    )
    assert reply.choices[0].message.content == "echo: a b"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3


def test_tool_calls_when_tools_are_offered(client: openai.OpenAI) -> None:
    prompt = 'call:get_weather {"city": "Paris"}\ncall:get_weather {"city": "Oslo"}'
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=user(prompt), tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [(c.id, c.type, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_0001_0", "function", "get_weather", {"city": "Paris"}),
        ("call_0001_1", "function", "get_weather", {"city": "Oslo"}),
    ]


def test_no_tool_call_without_tools(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=user('call:get_weather {"city": "Paris"}')
    )
    assert reply.choices[0].message.content == 'echo: call:get_weather {"city": "Paris"}'


def test_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=user("one two three"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert {c.id for c in chunks} == {"chatcmpl-test0001"}
    assert {c.model for c in chunks} == {"gpt-4o-mini-2024-07-18"}
    assert all(c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (5, 4)
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 2


def test_stream_without_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=user("x"), stream=True)
    )
    assert all(c.choices and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streamed_tool_calls_come_as_openai_deltas(client: openai.OpenAI) -> None:
    prompt = 'call:get_weather {"city": "Paris"}\ncall:get_time {"zone": "UTC"}'
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=user(prompt), tools=TOOLS, stream=True
    )
    deltas = [
        (d, c.choices[0].finish_reason)
        for c in stream
        for d in (c.choices[0].delta.tool_calls or [None])
    ]
    calls = [d for d, _ in deltas if d is not None]
    firsts = [d for d in calls if d.id is not None]
    assert [(d.index, d.id, d.type, d.function.name, d.function.arguments) for d in firsts] == [
        (0, "call_0001_0", "function", "get_weather", ""),
        (1, "call_0001_1", "function", "get_time", ""),
    ]
    fragments = [d for d in calls if d.id is None]
    assert all(d.function is not None and d.function.name is None for d in fragments)
    assert all(len(d.function.arguments or "") <= 5 for d in fragments)
    joined = {
        i: "".join(d.function.arguments or "" for d in fragments if d.index == i) for i in (0, 1)
    }
    assert joined == {0: '{"city": "Paris"}', 1: '{"zone": "UTC"}'}
    assert deltas[-1][1] == "tool_calls"


def test_first_token_waits_for_the_configured_delay() -> None:
    with OpenAIServer(first_token_delay=0.2) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="any", max_retries=0)
        # Measured from the request: when the client reads the role chunk is up to it.
        sent_at = time.monotonic()
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=user("x"), stream=True
        )
        arrivals = [(time.monotonic(), c.choices[0].delta.content) for c in stream]
    assert arrivals[0][1] == ""  # the role chunk is not held back
    first_content_at = next(t for t, content in arrivals if content)
    assert first_content_at - sent_at >= 0.2


def test_embeddings_are_deterministic(server: OpenAIServer, client: openai.OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise; both encodings give the same vectors.
    packed = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    floats = client.embeddings.create(
        model="text-embedding-3-small", input="a b", encoding_format="float"
    )
    assert server.requests[0].json["encoding_format"] == "base64"
    assert [e.embedding for e in packed.data] == [embedding_for("a b", 8), embedding_for("c", 8)]
    assert [e.index for e in packed.data] == [0, 1]
    assert floats.data[0].embedding == embedding_for("a b", 8)
    assert (packed.usage.prompt_tokens, packed.usage.total_tokens) == (3, 3)
    assert packed.model == "text-embedding-3-small"
    wide = client.embeddings.create(model="text-embedding-3-small", input="z", dimensions=40)
    assert wide.data[0].embedding == embedding_for("z", 40)


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [
        "gpt-4o-mini",
        "o3-mini",
        "text-embedding-3-small",
    ]


def test_error_models_map_to_sdk_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as server_error:
        client.chat.completions.create(model="error-500", messages=user("x"))
    assert isinstance(server_error.value, openai.APIStatusError)
    assert server_error.value.status_code == 500
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="error-429", messages=user("x"))
    assert limited.value.status_code == 429
    assert limited.value.code == "rate_limit_exceeded"
    assert limited.value.body == {
        "message": "Scripted error 429 for this model.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="error-400", input="x")


def test_the_sdk_retries_are_visible_in_the_record(server: OpenAIServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=2)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="error-429", messages=user("x"))
    assert len(server.requests) == 3


def test_a_wrong_or_missing_key_is_refused(server: OpenAIServer) -> None:
    wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.chat.completions.create(model="gpt-4o-mini", messages=user("x"))
    assert refused.value.status_code == 401
    assert server.requests[-1].headers["authorization"] == "Bearer sk-wrong"
    assert httpx.get(f"{server.base_url}/models").status_code == 401


def test_bad_requests_get_openai_error_bodies(server: OpenAIServer) -> None:
    headers = {"authorization": f"Bearer {KEY}"}
    missing = httpx.post(
        f"{server.base_url}/chat/completions", json={"model": "m"}, headers=headers
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "invalid_request_error"
    no_model = httpx.post(f"{server.base_url}/embeddings", json={"input": "x"}, headers=headers)
    assert no_model.status_code == 400


def test_the_async_client_streams_too(server: OpenAIServer) -> None:
    async def collect() -> str:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        async with client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=user("async hello"), stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(collect()) == "echo: async hello"


def test_the_server_stops_and_frees_its_port() -> None:
    server = OpenAIServer().start()
    url = server.base_url
    assert httpx.get(f"{url}/models").status_code == 200
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models")
