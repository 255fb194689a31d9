"""The prompt registry domain and SDK: versions, aliases, diffs, prompt files, runs, spans.

Concurrency runs on SQLite and PostgreSQL; runs call a real local OpenAI-compatible server
and the spans they make are read back from the store.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from openai_server import OpenAIServer
from windlass.client import default_client
from windlass.entities import PromptAliasEvent, PromptVersion
from windlass.exceptions import (
    InvalidInput,
    InvalidUri,
    PromptNotFound,
    PromptVersionNotFound,
    TemplateError,
)
from windlass.genai.prompts import fluent as prompt_fluent
from windlass.genai.prompts.registry import LoadedPrompt, PromptRegistry, parse_ref
from windlass.genai.tracing import attributes as attr
from windlass.genai.tracing import sdk as tracing
from windlass.genai.tracing.service import TraceService
from windlass.ids import new_id, now_ms
from windlass.principal import Principal
from windlass.store.sql.store import SqlStore

KEY = "sk-windlass-prompt-test-0123"
CHAT = [
    {"role": "system", "content": "You answer for {{ product }}.\nBe brief."},
    {"role": "user", "content": "{{ question }}"},
]
MODEL = {"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 400}
THREADS = 12
T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'prompts.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    sql = SqlStore(f"sqlite:///{tmp_path / 'prompts.db'}")
    yield sql
    sql.close()


@pytest.fixture
def project(store: SqlStore) -> str:
    return store.runs.get_or_create_project("prompts", new_id(), now_ms()).id


@pytest.fixture
def registry(store: SqlStore) -> PromptRegistry:
    return PromptRegistry(store)


def _register(
    registry: PromptRegistry, project: str, name: str = "support", **content: Any
) -> LoadedPrompt:
    if "template" not in content and "messages" not in content:
        content["messages"] = CHAT
    content.setdefault("model", MODEL)
    return registry.register(project, name, **content)


# -- versions ---------------------------------------------------------------------------
def test_register_numbers_versions_and_records_who_when_why(
    registry: PromptRegistry, project: str
) -> None:
    first = _register(
        registry,
        project,
        commit_message="first",
        principal=Principal("ada"),
        variables={"product": "str"},
    )
    assert isinstance(first, LoadedPrompt) and isinstance(first, PromptVersion)
    assert repr(first) == "LoadedPrompt(name='support', version=1)"
    assert (first.version, first.commit_message, first.claimed_by) == (1, "first", "ada")
    assert first.created_at <= now_ms() and len(first.content_hash) == 64
    assert sorted(first.variables) == ["product", "question"]
    second = _register(
        registry, project, model={**MODEL, "temperature": 0.5}, commit_message="warmer"
    )
    assert second.version == 2 and second.model["temperature"] == 0.5
    assert second.content_hash != first.content_hash
    prompt = registry.get_prompt(project, "support")
    assert prompt.latest_version == 2
    assert [v.version for v in registry.list_versions(project, "support").items] == [2, 1]


def test_registering_identical_content_creates_nothing(
    registry: PromptRegistry, project: str
) -> None:
    first = _register(registry, project, commit_message="first")
    again = _register(registry, project, commit_message="pushed again", principal=Principal("bob"))
    assert (again.id, again.version, again.commit_message) == (first.id, 1, "first")
    # Declaring what inference gives anyway, or a tuple for a list, is the same content.
    same = _register(
        registry, project, variables={"question": {"type": "any"}}, messages=tuple(CHAT)
    )
    assert same.id == first.id
    assert registry.get_prompt(project, "support").latest_version == 1


def test_bad_content_is_refused_before_anything_is_stored(
    registry: PromptRegistry, project: str
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"template": "x", "messages": CHAT}, "not both or neither"),
        ({"template": None, "messages": None}, "not both or neither"),
        ({"template": "line 1\n{{ oops }"}, "the template, line 2: template syntax error"),
        ({"template": "{{ ''.__class__ }}"}, "not allowed in a prompt template"),
        (
            {"template": "{{ x }}", "model": {"name": "m", "api_key": "sk-secret"}},
            "may not hold an api_key",
        ),
        ({"template": "{{ x }}", "model": {"temperature": float("nan")}}, "JSON cannot hold"),
        ({"template": "{{ x }}", "model": {"stop": {1, 2}}}, "not JSON data"),
        ({"template": "{{ x }}", "response_format": "json"}, "response_format must be"),
        ({"template": "{{ x }}", "commit_message": "a\x00b"}, "NUL"),
        ({"template": "{{ x }}", "version_id": "not-an-id"}, "32 hex"),
    ]
    for content, problem in cases:
        content.setdefault("model", MODEL)
        with pytest.raises(InvalidInput) as info:
            registry.register(project, "bad", **content)
        assert problem in info.value.message, (content, info.value.message)
    with pytest.raises(InvalidInput):
        registry.register(project, "no spaces allowed", template="x")
    with pytest.raises(PromptNotFound):
        registry.get_prompt(project, "bad")


def test_syntax_error_in_a_chat_message_names_message_and_line(
    registry: PromptRegistry, project: str
) -> None:
    with pytest.raises(TemplateError) as info:
        registry.register(
            project,
            "broken",
            messages=[
                {"role": "system", "content": "ok"},
                {"role": "user", "content": "first\nsecond\n{% for x in xs %}no end"},
            ],
        )
    assert info.value.message.startswith("message 2 (user), line 3: template syntax error")
    assert info.value.details["line"] == 3


@pytest.mark.parametrize(
    "template",
    [
        "{% for a in range(1000) %}{% for b in range(1000) %}.{% endfor %}{% endfor %}",
        "{{ 'a' * 10**9 }}",
        "{{ '%999999999s'|format(x) }}",
        "{{ x|center(10**9) }}",
    ],
)
def test_templates_over_a_resource_limit_are_refused_at_registration(
    registry: PromptRegistry, project: str, template: str
) -> None:
    with pytest.raises(TemplateError) as info:
        registry.register(
            project,
            "bomb",
            messages=[{"role": "system", "content": "ok"}, {"role": "user", "content": template}],
        )
    assert info.value.message.startswith("message 2 (user), line 1: ")
    assert "over the limit" in info.value.message
    with pytest.raises(PromptNotFound):
        registry.get_prompt(project, "bomb")


def test_same_version_id_registers_once(registry: PromptRegistry, project: str) -> None:
    version_id = new_id()
    made = _register(registry, project, template="a {{ x }}", version_id=version_id)
    again = _register(registry, project, template="a {{ x }}", version_id=version_id)
    assert again.id == made.id == version_id
    assert _register(registry, project, template="b {{ x }}").version == 2


def test_missing_prompt_is_not_created_when_asked_not_to(
    registry: PromptRegistry, project: str
) -> None:
    with pytest.raises(PromptNotFound):
        _register(registry, project, create_missing_prompt=False)
    registry.create_prompt(project, "support", description="answers tickets")
    assert _register(registry, project, create_missing_prompt=False).version == 1
    assert registry.get_prompt(project, "support").description == "answers tickets"


# -- loading ----------------------------------------------------------------------------
def test_load_by_name_number_alias_and_uri(registry: PromptRegistry, project: str) -> None:
    _register(registry, project, template="one {{ x }}")
    _register(registry, project, template="two {{ x }}")
    _register(registry, project, template="three {{ x }}")
    registry.set_alias(project, "support", "production", 2)
    for ref, version in [
        ("support", 3),
        ("support/1", 1),
        ("support@production", 2),
        ("prompts:/support@production", 2),
        ("prompts:/support/3", 3),
        ("support@latest", 3),
        ("prompts:/support", 3),
    ]:
        loaded = registry.load(project, ref)
        assert loaded.version == version, ref
        assert loaded.render(x="X") == f"{['one', 'two', 'three'][version - 1]} X"
    assert registry.render(project, "support@production", x="!") == "two !"
    with pytest.raises(PromptVersionNotFound):
        registry.load(project, "support/9")
    with pytest.raises(PromptVersionNotFound) as info:
        registry.load(project, "support@staging")
    assert "staging" in info.value.message
    with pytest.raises(InvalidUri):
        registry.load(project, "support@@x")
    with pytest.raises(PromptNotFound):
        registry.load(project, "other")
    assert parse_ref("a.b-c_d@x") == ("a.b-c_d", None, "x")


def test_a_prompt_without_versions_has_no_newest(registry: PromptRegistry, project: str) -> None:
    registry.create_prompt(project, "empty")
    with pytest.raises(PromptVersionNotFound) as info:
        registry.load(project, "empty")
    assert "no versions yet" in info.value.message


# -- aliases ----------------------------------------------------------------------------
def test_alias_moves_are_recorded_and_latest_is_reserved(
    registry: PromptRegistry, project: str
) -> None:
    for i in range(3):
        _register(registry, project, template=f"v{i} {{{{ x }}}}")
    registry.set_alias(project, "support", "production", 1, principal=Principal("ada"))
    registry.set_alias(project, "support", "production", 3, principal=Principal("bob"))
    registry.set_alias(project, "support", "staging", 2)
    removed = registry.delete_alias(project, "support", "staging", principal=Principal("cy"))
    assert (removed.from_version, removed.to_version) == (2, None)
    history = registry.alias_history(project, "support", "production")
    assert [(e.from_version, e.to_version, e.claimed_by) for e in history] == [
        (None, 1, "ada"),
        (1, 3, "bob"),
    ]
    assert len(registry.alias_history(project, "support")) == 4
    for bad in ("latest", "LATEST"):
        with pytest.raises(InvalidInput) as info:
            registry.set_alias(project, "support", bad, 1)
        assert "reserved" in info.value.message
    for bad in ("3", "007"):  # read as version numbers wherever a version or alias goes
        with pytest.raises(InvalidInput, match="looks like a version number"):
            registry.set_alias(project, "support", bad, 1)
    with pytest.raises(InvalidInput):
        registry.set_alias(project, "support", "no/slash", 1)
    with pytest.raises(InvalidInput):
        registry.set_alias(project, "support", "production", 0)


# -- diffs ------------------------------------------------------------------------------
def test_diff_shows_messages_then_sorted_settings(registry: PromptRegistry, project: str) -> None:
    _register(registry, project, variables={"product": "str"})
    _register(
        registry,
        project,
        messages=[
            {"role": "system", "content": "You answer for {{ product }}."},
            {"role": "user", "content": "{{ question }}"},
        ],
        model={**MODEL, "temperature": 0.3},
        response_format={"type": "json_object"},
        variables={"product": "str"},
    )
    registry.set_alias(project, "support", "production", 1)
    expected = "\n".join(
        [
            "--- support/1",
            "+++ support/2",
            "@@ -1,14 +1,14 @@",
            " [message 1: system]",
            " You answer for {{ product }}.",
            "-Be brief.",
            " [message 2: user]",
            " {{ question }}",
            " [model]",
            " max_tokens: 400",
            " name: gpt-4o-mini",
            " provider: openai",
            "-temperature: 0.2",
            "+temperature: 0.3",
            " [response_format]",
            "+type: json_object",
            " [variables]",
            " product: required=true, type=str",
            " question: required=true, type=any",
        ]
    )
    assert registry.diff(project, "support", 1, 2) == expected
    assert registry.diff(project, "support", "production", "latest") == expected
    assert registry.diff(project, "support", "1", "2") == expected
    assert registry.diff(project, "support", 2, 2) == ""


def test_diff_of_text_prompts(registry: PromptRegistry, project: str) -> None:
    _register(
        registry,
        project,
        template="Summarize:\n{{ text }}\nin {{ n }} words.",
        variables={"n": {"type": "int", "default": 50}},
    )
    _register(
        registry,
        project,
        template="Summarize:\n{{ text }}\nin {{ n }} words!",
        variables={"n": {"type": "int", "default": 30}},
    )
    diff = registry.diff(project, "support", 1, 2)
    assert "-in {{ n }} words.\n+in {{ n }} words!" in diff
    assert (
        "-n: default=50, required=false, type=int\n+n: default=30, required=false, type=int" in diff
    )


# -- prompt files -----------------------------------------------------------------------
def test_pull_writes_readable_yaml_and_push_round_trips(
    registry: PromptRegistry, project: str, tmp_path: Path
) -> None:
    made = _register(
        registry, project, variables={"product": "str"}, response_format={"type": "json_object"}
    )
    folder = tmp_path / "prompts"
    path = registry.pull(project, "support", folder)
    assert path == folder / "support.yaml"
    text = path.read_text()
    assert text.startswith(
        f"# windlass prompt support, version 1\n# content hash: {made.content_hash}\n"
    )
    assert "  content: |-\n    You answer for {{ product }}.\n    Be brief.\n" in text
    assert "question" not in text.split("variables:")[1]  # inferred: not written
    assert registry.push(project, folder)[0].to_dict() == {
        "path": str(path),
        "name": "support",
        "version": 1,
        "status": "unchanged",
    }
    assert registry.get_prompt(project, "support").latest_version == 1

    path.write_text(path.read_text().replace("temperature: 0.2", "temperature: 0.7"))
    (folder / "summary.yml").write_text(
        "template: |\n  Summarize {{ text }}\n  in {{ n }} words.\n"
        "model: {name: gpt-4o-mini}\nvariables:\n  n: {type: int, default: 40}\n"
    )
    results = registry.push(project, folder, commit_message="tune", principal=Principal("ci"))
    assert [(r.name, r.version, r.status) for r in results] == [
        ("summary", 1, "created"),
        ("support", 2, "created"),
    ]
    pushed = registry.get(project, "support", version=2)
    assert (pushed.model["temperature"], pushed.commit_message, pushed.claimed_by) == (
        0.7,
        "tune",
        "ci",
    )
    assert pushed.template == made.template and pushed.variables == made.variables
    summary = registry.load(project, "summary")
    assert summary.render(text="this") == "Summarize this\nin 40 words.\n"
    # Pushing again changes nothing.
    assert [r.status for r in registry.push(project, folder)] == ["unchanged", "unchanged"]
    assert registry.get_prompt(project, "support").latest_version == 2
    # A pulled older version pushed back becomes the newest again, as a new version.
    registry.pull(project, "support", folder, version=1)
    assert [(r.name, r.version, r.status) for r in registry.push(project, folder)] == [
        ("summary", 1, "unchanged"),
        ("support", 3, "created"),
    ]
    assert registry.get(project, "support", version=3).content_hash == made.content_hash


def test_pull_by_alias_and_of_a_text_prompt(
    registry: PromptRegistry, project: str, tmp_path: Path
) -> None:
    _register(registry, project, template="Hi {{ name }}\n")
    _register(registry, project, template="Hello {{ name }}\n")
    registry.set_alias(project, "support", "production", 1)
    path = registry.pull(project, "support", tmp_path, alias="production")
    assert "version 1\n" in path.read_text()
    assert "template: |\n  Hi {{ name }}\n" in path.read_text()
    pushed = registry.push(project, tmp_path)[0]
    assert (pushed.status, pushed.version) == ("created", 3)  # it differs from the newest
    assert (
        registry.get(project, "support", version=3).content_hash
        == registry.get(project, "support", version=1).content_hash
    )


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "broken.yaml",
            "template: x\nmodel: {name: [1, }\n",
            "broken.yaml, line 2: not valid YAML",
        ),
        ("tabs.yaml", "template: x\n\tmodel: {}\n", "tabs.yaml, line 2: not valid YAML"),
        ("twice.yaml", "template: x\ntemplate: y\n", "twice.yaml, line 2: not valid YAML"),
        ("list.yaml", "- template: x\n", "list.yaml: a prompt file is a mapping"),
        ("extra.yaml", "template: x\ncomment: hi\n", "extra.yaml: unknown key(s) 'comment'"),
        ("renamed.yaml", "name: other\ntemplate: x\n", "renamed.yaml: the file says name"),
        ("syntax.yaml", "template: |\n  ok\n  {{ x }\n", "syntax.yaml: the template, line 2"),
        ("unsafe.yaml", "template: '{{ x.__class__ }}'\n", "unsafe.yaml: the template, line 1"),
        (
            "when.yaml",
            "template: '{{ d }}'\nvariables: {d: {default: 2024-01-01}}\n",
            "when.yaml: the default of variable 'd'",
        ),
    ],
)
def test_a_bad_file_is_named_and_nothing_is_pushed(
    registry: PromptRegistry, project: str, tmp_path: Path, name: str, text: str, problem: str
) -> None:
    (tmp_path / "a-good.yaml").write_text("template: 'fine {{ x }}'\n")
    (tmp_path / name).write_text(text)
    with pytest.raises(InvalidInput) as info:
        registry.push(project, tmp_path)
    assert problem in info.value.message
    assert info.value.details["file"] == str(tmp_path / name)
    with pytest.raises(PromptNotFound):
        registry.get_prompt(project, "a-good")


def test_push_of_a_missing_folder_is_a_clear_error(
    registry: PromptRegistry, project: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput) as info:
        registry.push(project, tmp_path / "nope")
    assert "not a folder" in info.value.message


# -- concurrency ------------------------------------------------------------------------
def race(work: Callable[[int], T], threads: int = THREADS) -> list[T]:
    """Run ``work(i)`` on ``threads`` threads released together; return the results."""
    barrier = threading.Barrier(threads)

    def start(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(start, range(threads)))


@pytest.mark.parametrize("sharing", ["shared-store", "store-per-thread"])
def test_concurrent_registers_get_consecutive_numbers(store_uri: str, sharing: str) -> None:
    shared = SqlStore(store_uri)
    stores = (
        [shared] * THREADS
        if sharing == "shared-store"
        else [SqlStore(store_uri) for _ in range(THREADS)]
    )
    try:
        project = shared.runs.get_or_create_project("race", new_id(), now_ms()).id
        registries = [PromptRegistry(s) for s in stores]
        # The prompt does not exist yet: the racers also race to create it.
        made = race(
            lambda i: registries[i].register(
                project, "raced", template=f"writer {i}: {{{{ x }}}}", model=MODEL
            )
        )
        assert sorted(v.version for v in made) == list(range(1, THREADS + 1))
        assert len({v.id for v in made}) == THREADS
        listed = shared.prompts.objects.list_versions(project, "raced", max_results=100).items
        assert [v.version for v in listed] == list(range(THREADS, 0, -1))
        # Everyone registering one content at once makes one version.
        same = race(
            lambda i: registries[i].register(project, "raced", template="same {{ x }}", model=MODEL)
        )
        assert {v.version for v in same} == {THREADS + 1}
        assert shared.prompts.objects.get_object(project, "raced").latest_version == THREADS + 1
    finally:
        for store in set(stores):
            store.close()


def test_concurrent_alias_moves_form_one_chain(store_uri: str) -> None:
    store = SqlStore(store_uri)
    try:
        project = store.runs.get_or_create_project("race", new_id(), now_ms()).id
        registry = PromptRegistry(store)
        for i in range(4):
            registry.register(project, "raced", template=f"v{i} {{{{ x }}}}")

        def moves(i: int) -> list[PromptAliasEvent]:
            return [
                registry.set_alias(
                    project,
                    "raced",
                    "production",
                    (i + j) % 4 + 1,
                    principal=Principal(f"user-{i}"),
                )
                for j in range(5)
            ]

        events = [e for per_thread in race(moves) for e in per_thread]
        recorded = [e for e in events if e.from_version != e.to_version]
        history = registry.alias_history(project, "raced", "production")
        assert len(history) == len(recorded) > 0
        assert history[0].from_version is None
        for before, after in itertools.pairwise(history):
            assert after.from_version == before.to_version
            assert after.from_version != after.to_version
        assert history[-1].to_version == registry.get_prompt(project, "raced").aliases["production"]

        def key(e: PromptAliasEvent) -> tuple[str, int, int]:
            return e.claimed_by, e.from_version or 0, e.to_version or 0

        assert sorted(map(key, history)) == sorted(map(key, recorded))
    finally:
        store.close()


# -- runs and spans ---------------------------------------------------------------------
@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "WINDLASS_LLM_BASE_URL",
        "WINDLASS_LLM_API_KEY",
        "WINDLASS_LLM_PROVIDERS",
    ):
        monkeypatch.delenv(name, raising=False)
    with OpenAIServer(api_key=KEY) as server:
        yield server
    tracing.flush_traces()


def _spans(trace_id: str) -> dict[str, Any]:
    assert tracing.flush_traces()
    return {
        s.kind.value: s for s in TraceService(default_client().tracking.store).get_trace(trace_id)
    }


def test_run_renders_calls_the_bound_model_and_links_spans(llm_server: OpenAIServer) -> None:
    prompt = prompt_fluent.register(
        "support", messages=CHAT, model=MODEL, variables={"product": "str"}
    )
    reply = prompt.run(
        product="Acme", question="Where is my order?", base_url=llm_server.base_url, api_key=KEY
    )
    assert reply.text == "echo: Where is my order?"
    sent = llm_server.requests[-1].json
    assert sent == {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 400,
        "messages": [
            {"role": "system", "content": "You answer for Acme.\nBe brief."},
            {"role": "user", "content": "Where is my order?"},
        ],
    }
    spans = _spans(reply.trace_id)
    chain, call = spans["chain"], spans["llm"]
    assert chain.name == "prompt support" and call.parent_span_id == chain.span_id
    for span in (chain, call):
        assert (span.prompt_name, span.prompt_version) == ("support", 1)
        assert span.attributes[attr.PROMPT_NAME] == "support"
        assert span.attributes[attr.PROMPT_VERSION] == 1
    assert call.input_tokens and call.output_tokens and call.cost is not None
    # Costs and tokens group by prompt version.
    rollup = TraceService(default_client().tracking.store).store.traces.trace_rollup(
        [default_client().project_id()], "prompt"
    )
    assert [(r.key, r.traces, r.llm_calls) for r in rollup] == [("prompts:/support/1", 1, 1)]
    # A span started after the run carries no prompt.
    with tracing.span("after") as after:
        pass
    assert tracing.flush_traces()
    later = TraceService(default_client().tracking.store).get_trace(after.trace_id)
    assert later[0].prompt_name is None


def test_run_overrides_settings_and_checks_its_arguments(llm_server: OpenAIServer) -> None:
    prompt = prompt_fluent.register(
        "summary",
        template="Summarize {{ text }}",
        model={"name": "gpt-4o-mini", "temperature": 0.2},
        response_format={"type": "text"},
    )
    at = {"base_url": llm_server.base_url, "api_key": KEY}
    prompt.run(text="this", temperature=0.9, max_tokens=5, seed=3, **at)
    sent = llm_server.requests[-1].json
    assert sent["messages"] == [{"role": "user", "content": "Summarize this"}]
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (0.9, 5, 3)
    assert sent["response_format"] == {"type": "text"}
    # A mapping of variables makes every keyword a call option.
    prompt.run({"text": "that"}, model="gpt-4o", **at)
    assert llm_server.requests[-1].json["model"] == "gpt-4o"
    with pytest.raises(TemplateError) as info:
        prompt.run(text="x", txet="typo", **at)
    assert "unknown variable 'txet'" in info.value.message
    with pytest.raises(TemplateError) as info:
        prompt.run(**at)
    assert "missing variable 'text'" in info.value.message
    unbound = prompt_fluent.register("unbound", template="{{ q }}")
    with pytest.raises(InvalidInput) as info:
        unbound.run(q="x", **at)
    assert "binds no model" in info.value.message
    assert len(llm_server.requests) == 2


def test_run_with_provider_openai_uses_the_configured_endpoint(
    llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("WINDLASS_LLM_API_KEY", KEY)
    prompt = prompt_fluent.register("support", messages=CHAT, model=MODEL)
    reply = prompt.run(product="Acme", question="hi")
    assert reply.text == "echo: hi"
    assert llm_server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


# -- the SDK ----------------------------------------------------------------------------
def test_sdk_round_trip_in_the_current_project(tmp_path: Path) -> None:
    p = prompt_fluent.register("support-answer", messages=CHAT, model=MODEL, commit_message="first")
    assert p.version == 1 and p.uri == "prompts:/support-answer/1"
    p2 = prompt_fluent.register(
        "support-answer",
        messages=CHAT,
        model={**MODEL, "max_tokens": 200},
        commit_message="shorter",
    )
    event = prompt_fluent.set_alias("support-answer", "production", version=p2.version)
    assert (event.from_version, event.to_version) == (None, 2)
    loaded = prompt_fluent.load("support-answer@production")
    assert loaded.version == 2 and loaded.model["max_tokens"] == 200
    assert prompt_fluent.load("prompts:/support-answer/1").version == 1
    assert prompt_fluent.render("support-answer/1", product="Acme", question="q")[0] == {
        "role": "system",
        "content": "You answer for Acme.\nBe brief.",
    }
    assert [x.name for x in prompt_fluent.list_prompts()] == ["support-answer"]
    assert [v.version for v in prompt_fluent.list_versions("support-answer")] == [2, 1]
    assert prompt_fluent.get_prompt("support-answer").aliases == {"production": 2}
    assert "+max_tokens: 200" in prompt_fluent.diff("support-answer", 1, "production")
    assert prompt_fluent.alias_history("support-answer")[0].to_version == 2
    assert prompt_fluent.delete_alias("support-answer", "production").to_version is None
    path = prompt_fluent.pull("support-answer", tmp_path / "prompts")
    assert [r.status for r in prompt_fluent.push(path.parent)] == ["unchanged"]
    # Another project keeps its own prompts.
    assert prompt_fluent.list_prompts(project="elsewhere") == []


@pytest.mark.parametrize(
    "text",
    [
        "ends with two newlines {{ x }}\n\n",
        "  indented {{ x }}\n  twice\n",
        "no newline {{ x }}",
        "trailing space \n{{ x }}",
        "tab\tinside {{ x }}\n",
        "# not a comment {{ x }}",
        "key: value {{ x }}",
        "'quoted' {{ x }}",
        "héllo ✓ {{ x }}",
        "{{ x }} first",
        "\n\nleading newlines {{ x }}",
        "windows\r\nline {{ x }}",
    ],
)
def test_pull_push_keeps_every_character(
    registry: PromptRegistry, project: str, tmp_path: Path, text: str
) -> None:
    made = _register(
        registry,
        project,
        messages=[{"role": "user", "content": text}],
        model={"name": "m", "stop": ["\n\n", "END"]},
    )
    registry.pull(project, "support", tmp_path)
    assert registry.push(project, tmp_path)[0].status == "unchanged"
    assert registry.get_prompt(project, "support").latest_version == made.version
