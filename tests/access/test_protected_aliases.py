"""Protected aliases as a project setting, and two-person review of their moves.

Over a real store (SQLite, and PostgreSQL when configured) with the gate on: a project
protects ``production`` and ``champion`` by default, a project admin changes the list (and
an editor may not); with two-person review on, an admin's move of a protected alias is
held as a pending request, which only a second admin approves (the alias then moves as
the approver's) or rejects. Every step appends exactly one audit record.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from windlass.access import actions
from windlass.access.gate import Access
from windlass.access.policy import Policy
from windlass.artifacts import open_blob_store
from windlass.entities import MANIFEST_FILE, ArtifactEntry
from windlass.exceptions import (
    ApprovalPending,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
)
from windlass.genai.prompts.registry import PromptRegistry
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.principal import AuthMethod, Principal, Role
from windlass.store.sql.store import SqlStore
from windlass.tracking.service import Tracking
from windlass.versioning.governance import ProjectGovernance
from windlass_testing import KeptAudit


@dataclass
class World:
    kept: KeptAudit
    tracking: Tracking
    models: ModelRegistry
    prompts: PromptRegistry
    governance: ProjectGovernance
    project: str
    ada: Principal  # admin of the project
    bob: Principal  # a second admin
    eve: Principal  # editor


def _token(name: str, *roles: tuple[str, Role], admin: bool = False) -> Principal:
    return Principal(name, auth=AuthMethod.TOKEN, user_id=f"u-{name}", roles=roles, admin=admin)


def _register(tracking: Tracking, models: ModelRegistry, project: str, who: Principal) -> int:
    blobs = tracking.blobs
    weights, size = blobs.put_stream(io.BytesIO(b"weights"))
    manifest = {
        "format": FORMAT,
        "flavors": {"sklearn": {}},
        "files": {"model.skops": {"digest": weights, "size": size}},
    }
    digest, msize = blobs.put_stream(io.BytesIO(json.dumps(manifest).encode()))
    files = [
        ArtifactEntry(MANIFEST_FILE, digest, msize),
        ArtifactEntry("model.skops", weights, size),
    ]
    made = models.acting_as(who).create_version(
        project, "churn", source="test", files=files, manifest=manifest
    )
    return made.version


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'prot.db'}"
    else:
        uri = request.getfixturevalue("postgres_url")
    kept = KeptAudit()
    access = Access(Policy(enabled=True), kept)
    store = SqlStore(uri)
    tracking = Tracking(store, open_blob_store(str(tmp_path / "blobs")), access=access)
    root = _token("root", admin=True)
    project = tracking.acting_as(root).project("alpha").id
    models = ModelRegistry(store, tracking.blobs, access=access)
    prompts = PromptRegistry(store, access=access)
    made = World(
        kept=kept,
        tracking=tracking,
        models=models,
        prompts=prompts,
        governance=ProjectGovernance(store, {"model": models, "prompt": prompts}, access=access),
        project=project,
        ada=_token("ada", (project, Role.ADMIN)),
        bob=_token("bob", (project, Role.ADMIN)),
        eve=_token("eve", (project, Role.EDITOR)),
    )
    for _ in range(2):
        _register(tracking, models, project, root)
    prompts.acting_as(root).register(project, "greet", template="hi {{ name }}")
    prompts.acting_as(root).register(project, "greet", template="hello {{ name }}")
    kept.records.clear()
    yield made
    tracking.close()


def _alias(w: World, alias: str) -> int:
    return int(w.models.get_version_by_alias(w.project, "churn", alias, principal=w.ada).version)


def test_a_project_protects_production_and_champion_by_default(world: World) -> None:
    project = world.tracking.get_project(world.project, principal=world.ada)
    assert project.protected_aliases == ("production", "champion")
    assert project.two_person_review is False
    eve = world.models.acting_as(world.eve)
    with pytest.raises(PermissionDenied):
        eve.set_alias(world.project, "churn", "champion", 1)
    eve.set_alias(world.project, "churn", "staging", 1)
    assert _alias(world, "staging") == 1


def test_an_admin_changes_the_protected_list_and_an_editor_may_not(world: World) -> None:
    g = world.governance
    with pytest.raises(PermissionDenied):
        g.update_project_settings(world.project, protected_aliases=["staging"], principal=world.eve)
    assert world.kept.take() == []
    changed = g.update_project_settings(
        world.project, protected_aliases=["staging", "staging", "gold"], principal=world.ada
    )
    assert changed.protected_aliases == ("staging", "gold")
    assert world.kept.take() == [("ada", actions.PROJECT_SETTINGS, "projects:/alpha")]
    # The same settings again change nothing and record nothing.
    g.update_project_settings(
        world.project, protected_aliases=["staging", "gold"], principal=world.ada
    )
    assert world.kept.take() == []
    eve = world.models.acting_as(world.eve)
    eve.set_alias(world.project, "churn", "production", 2)  # no longer protected
    with pytest.raises(PermissionDenied):
        eve.set_alias(world.project, "churn", "staging", 2)
    with pytest.raises(PermissionDenied):  # prompts read the same list
        world.prompts.acting_as(world.eve).set_alias(world.project, "greet", "gold", 1)
    stored = world.tracking.get_project(world.project, principal=world.eve)
    assert stored.protected_aliases == ("staging", "gold")


@pytest.mark.parametrize("bad", [["latest"], ["3"], ["has space"], "production"])
def test_bad_protected_aliases_are_refused(world: World, bad: Any) -> None:
    with pytest.raises(InvalidInput):
        world.governance.update_project_settings(
            world.project, protected_aliases=bad, principal=world.ada
        )


def test_with_review_on_a_second_admin_approves_the_move(world: World) -> None:
    world.governance.update_project_settings(
        world.project, two_person_review=True, principal=world.ada
    )
    world.models.acting_as(world.ada).set_alias(world.project, "churn", "staging", 1)
    world.kept.take()
    with pytest.raises(ApprovalPending) as held:
        world.models.acting_as(world.ada).set_alias(world.project, "churn", "production", 2)
    request = held.value.request
    assert (request.kind, request.name, request.alias, request.version) == (
        "model",
        "churn",
        "production",
        2,
    )
    assert request.id in held.value.message
    assert world.kept.take() == [("ada", actions.ALIAS_REQUEST, "models:/churn@production")]
    with pytest.raises(NotFound):  # not moved
        _alias(world, "production")
    pending = world.governance.list_alias_requests(world.project, principal=world.eve)
    assert [r.id for r in pending] == [request.id]
    # The requester may not approve their own request; an editor may not approve at all.
    with pytest.raises(PermissionDenied):
        world.governance.approve(world.project, request.id, principal=world.ada)
    with pytest.raises(PermissionDenied):
        world.governance.approve(world.project, request.id, principal=world.eve)
    assert world.kept.take() == []
    approved = world.governance.approve(world.project, request.id, principal=world.bob)
    assert (approved.id, approved.state, approved.decided_by) == (request.id, "approved", "bob")
    assert _alias(world, "production") == 2
    records = list(world.kept.records)
    assert [(r["who"], r["action"], r["uri"]) for r in records] == [
        ("bob", actions.ALIAS_APPROVE, "models:/churn@production")
    ]
    assert records[0]["after"] == {"version": 2, "request": request.id, "requested_by": "ada"}
    history = world.models.alias_history(world.project, "churn", "production", principal=world.bob)
    assert history[-1].claimed_by == "bob"
    assert world.governance.list_alias_requests(world.project, principal=world.ada) == []
    with pytest.raises(InvalidState):
        world.governance.approve(world.project, request.id, principal=world.bob)
    # Unprotected aliases still move at once.
    world.models.acting_as(world.eve).set_alias(world.project, "churn", "staging", 2)
    assert _alias(world, "staging") == 2


def test_with_review_on_a_rejected_prompt_move_does_not_move(world: World) -> None:
    world.governance.update_project_settings(
        world.project, two_person_review=True, principal=world.ada
    )
    world.kept.take()
    prompts = world.prompts.acting_as(world.bob)
    with pytest.raises(ApprovalPending) as held:
        prompts.set_alias(world.project, "greet", "production", 2)
    request = held.value.request
    assert world.kept.take() == [("bob", actions.ALIAS_REQUEST, "prompts:/greet@production")]
    rejected = world.governance.reject(world.project, request.id, principal=world.ada)
    assert (rejected.state, rejected.decided_by) == ("rejected", "ada")
    assert world.kept.take() == [("ada", actions.ALIAS_REJECT, "prompts:/greet@production")]
    with pytest.raises(NotFound):
        prompts.get_version_by_alias(world.project, "greet", "production")
    every = world.governance.list_alias_requests(world.project, None, principal=world.ada)
    assert [(r.id, r.state) for r in every] == [(request.id, "rejected")]
    with pytest.raises(InvalidState):
        world.governance.approve(world.project, request.id, principal=world.ada)
    with pytest.raises(NotFound):
        world.governance.approve(world.project, "0" * 32, principal=world.ada)
    # A request for a version that does not exist is refused when made.
    with pytest.raises(NotFound):
        prompts.set_alias(world.project, "greet", "production", 9)


def test_with_auth_off_the_settings_are_not_checked(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'off.db'}")
    tracking = Tracking(store, open_blob_store(str(tmp_path / "blobs")))
    models = ModelRegistry(store, tracking.blobs)
    governance = ProjectGovernance(store, {"model": models})
    project = tracking.project("alpha").id
    governance.update_project_settings(project, two_person_review=True)
    _register(tracking, models, project, Principal("anon"))
    models.set_alias(project, "churn", "production", 1)  # not held: no one to tell apart
    assert models.get_version_by_alias(project, "churn", "production").version == 1
    tracking.close()
