"""The shared shape of versioned objects: each kind's fields, JSON and constructors stay."""

from __future__ import annotations

from dataclasses import fields

import pytest

from windlass.entities import (
    AliasEvent,
    AliasMove,
    ArtifactEntry,
    ModelVersion,
    ObjectVersion,
    Prompt,
    PromptAliasEvent,
    PromptVariable,
    PromptVersion,
    RegisteredModel,
    VersionedObject,
)


@pytest.mark.parametrize(
    ("cls", "key"), [(AliasEvent, "model_name"), (PromptAliasEvent, "prompt_name")]
)
def test_alias_events_keep_their_name_key_first_and_positional(
    cls: type[AliasMove], key: str
) -> None:
    event = cls("churn", "champion", 1, 2, "ann", 1700)  # the order the stores build them in
    assert issubclass(cls, AliasMove) and cls.name_key() == key
    assert [f.name for f in fields(cls)] == [
        key,
        "alias",
        "from_version",
        "to_version",
        "claimed_by",
        "at",
    ]
    assert getattr(event, key) == event.object_name == "churn"
    data = event.to_dict()
    assert data == {
        key: "churn",
        "alias": "champion",
        "from_version": 1,
        "to_version": 2,
        "claimed_by": "ann",
        "at": 1700,
    }
    assert next(iter(data)) == key
    assert cls.from_dict(data) == event and type(cls.from_dict(data)) is cls
    assert AliasEvent("a", "b", None, 1, "", 1) != PromptAliasEvent("a", "b", None, 1, "", 1)


def test_registered_models_and_prompts_share_the_object_fields() -> None:
    model = RegisteredModel(
        id="m1",
        project_id="p",
        name="churn",
        created_at=1,
        updated_at=2,
        description="d",
        card="# card",
        tags={"team": "risk"},
        aliases={"champion": 3},
        latest_version=4,
    )
    prompt = Prompt(id="q1", project_id="p", name="greet", created_at=1, updated_at=2)
    shared = {
        "id",
        "project_id",
        "name",
        "created_at",
        "updated_at",
        "description",
        "aliases",
        "latest_version",
    }
    assert isinstance(model, VersionedObject) and isinstance(prompt, VersionedObject)
    assert set(model.to_dict()) == shared | {"card", "tags"}
    assert set(prompt.to_dict()) == shared
    assert RegisteredModel.from_dict(model.to_dict()) == model
    assert Prompt.from_dict(prompt.to_dict()) == prompt
    assert Prompt.from_dict({**prompt.to_dict(), "aliases": {"prod": "2"}}).aliases == {"prod": 2}


def test_versions_share_the_version_fields_and_name_their_uri() -> None:
    model_version = ModelVersion(
        id="v1",
        model_id="m1",
        project_id="p",
        name="churn",
        version=3,
        source="runs:/x/model",
        run_id=None,
        files=[ArtifactEntry("windlass-model.yaml", "0" * 64, 10)],
        manifest={"flavors": {}},
        created_at=5,
        claimed_by="ann",
        aliases=["champion"],
    )
    prompt_version = PromptVersion(
        id="v2",
        prompt_id="q1",
        project_id="p",
        name="greet",
        version=2,
        template="Hello {{ who }}",
        model={},
        response_format=None,
        variables={"who": PromptVariable("who", "str")},
        content_hash="h",
        created_at=5,
        commit_message="first",
    )
    shared = {"id", "project_id", "name", "version", "created_at", "claimed_by", "aliases"}
    assert isinstance(model_version, ObjectVersion) and isinstance(prompt_version, ObjectVersion)
    assert (model_version.uri, prompt_version.uri) == ("models:/churn/3", "prompts:/greet/2")
    assert set(model_version.to_dict()) == shared | {
        "model_id",
        "source",
        "run_id",
        "files",
        "manifest",
        "description",
        "registered_auth",  # how the registrant was authenticated (trust by registrant)
    }
    assert set(prompt_version.to_dict()) == shared | {
        "prompt_id",
        "kind",
        "template",
        "model",
        "response_format",
        "variables",
        "content_hash",
        "commit_message",
    }
    assert ModelVersion.from_dict(model_version.to_dict()) == model_version
    assert PromptVersion.from_dict(prompt_version.to_dict()) == prompt_version
    assert repr(prompt_version) == "PromptVersion(name='greet', version=2)"
