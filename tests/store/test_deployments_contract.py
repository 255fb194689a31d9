"""The deployments contract of every MetadataStore: SQLite, PostgreSQL, REST.

A REST store reaches the server's deployments domain, which accepts only model URIs that
resolve: so every variant here names a real registered model version (made of blobs
uploaded to the server for the REST store). Times are the server's for the REST store, so
they are compared with each other, never with the ones passed in.
"""

from __future__ import annotations

import io
import json

import pytest

from windlass.artifacts.hashing import hash_bytes
from windlass.artifacts.http import RestBlobStore
from windlass.entities import MANIFEST_FILE, ArtifactEntry, Deployment, Variant
from windlass.exceptions import (
    AlreadyExists,
    Conflict,
    DeploymentNotFound,
    InvalidInput,
    ProjectNotFound,
)
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.store.metadata import MetadataStore
from windlass.store.rest.store import RestStore
from windlass_testing import recorded

A = Variant("champion", "models:/churn/1", 90.0)
B = Variant("challenger", "models:/churn/2", 10.0)
SHADOW = Variant("shadow", "models:/churn@latest", 0.0)


def _project(store: MetadataStore) -> str:
    """A new project with model ``churn`` (versions 1-3)."""
    project = store.runs.get_or_create_project(f"dep-{new_id()[-12:]}", new_id(), now_ms()).id
    manifest = {
        "format": FORMAT,
        "flavors": {"sklearn": {}},
        "files": {"model.skops": {"digest": hash_bytes(b"weights"), "size": 7}},
    }
    contents = {MANIFEST_FILE: json.dumps(manifest).encode(), "model.skops": b"weights"}
    if isinstance(store, RestStore):
        blobs = RestBlobStore(store.base_url, store.client)
        for data in contents.values():
            blobs.put_stream(io.BytesIO(data))
    files = [ArtifactEntry(p, hash_bytes(d), len(d)) for p, d in contents.items()]
    store.registry.create_registered_model(
        model_id=new_id(),
        project_id=project,
        name="churn",
        description="",
        tags={},
        created_at=now_ms(),
    )
    for _ in range(3):
        store.registry.create_model_version(
            version_id=new_id(),
            project_id=project,
            name="churn",
            source="test",
            run_id=None,
            files=files,
            manifest=manifest,
            description="",
            claimed_by="ada",
            created_at=now_ms(),
        )
    return project


def _create(
    store: MetadataStore,
    project: str,
    name: str = "prod",
    variants: list[Variant] | None = None,
    shadow: Variant | None = None,
    deployment_id: str | None = None,
) -> Deployment:
    return store.deployments.create_deployment(
        deployment_id=deployment_id or new_id(),
        project_id=project,
        name=name,
        description="churn in production",
        variants=variants or [A, B],
        shadow=shadow,
        claimed_by="ada",
        at=now_ms(),
    )


def _update(
    store: MetadataStore,
    project: str,
    variants: list[Variant],
    shadow: Variant | None = None,
    *,
    name: str = "prod",
    action: str = "set_weights",
    claimed_by: str = "bob",
    expected_revision: int | None = None,
) -> Deployment:
    return store.deployments.update_deployment(
        project,
        name,
        variants=variants,
        shadow=shadow,
        action=action,
        claimed_by=claimed_by,
        at=now_ms(),
        expected_revision=expected_revision,
    )


def test_create_get_and_first_event(store: MetadataStore) -> None:
    project = _project(store)
    deployment_id = new_id()
    created = _create(store, project, shadow=SHADOW, deployment_id=deployment_id)
    assert created.id == deployment_id and created.project_id == project
    assert (created.name, created.revision, created.description) == (
        "prod",
        1,
        "churn in production",
    )
    assert created.variants == [A, B] and created.shadow == SHADOW
    assert created.created_at == created.updated_at > 0
    assert store.deployments.get_deployment(project, "prod") == created
    events = store.deployments.deployment_history(project, "prod").items
    assert len(events) == 1
    event = events[0]
    assert (event.deployment_name, event.revision, event.action, event.claimed_by) == (
        "prod",
        1,
        "create",
        recorded(store, "ada"),
    )
    assert event.variants == [A, B] and event.shadow == SHADOW
    assert event.at == created.created_at
    assert store.deployments.get_deployment_revision(project, "prod", 1) == event


def test_names_are_unique_per_project_and_creates_retry(store: MetadataStore) -> None:
    project, other = _project(store), _project(store)
    first = _create(store, project)
    with pytest.raises(AlreadyExists) as info:
        _create(store, project)
    assert "prod" in info.value.message
    # The same id again is a retry: the deployment it made comes back, nothing is added.
    assert _create(store, project, deployment_id=first.id) == first
    assert len(store.deployments.deployment_history(project, "prod").items) == 1
    with pytest.raises(AlreadyExists):
        _create(store, project, name="other-name", deployment_id=first.id)
    assert _create(store, other).project_id == other


def test_unknown_project_and_deployment(store: MetadataStore) -> None:
    project = _project(store)
    unknown = new_id()
    for call in (
        lambda: store.deployments.get_deployment(unknown, "prod"),
        lambda: store.deployments.list_deployments(unknown),
        lambda: _create(store, unknown),
        lambda: _update(store, unknown, [A]),
        lambda: store.deployments.deployment_history(unknown, "prod"),
        lambda: store.deployments.get_deployment_revision(unknown, "prod", 1),
        lambda: store.deployments.delete_deployment(unknown, "prod"),
    ):
        with pytest.raises(ProjectNotFound):
            call()
    for call in (
        lambda: store.deployments.get_deployment(project, "nope"),
        lambda: _update(store, project, [A], name="nope"),
        lambda: store.deployments.deployment_history(project, "nope"),
        lambda: store.deployments.get_deployment_revision(project, "nope", 1),
        lambda: store.deployments.delete_deployment(project, "nope"),
    ):
        with pytest.raises(DeploymentNotFound) as info:
            call()
        assert "nope" in info.value.message
    _create(store, project)
    with pytest.raises(DeploymentNotFound) as info:
        store.deployments.get_deployment_revision(project, "prod", 2)
    assert "revision 2" in info.value.message


def test_list_by_name_in_pages(store: MetadataStore) -> None:
    project, other = _project(store), _project(store)
    names = ["d-e", "d-a", "d-d", "d-b", "d-c"]
    for name in names:
        _create(store, project, name)
    _create(store, other, "d-zz")
    seen: list[str] = []
    token = None
    while True:
        page = store.deployments.list_deployments(project, max_results=2, page_token=token)
        assert len(page.items) <= 2
        seen += [d.name for d in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert seen == sorted(names)
    assert store.deployments.list_deployments(project).items[0].variants == [A, B]
    with pytest.raises(InvalidInput):
        store.deployments.list_deployments(project, max_results=0)
    with pytest.raises(InvalidInput):
        store.deployments.list_deployments(project, page_token="garbage!!")
    with pytest.raises(InvalidInput):  # a token of another listing
        store.deployments.list_deployments(
            other,
            page_token=store.deployments.list_deployments(project, max_results=1).next_page_token,
        )


def test_update_makes_the_next_revision_and_records_it(store: MetadataStore) -> None:
    project = _project(store)
    created = _create(store, project)
    heavier = [A, Variant(B.name, B.model_uri, 30.0)]
    second = _update(store, project, heavier, SHADOW)
    assert second.revision == 2 and second.variants == heavier and second.shadow == SHADOW
    assert (second.id, second.created_at, second.description) == (
        created.id,
        created.created_at,
        created.description,
    )
    assert second.updated_at >= created.updated_at
    assert store.deployments.get_deployment(project, "prod") == second
    third = _update(store, project, [A], None, action="set_variants", claimed_by="cy")
    assert third.revision == 3 and third.shadow is None
    events = store.deployments.deployment_history(project, "prod").items
    assert [(e.revision, e.action, e.claimed_by) for e in events] == [
        (1, "create", recorded(store, "ada")),
        (2, "set_weights", recorded(store, "bob")),
        (3, "set_variants", recorded(store, "cy")),
    ]
    assert events[1].variants == heavier and events[1].shadow == SHADOW
    assert events[2].variants == [A] and events[2].shadow is None
    assert events[2].at == third.updated_at


def test_an_unchanged_state_records_nothing(store: MetadataStore) -> None:
    project = _project(store)
    _create(store, project, shadow=SHADOW)
    same = _update(store, project, [A, B], SHADOW, expected_revision=7)
    assert same.revision == 1
    assert len(store.deployments.deployment_history(project, "prod").items) == 1


def test_expected_revision_is_a_compare_and_set(store: MetadataStore) -> None:
    project = _project(store)
    _create(store, project)
    assert _update(store, project, [A], expected_revision=1).revision == 2
    with pytest.raises(Conflict) as info:
        _update(store, project, [B], expected_revision=1)
    assert info.value.details["revision"] == 2
    assert "concurrently" in info.value.message
    assert store.deployments.get_deployment(project, "prod").variants == [A]
    assert _update(store, project, [B], expected_revision=2).revision == 3


def test_history_pages_both_ways(store: MetadataStore) -> None:
    project = _project(store)
    _create(store, project)
    for weight in range(1, 7):
        _update(store, project, [A, Variant(B.name, B.model_uri, float(weight))])
    for newest_first, expected in ((False, list(range(1, 8))), (True, list(range(7, 0, -1)))):
        seen: list[int] = []
        token = None
        while True:
            page = store.deployments.deployment_history(
                project, "prod", max_results=3, page_token=token, newest_first=newest_first
            )
            seen += [e.revision for e in page.items]
            token = page.next_page_token
            if token is None:
                break
        assert seen == expected
    newest = store.deployments.deployment_history(project, "prod", 2, newest_first=True)
    assert [e.revision for e in newest.items] == [7, 6]
    with pytest.raises(InvalidInput):  # an ascending token does not page a descending list
        store.deployments.deployment_history(project, "prod", 2, newest.next_page_token)
    assert store.deployments.get_deployment_revision(project, "prod", 4).variants[1].weight == 3.0


def test_delete_removes_deployment_and_history(store: MetadataStore) -> None:
    project = _project(store)
    first = _create(store, project)
    _update(store, project, [A])
    store.deployments.delete_deployment(project, "prod")
    with pytest.raises(DeploymentNotFound):
        store.deployments.get_deployment(project, "prod")
    with pytest.raises(DeploymentNotFound):
        store.deployments.deployment_history(project, "prod")
    assert store.deployments.list_deployments(project).items == []
    again = _create(store, project)
    assert again.id != first.id and again.revision == 1
    assert [e.revision for e in store.deployments.deployment_history(project, "prod").items] == [1]
