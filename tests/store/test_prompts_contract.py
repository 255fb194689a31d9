"""The prompt registry contract of every MetadataStore: SQLite, PostgreSQL, REST.

A REST store reaches the server's prompt domain, which checks templates and variables and
computes the content hash itself; so every version here is valid content, and its hash
is the one the domain computes (:func:`windlass.genai.prompts.registry.prompt_content`).
"""

from __future__ import annotations

from typing import Any

import pytest

from windlass.entities import Prompt, PromptVariable, PromptVersion
from windlass.exceptions import (
    AlreadyExists,
    InvalidInput,
    InvalidState,
    NotFound,
    ProjectNotFound,
    PromptNotFound,
    PromptVersionNotFound,
)
from windlass.genai.prompts.registry import prompt_content
from windlass.ids import new_id, now_ms
from windlass.store.metadata import MetadataStore
from windlass.store.rest.store import RestStore
from windlass_testing import ServerProcess, recorded

CHAT = [
    {"role": "system", "content": "You answer for {{ product }}.\nBe brief."},
    {"role": "user", "content": "{{ question }}"},
]
MODEL = {"provider": "openai", "name": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 400}


def _project(store: MetadataStore) -> str:
    return store.runs.get_or_create_project(f"prm-{new_id()[-12:]}", new_id(), now_ms()).id


def _prompt(
    store: MetadataStore, project_id: str, name: str = "support", description: str = ""
) -> Prompt:
    return store.prompts.create_prompt(
        prompt_id=new_id(),
        project_id=project_id,
        name=name,
        description=description,
        created_at=now_ms(),
    )


def _version(
    store: MetadataStore,
    project_id: str,
    name: str = "support",
    *,
    version_id: str | None = None,
    claimed_by: str = "ada",
    message: str = "",
    **content: Any,
) -> PromptVersion:
    if "template" not in content and "messages" not in content:
        content["messages"] = CHAT
    content.setdefault("model", MODEL)
    checked = prompt_content(**content)
    return store.prompts.create_prompt_version(
        version_id=version_id or new_id(),
        project_id=project_id,
        name=name,
        template=checked.template,
        model=checked.model,
        response_format=checked.response_format,
        variables=checked.variables,
        content_hash=checked.content_hash,
        commit_message=message,
        claimed_by=claimed_by,
        created_at=now_ms(),
    )


# -- prompts ----------------------------------------------------------------------------
def test_create_get_and_list_prompts(store: MetadataStore) -> None:
    project = _project(store)
    created = _prompt(store, project, "support", "answers support tickets")
    assert created.name == "support" and created.project_id == project
    assert created.description == "answers support tickets"
    assert created.aliases == {} and created.latest_version is None
    assert store.prompts.objects.get_object(project, "support") == created
    with pytest.raises(AlreadyExists):
        _prompt(store, project, "support")
    again = store.prompts.create_prompt(
        prompt_id=new_id(),
        project_id=project,
        name="support",
        description="",
        created_at=now_ms(),
        exist_ok=True,
    )
    assert again.id == created.id
    for name in ("b-prompt", "a-prompt", "c-prompt"):
        _prompt(store, project, name)
    first = store.prompts.objects.list_objects(project, max_results=2)
    assert [p.name for p in first.items] == ["a-prompt", "b-prompt"]
    assert first.next_page_token is not None
    rest = store.prompts.objects.list_objects(
        project, max_results=2, page_token=first.next_page_token
    )
    assert [p.name for p in rest.items] == ["c-prompt", "support"]
    assert rest.next_page_token is None
    with pytest.raises(InvalidInput):
        store.prompts.objects.list_objects(project, max_results=0)


def test_unknown_prompt_and_project(store: MetadataStore) -> None:
    project = _project(store)
    with pytest.raises(PromptNotFound) as info:
        store.prompts.objects.get_object(project, "nope")
    assert "nope" in info.value.message
    with pytest.raises(PromptNotFound):
        _version(store, project, "nope")
    with pytest.raises(PromptNotFound):
        store.prompts.objects.list_versions(project, "nope")
    with pytest.raises(ProjectNotFound):
        store.prompts.objects.list_objects(new_id())


# -- versions ---------------------------------------------------------------------------
def test_versions_are_numbered_and_round_trip(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    first = _version(
        store,
        project,
        message="first",
        variables={"product": "str"},
        response_format={"type": "json_object"},
    )
    assert first.version == 1 and first.kind == "chat"
    assert first.template == CHAT and first.model == MODEL
    assert first.response_format == {"type": "json_object"}
    assert first.variables == {
        "product": PromptVariable("product", "str"),
        "question": PromptVariable("question"),
    }
    assert first.commit_message == "first" and first.claimed_by == recorded(store, "ada")
    assert len(first.content_hash) == 64 and first.uri == "prompts:/support/1"
    second = _version(
        store,
        project,
        template="Summarize {{ text }} in {{ n }} words.",
        variables={"n": {"type": "int", "default": 50}},
        message="text",
    )
    assert second.version == 2 and second.kind == "text"
    assert second.variables["n"] == PromptVariable(
        "n", "int", required=False, default=50, has_default=True
    )
    for stored in (
        store.prompts.objects.get_version(project, "support", 1),
        store.prompts.objects.get_version(project, "support", 2),
    ):
        expected = first if stored.version == 1 else second
        assert stored.to_dict() == {**expected.to_dict(), "created_at": stored.created_at}
    assert store.prompts.objects.get_object(project, "support").latest_version == 2
    with pytest.raises(PromptVersionNotFound) as info:
        store.prompts.objects.get_version(project, "support", 3)
    assert "3" in info.value.message


def test_same_version_id_registers_once(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    version_id = new_id()
    made = _version(store, project, version_id=version_id, template="v1 {{ a }}")
    again = _version(store, project, version_id=version_id, template="v1 {{ a }}")
    assert (again.id, again.version) == (made.id, 1)
    assert _version(store, project, template="v2 {{ a }}").version == 2


def test_unchanged_content_returns_the_newest_version(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    first = _version(store, project, message="first")
    same = _version(store, project, message="a different message, same content", claimed_by="bob")
    assert (same.id, same.version, same.commit_message) == (first.id, 1, "first")
    changed = _version(store, project, model={**MODEL, "temperature": 0.5})
    assert changed.version == 2
    # Back to the first content: not the newest, so it is a new version.
    back = _version(store, project)
    assert back.version == 3 and back.content_hash == first.content_hash
    assert [v.version for v in store.prompts.objects.list_versions(project, "support").items] == [
        3,
        2,
        1,
    ]


def test_list_versions_newest_first_in_pages(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    for i in range(5):
        _version(store, project, template=f"version {i} of {{{{ x }}}}")
    store.prompts.objects.set_alias(
        project, "support", "production", 4, claimed_by="ada", at=now_ms()
    )
    first = store.prompts.objects.list_versions(project, "support", max_results=2)
    assert [v.version for v in first.items] == [5, 4]
    assert first.items[1].aliases == ["production"]
    second = store.prompts.objects.list_versions(
        project, "support", max_results=2, page_token=first.next_page_token
    )
    last = store.prompts.objects.list_versions(
        project, "support", max_results=2, page_token=second.next_page_token
    )
    assert [v.version for v in second.items + last.items] == [3, 2, 1]
    assert last.next_page_token is None
    with pytest.raises(InvalidInput):
        store.prompts.objects.list_versions(project, "support", page_token="garbage")


# -- aliases ----------------------------------------------------------------------------
def test_alias_moves_and_history(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    for i in range(3):
        _version(store, project, template=f"v{i} {{{{ x }}}}")
    created = store.prompts.objects.set_alias(
        project, "support", "production", 1, claimed_by="ada", at=now_ms()
    )
    assert (created.from_version, created.to_version, created.claimed_by) == (
        None,
        1,
        recorded(store, "ada"),
    )
    assert store.prompts.objects.get_version_by_alias(project, "support", "production").version == 1
    moved = store.prompts.objects.set_alias(
        project, "support", "production", 2, claimed_by="bob", at=now_ms()
    )
    assert (moved.prompt_name, moved.from_version, moved.to_version) == ("support", 1, 2)
    same = store.prompts.objects.set_alias(
        project, "support", "production", 2, claimed_by="eve", at=now_ms()
    )
    assert same.from_version == same.to_version == 2  # nothing moved, nothing recorded
    store.prompts.objects.set_alias(project, "support", "staging", 3, claimed_by="ada", at=now_ms())
    assert store.prompts.objects.get_object(project, "support").aliases == {
        "production": 2,
        "staging": 3,
    }
    assert store.prompts.objects.get_version(project, "support", 3).aliases == ["staging"]
    removed = store.prompts.objects.delete_alias(
        project, "support", "production", claimed_by="dee", at=now_ms()
    )
    assert (removed.from_version, removed.to_version, removed.claimed_by) == (
        2,
        None,
        recorded(store, "dee"),
    )
    with pytest.raises(PromptVersionNotFound):
        store.prompts.objects.get_version_by_alias(project, "support", "production")
    history = store.prompts.objects.alias_history(project, "support", "production")
    assert [(e.from_version, e.to_version, e.claimed_by) for e in history] == [
        (None, 1, recorded(store, "ada")),
        (1, 2, recorded(store, "bob")),
        (2, None, recorded(store, "dee")),
    ]
    assert [e.at for e in history] == sorted(e.at for e in history)
    assert [e.alias for e in store.prompts.objects.alias_history(project, "support")] == [
        "production",
        "production",
        "staging",
        "production",
    ]
    assert store.prompts.objects.alias_history(project, "support", "never-set") == []


def test_alias_errors(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    _version(store, project)
    with pytest.raises(PromptVersionNotFound):
        store.prompts.objects.set_alias(
            project, "support", "production", 7, claimed_by="ada", at=now_ms()
        )
    with pytest.raises(NotFound):
        store.prompts.objects.delete_alias(
            project, "support", "production", claimed_by="ada", at=now_ms()
        )
    with pytest.raises(PromptNotFound):
        store.prompts.objects.set_alias(
            project, "nope", "production", 1, claimed_by="ada", at=now_ms()
        )
    assert store.prompts.objects.alias_history(project, "support") == []


def test_delete_prompt_refused_while_aliased(store: MetadataStore) -> None:
    project = _project(store)
    _prompt(store, project)
    _version(store, project)
    store.prompts.objects.set_alias(
        project, "support", "production", 1, claimed_by="ada", at=now_ms()
    )
    with pytest.raises(InvalidState) as info:
        store.prompts.objects.delete_object(project, "support")
    assert "production" in info.value.message
    assert store.prompts.objects.get_object(project, "support").latest_version == 1
    store.prompts.objects.delete_alias(
        project, "support", "production", claimed_by="ada", at=now_ms()
    )
    store.prompts.objects.delete_object(project, "support")
    with pytest.raises(PromptNotFound):
        store.prompts.objects.get_object(project, "support")
    # The name is free again, with a fresh history and numbering.
    _prompt(store, project)
    assert store.prompts.objects.alias_history(project, "support") == []
    assert _version(store, project).version == 1


def test_rest_store_rechecks_content_on_the_server(server: ServerProcess) -> None:
    store = RestStore(server.url)
    try:
        project = _project(store)
        _prompt(store, project)
        with pytest.raises(InvalidInput) as info:
            store.prompts.create_prompt_version(
                version_id=new_id(),
                project_id=project,
                name="support",
                template="{{ x }}",
                model={},
                response_format=None,
                variables={"y": PromptVariable("y", "int")},
                content_hash="0" * 64,
                commit_message="",
                claimed_by="ada",
                created_at=now_ms(),
            )
        assert "'y'" in info.value.message
        made = store.prompts.create_prompt_version(
            version_id=new_id(),
            project_id=project,
            name="support",
            template="{{ x }}",
            model={},
            response_format=None,
            variables={},
            content_hash="0" * 64,
            commit_message="",
            claimed_by="ada",
            created_at=now_ms(),
        )
        assert made.content_hash == prompt_content(template="{{ x }}").content_hash
    finally:
        store.close()
