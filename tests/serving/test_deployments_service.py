"""The deployments domain: validation, model checks, weights, promote, rollback, races."""

from __future__ import annotations

import io
import itertools
import json
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from windlass.artifacts import open_blob_store
from windlass.artifacts.hashing import hash_bytes
from windlass.entities import MANIFEST_FILE, ArtifactEntry, Deployment, RunSource, Variant
from windlass.exceptions import (
    AlreadyExists,
    ArtifactNotFound,
    Conflict,
    DeploymentNotFound,
    InUse,
    InvalidInput,
    InvalidState,
    InvalidUri,
    ModelNotFound,
    ModelVersionNotFound,
    RunNotFound,
)
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.principal import Principal
from windlass.serving.deployments import KEEP, MAX_VARIANTS, DeploymentService
from windlass.store.sql.store import SqlStore
from windlass.tracking.source import current_user

T = TypeVar("T")
CHAMPION = Variant("champion", "models:/churn@champion", 90.0)
CHALLENGER = Variant("challenger", "models:/churn/2", 10.0)


def _seed(store: SqlStore, blobs_root: Path) -> str:
    """A project with model ``churn`` (versions 1-3, alias champion on 1); its id."""
    blobs = open_blob_store(str(blobs_root))
    registry = ModelRegistry(store, blobs)
    project = store.runs.get_or_create_project(f"dep-{new_id()[-10:]}", new_id(), now_ms()).id
    files = []
    manifest = {
        "format": FORMAT,
        "flavors": {"sklearn": {}},
        "files": {"model.skops": {"digest": hash_bytes(b"w"), "size": 1}},
    }
    for path, data in ((MANIFEST_FILE, json.dumps(manifest).encode()), ("model.skops", b"w")):
        digest, size = blobs.put_stream(io.BytesIO(data))
        files.append(ArtifactEntry(path, digest, size))
    for _ in range(3):
        registry.create_version(project, "churn", source="test", files=files, manifest=manifest)
    registry.set_alias(project, "churn", "champion", 1)
    return project


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    sql = SqlStore(f"sqlite:///{tmp_path / 'deployments.db'}")
    yield sql
    sql.close()


@pytest.fixture
def project(store: SqlStore, tmp_path: Path) -> str:
    return _seed(store, tmp_path / "blobs")


@pytest.fixture
def service(store: SqlStore) -> DeploymentService:
    return DeploymentService(store)


def create(service: DeploymentService, project: str, name: str = "prod", **kw: Any) -> Deployment:
    return service.create(project, name, kw.pop("variants", [CHAMPION, CHALLENGER]), **kw)


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "-prod", "has space", "a/b", "x" * 257, 5, None])
def test_bad_deployment_names(service: DeploymentService, project: str, name: Any) -> None:
    with pytest.raises(InvalidInput, match="deployment name"):
        create(service, project, name)


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([], "at least one variant"),
        ("champion", "list of variants"),
        ({"name": "a"}, "list of variants"),
        ([CHAMPION, Variant("champion", "models:/churn/2", 1)], "'champion' is used twice"),
        ([Variant("bad name", "models:/churn/1", 1)], "variant name"),
        ([Variant("a", "models:/churn/1", -1)], "variant 'a': weight must be a finite"),
        ([Variant("a", "models:/churn/1", math.nan)], "variant 'a': weight"),
        ([Variant("a", "models:/churn/1", math.inf)], "variant 'a': weight"),
        ([Variant("a", "models:/churn/1", True)], "variant 'a': weight must be a number"),
        ([{"name": "a", "model_uri": "models:/churn/1", "weight": 10**400}], "variant 'a': weight"),
        (
            [{"name": "a", "model_uri": "models:/churn/1", "weight": "90"}],
            "weight must be a number",
        ),
        ([{"name": "a", "model_uri": "models:/churn/1", "wieght": 9}], "'wieght'"),
        ([{"name": "a"}], "needs model_uri"),
        ([42], "must be a Variant or a mapping"),
        # A weight that is given is kept: all 0 is refused, never turned into equal shares.
        ([Variant("a", "models:/churn/1", 0)], "positive sum, got a=0"),
        ([{"name": "a", "model_uri": "models:/churn/1", "weight": 0}], "positive sum, got a=0"),
        (
            [
                {"name": "a", "model_uri": "models:/churn/1", "weight": 0.0},
                {"name": "b", "model_uri": "models:/churn/2", "weight": 0},
            ],
            "got a=0, b=0",
        ),
        (
            [Variant("a", "models:/churn/1", 1e308), Variant("b", "models:/churn/2", 1e308)],
            "infinity",
        ),
        ([Variant(f"v{i}", "models:/churn/1", 1) for i in range(MAX_VARIANTS + 1)], "at most"),
    ],
)
def test_bad_variants(
    service: DeploymentService, project: str, variants: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        create(service, project, variants=variants)
    with pytest.raises(DeploymentNotFound):
        service.get(project, "prod")


@pytest.mark.parametrize(
    "uri",
    [
        "churn",
        "models:/",
        "models:/churn/x",
        "models:/-churn/1",
        "datasets:/d@v1",
        "deployments:/prod",
        "runs:/" + "a" * 32,
        "runs:/not-an-id/model",
        "models:/churn@bad alias",
        "models:/" + "m" * 300 + "/1",
        "models:/churn/" + "1" * 1100,
        "",
    ],
)
def test_bad_model_uris_name_the_variant(
    service: DeploymentService, project: str, uri: str
) -> None:
    with pytest.raises(InvalidUri) as info:
        create(service, project, variants=[Variant("arm", uri, 1)])
    assert "arm" in info.value.message


@pytest.mark.parametrize(
    ("uri", "error", "text"),
    [
        ("models:/chrun/1", ModelNotFound, "chrun"),
        ("models:/churn/9", ModelVersionNotFound, "no version 9"),
        ("models:/churn@nope", ModelVersionNotFound, "nope"),
        ("runs:/" + "0" * 32 + "/model", RunNotFound, "0" * 32),
    ],
)
def test_model_uris_must_resolve(
    service: DeploymentService, project: str, uri: str, error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as info:
        create(service, project, variants=[CHAMPION, Variant("typo", uri, 1)])
    message = str(info.value)
    assert "variant 'typo'" in message and text in message
    with pytest.raises(error):
        create(service, project, shadow=Variant("typo", uri))
    with pytest.raises(DeploymentNotFound):
        service.get(project, "prod")
    # Without the check (a store of its own, say), the URI is stored as given.
    unchecked = DeploymentService(service.store, check_models=False)
    assert create(unchecked, project, variants=[Variant("typo", uri, 1)]).revision == 1


def test_run_models_and_latest(service: DeploymentService, store: SqlStore, project: str) -> None:
    run_id = new_id()
    store.runs.create_run(
        run_id=run_id,
        project_id=project,
        name="train",
        start_time=now_ms(),
        parent_run_id=None,
        source=RunSource(),
        tags={},
    )
    store.artifacts.record_artifacts(run_id, [ArtifactEntry(f"model/{MANIFEST_FILE}", "0" * 64, 1)])
    created = create(
        service,
        project,
        variants=[
            Variant("run", f"runs:/{run_id}/model", 1),
            Variant("newest", "models:/churn@latest", 1),
            Variant("plain", "models:/churn", 1),
        ],
    )
    assert [v.model_uri for v in created.variants] == [
        f"runs:/{run_id}/model",
        "models:/churn@latest",
        "models:/churn",
    ]
    with pytest.raises(ArtifactNotFound, match="not a windlass model"):
        create(service, project, "other", variants=[Variant("run", f"runs:/{run_id}/x", 1)])
    store.registry.create_registered_model(
        model_id=new_id(),
        project_id=project,
        name="empty",
        description="",
        tags={},
        created_at=now_ms(),
    )
    with pytest.raises(ModelVersionNotFound, match="no versions yet"):
        create(service, project, "other", variants=[Variant("e", "models:/empty", 1)])


def test_create_defaults_and_shadow(service: DeploymentService, project: str) -> None:
    created = service.create(
        project,
        "prod",
        [
            {"name": "a", "model_uri": "models:/churn/1"},
            {"name": "b", "model_uri": "models:/churn/2"},
            {"name": "c", "model_uri": "models:/churn/3"},
        ],
        shadow={"name": "s", "model_uri": "models:/churn/3", "weight": 42},
        description="three ways",
        principal=Principal("ada"),
    )
    assert [v.weight for v in created.variants] == [100 / 3] * 3  # no weights: equal shares
    alone = service.create(
        project, "alone", [{"name": "a", "model_uri": "models:/churn/1", "weight": None}]
    )
    assert [v.weight for v in alone.variants] == [100.0]  # weight None: not given
    assert created.shadow == Variant("s", "models:/churn/3", 0.0)  # the shadow takes no share
    assert created.description == "three ways"
    with pytest.raises(InvalidInput, match="shadow's name 'champion'"):
        create(service, project, "other", shadow=Variant("champion", "models:/churn/3"))
    with pytest.raises(AlreadyExists):
        create(service, project)
    with pytest.raises(InvalidInput, match="description"):
        create(service, project, "other", description="x\x00y")


def test_create_is_retried_safely_by_id(service: DeploymentService, project: str) -> None:
    deployment_id = new_id()
    first = create(service, project, deployment_id=deployment_id)
    assert create(service, project, deployment_id=deployment_id) == first
    with pytest.raises(InvalidInput, match="32 hex"):
        create(service, project, "other", deployment_id="short")


# -- changes --------------------------------------------------------------------------------
def test_set_weights_changes_only_named_variants(service: DeploymentService, project: str) -> None:
    create(service, project, shadow=Variant("shadow", "models:/churn/3"))
    changed = service.set_weights(project, "prod", {"challenger": 30}, principal=Principal("ada"))
    assert [(v.name, v.weight) for v in changed.variants] == [
        ("champion", 90.0),
        ("challenger", 30.0),
    ]
    assert changed.revision == 2 and changed.shadow is not None
    with pytest.raises(InvalidInput) as info:
        service.set_weights(project, "prod", {"challenger": 5, "chalenger": 5})
    assert "'chalenger'" in info.value.message and info.value.details["variants"] == ["chalenger"]
    with pytest.raises(InvalidInput, match="is the shadow"):
        service.set_weights(project, "prod", {"shadow": 5})
    with pytest.raises(InvalidInput, match="positive sum"):
        service.set_weights(project, "prod", {"champion": 0, "challenger": 0})
    with pytest.raises(InvalidInput, match="variant 'champion': weight"):
        service.set_weights(project, "prod", {"champion": -1})
    with pytest.raises(InvalidInput, match="at least one weight"):
        service.set_weights(project, "prod", {})
    zero = service.set_weights(project, "prod", {"challenger": 0})
    assert [v.weight for v in zero.variants] == [90.0, 0.0]  # kept, with no traffic
    assert service.get(project, "prod").revision == 3


def test_set_variants_and_shadow(service: DeploymentService, project: str) -> None:
    create(service, project, shadow=Variant("shadow", "models:/churn/3"))
    replaced = service.set_variants(project, "prod", [Variant("only", "models:/churn/3", 1)])
    assert [v.name for v in replaced.variants] == ["only"] and replaced.shadow is not None
    dropped = service.set_variants(project, "prod", [CHAMPION], shadow=None)
    assert dropped.shadow is None and dropped.revision == 3
    shadowed = service.set_shadow(project, "prod", {"name": "s2", "model_uri": "models:/churn/2"})
    assert shadowed.shadow == Variant("s2", "models:/churn/2", 0.0)
    assert service.set_shadow(project, "prod", None).shadow is None
    with pytest.raises(InvalidInput, match="nothing to change"):
        service.update(project, "prod")
    with pytest.raises(InvalidInput, match="not both"):
        service.update(project, "prod", variants=[CHAMPION], weights={"champion": 1})
    with pytest.raises(InvalidInput, match="unknown action"):
        service.update(project, "prod", weights={"champion": 2}, action="create")
    assert service.update(project, "prod", shadow=KEEP, weights={"champion": 5}).revision == 6
    events = service.history(project, "prod").items
    assert [e.action for e in events] == [
        "create",
        "set_variants",
        "set_variants",
        "set_shadow",
        "set_shadow",
        "set_weights",
    ]


def test_promote_keeps_the_others_at_zero(service: DeploymentService, project: str) -> None:
    create(service, project, shadow=Variant("shadow", "models:/churn/3"))
    promoted = service.promote(project, "prod", "challenger")
    assert [(v.name, v.weight) for v in promoted.variants] == [
        ("champion", 0.0),
        ("challenger", 100.0),
    ]
    assert promoted.shadow is not None
    with pytest.raises(InvalidInput, match="no variant 'nobody'"):
        service.promote(project, "prod", "nobody")
    # Promoting the shadow makes it the variant with all the traffic.
    graduated = service.promote(project, "prod", "shadow")
    assert [(v.name, v.weight) for v in graduated.variants] == [
        ("champion", 0.0),
        ("challenger", 0.0),
        ("shadow", 100.0),
    ]
    assert graduated.shadow is None
    again = service.promote(project, "prod", "shadow")  # already so: nothing recorded
    assert again.revision == graduated.revision == 3


def test_rollback_previous_and_to_revision(service: DeploymentService, project: str) -> None:
    create(service, project)
    with pytest.raises(InvalidState, match="nothing to roll back to"):
        service.rollback(project, "prod")
    service.set_weights(project, "prod", {"challenger": 50})
    service.promote(project, "prod", "challenger")
    back = service.rollback(project, "prod", principal=Principal("oncall"))
    assert back.revision == 4
    assert [v.weight for v in back.variants] == [90.0, 50.0]  # revision 2's state
    undone = service.rollback(project, "prod")  # a second rollback undoes the first
    assert [v.weight for v in undone.variants] == [0.0, 100.0] and undone.revision == 5
    first = service.rollback(project, "prod", to_revision=1)
    assert first.variants == [CHAMPION, CHALLENGER] and first.revision == 6
    for bad in (6, 7, 0, -1):
        with pytest.raises(InvalidInput, match="to_revision"):
            service.rollback(project, "prod", to_revision=bad)
    same = service.rollback(project, "prod", to_revision=1)  # already that state
    assert same.revision == 6
    events = service.history(project, "prod").items
    assert [(e.revision, e.action) for e in events] == [
        (1, "create"),
        (2, "set_weights"),
        (3, "promote"),
        (4, "rollback"),
        (5, "rollback"),
        (6, "rollback"),
    ]
    assert events[3].claimed_by == "oncall" and events[4].claimed_by == current_user()
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))


def test_rollback_refuses_a_state_whose_model_is_gone(
    service: DeploymentService, store: SqlStore, project: str
) -> None:
    create(service, project, variants=[Variant("old", "models:/churn/3", 1)])
    service.set_variants(project, "prod", [CHAMPION])
    store.registry.delete_model_version(project, "churn", 3)
    with pytest.raises(ModelVersionNotFound, match="variant 'old'"):
        service.rollback(project, "prod")
    assert service.get(project, "prod").revision == 2


def test_weight_changes_keep_unchanged_uris_unchecked(
    service: DeploymentService, store: SqlStore, project: str
) -> None:
    # Traffic can always be moved away from a variant whose model went missing. A served
    # version cannot be deleted any more, so the deployment is made (unchecked) with a
    # version that does not exist (as one left over from before that rule would be).
    create(
        DeploymentService(store, check_models=False),
        project,
        variants=[Variant("a", "models:/churn/9", 50), CHAMPION],
    )
    assert service.set_weights(project, "prod", {"a": 0}).variants[0].weight == 0.0


def test_history_records_who_when_and_what(service: DeploymentService, project: str) -> None:
    before = now_ms()
    create(service, project, principal=Principal("ada"))
    service.set_weights(project, "prod", {"challenger": 20}, principal=Principal("bob"))
    service.set_weights(
        project, "prod", {"challenger": 20}, principal=Principal("eve")
    )  # no change
    events = service.history(project, "prod").items
    assert [(e.revision, e.action, e.claimed_by) for e in events] == [
        (1, "create", "ada"),
        (2, "set_weights", "bob"),
    ]
    assert before <= events[0].at <= events[1].at <= now_ms()
    assert events[1].variants[1].weight == 20.0
    assert service.get_revision(project, "prod", 2) == events[1]
    newest = service.history(project, "prod", 1, newest_first=True)
    assert [e.revision for e in newest.items] == [2]
    with pytest.raises(InvalidInput, match="revision"):
        service.get_revision(project, "prod", 0)


def test_expected_revision(service: DeploymentService, project: str) -> None:
    create(service, project)
    service.set_weights(project, "prod", {"challenger": 20}, expected_revision=1)
    with pytest.raises(Conflict) as info:
        service.promote(project, "prod", "challenger", expected_revision=1)
    assert info.value.details == {"deployment": "prod", "expected_revision": 1, "revision": 2}
    # The state asked for is already there: a retried call succeeds without a change.
    assert (
        service.set_weights(project, "prod", {"challenger": 20}, expected_revision=1).revision == 2
    )
    with pytest.raises(InvalidInput, match="expected_revision"):
        service.promote(project, "prod", "challenger", expected_revision=0)


def test_delete(service: DeploymentService, project: str) -> None:
    create(service, project)
    service.delete(project, "prod")
    with pytest.raises(DeploymentNotFound):
        service.get(project, "prod")
    with pytest.raises(DeploymentNotFound):
        service.delete(project, "prod")
    assert service.list(project).items == []


# -- races ----------------------------------------------------------------------------------
THREADS = 16


@pytest.fixture(params=["sqlite", "postgresql"])
def race_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return str(request.getfixturevalue("postgres_url"))


def race(work: Callable[[int], T], threads: int = THREADS) -> list[T]:
    """Run ``work(i)`` on ``threads`` threads released together; return the results."""
    barrier = threading.Barrier(threads)

    def start(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(start, range(threads)))


def test_concurrent_changes_form_a_gap_free_chain(race_uri: str, tmp_path: Path) -> None:
    stores = [SqlStore(race_uri) for _ in range(4)]
    try:
        project = _seed(stores[0], tmp_path / "race-blobs")
        services = [DeploymentService(stores[i % 4]) for i in range(THREADS)]
        create(services[0], project)

        def changes(i: int) -> list[int]:
            service = services[i]
            revisions = []
            for j in range(3):
                if j == 1 and i % 4 == 0:
                    done = service.promote(
                        project, "prod", "challenger", principal=Principal(f"u{i}")
                    )
                else:
                    done = service.set_weights(
                        project,
                        "prod",
                        {"challenger": i * 10 + j + 1},
                        principal=Principal(f"u{i}"),
                    )
                revisions.append(done.revision)
            return revisions

        results = race(changes)
        events = services[0].history(project, "prod", 1000).items
        assert [e.revision for e in events] == list(range(1, len(events) + 1))
        final = services[0].get(project, "prod")
        assert final.revision == len(events)
        assert (final.variants, final.shadow) == (events[-1].variants, events[-1].shadow)
        for before, after in itertools.pairwise(events):
            assert (before.variants, before.shadow) != (after.variants, after.shadow)
        # Every call's revision is one the chain recorded, each thread's in order.
        for revisions in results:
            assert revisions == sorted(revisions) and set(revisions) <= set(range(2, 1000))
        # The weights each set_weights call asked for all made it into the history.
        asked = {
            i * 10 + j + 1 for i in range(THREADS) for j in range(3) if not (j == 1 and i % 4 == 0)
        }
        recorded = {e.variants[1].weight for e in events if e.action == "set_weights"}
        assert asked == recorded
    finally:
        for store in stores:
            store.close()


def test_concurrent_expected_revision_lets_one_win(race_uri: str, tmp_path: Path) -> None:
    store = SqlStore(race_uri)
    try:
        project = _seed(store, tmp_path / "cas-blobs")
        service = DeploymentService(store)
        create(service, project)

        def attempt(i: int) -> str:
            try:
                service.set_weights(project, "prod", {"challenger": 100 + i}, expected_revision=1)
            except Conflict:
                return "conflict"
            return "won"

        outcomes = race(attempt)
        assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["won"]
        assert [e.revision for e in service.history(project, "prod").items] == [1, 2]
    finally:
        store.close()


def test_a_deployed_version_cannot_be_deleted(
    service: DeploymentService, project: str, store: SqlStore, tmp_path: Path
) -> None:
    registry = ModelRegistry(store, open_blob_store(str(tmp_path / "blobs")))
    create(
        service,
        project,
        variants=[Variant("pinned", "models:/churn/2", 1.0)],
        shadow=Variant("newest", "models:/churn@latest"),
    )
    with pytest.raises(InUse, match=r"deployment 'prod' \(variant 'pinned'\)") as info:
        registry.delete_version(project, "churn", 2)
    assert info.value.details["used_by"] == ["deployment 'prod' (variant 'pinned')"]
    # @latest serves the newest version (3), so that one is in use too.
    with pytest.raises(InUse, match="variant 'newest'"):
        registry.delete_version(project, "churn", 3)
    registry.delete_alias(project, "churn", "champion")
    with pytest.raises(InUse, match="'prod'"):
        registry.delete_model(project, "churn")
    registry.delete_version(project, "churn", 1)  # not served: deleted
    service.delete(project, "prod")
    registry.delete_version(project, "churn", 3)
    registry.delete_version(project, "churn", 2)
    assert registry.list_versions(project, "churn").items == []
