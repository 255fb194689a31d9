"""Every domain service checks the policy first and records each mutation once.

Over a real store (SQLite, and PostgreSQL when configured), with the gate on and an audit
sink that keeps what it is given: a viewer reads but does not write, an editor writes but
neither deletes nor moves ``production``, an admin does all three; a principal of another
project gets, for objects addressed by id, the very error a missing id gets, and for
objects addressed in the project, PermissionDenied; an unauthenticated caller gets
Unauthenticated. With the gate off everything passes as it did. Each mutation appends
exactly one audit record, with its action and object URI.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from windlass.access import actions
from windlass.access.audit import AuditTrail
from windlass.access.gate import Access
from windlass.access.policy import Policy
from windlass.artifacts import open_blob_store
from windlass.entities import MANIFEST_FILE, ArtifactEntry, DatasetInput, MetricBatch, Span
from windlass.exceptions import (
    ApprovalPending,
    NotFound,
    PermissionDenied,
    RunNotFound,
    TraceNotFound,
    Unauthenticated,
    WindlassError,
)
from windlass.genai.prompts.registry import PromptRegistry
from windlass.genai.tracing.service import TraceService
from windlass.ids import new_id, now_ms
from windlass.models.manifest import FORMAT
from windlass.models.registry import ModelRegistry
from windlass.principal import AuthMethod, Principal, Role
from windlass.serving.deployments import DeploymentService
from windlass.store.sql.store import SqlStore
from windlass.tracking.service import Tracking
from windlass.versioning.governance import ProjectGovernance
from windlass_testing import KeptAudit


def _token(name: str, *roles: tuple[str, Role], admin: bool = False) -> Principal:
    return Principal(name, auth=AuthMethod.TOKEN, user_id=f"u-{name}", roles=roles, admin=admin)


@dataclass
class World:
    """The five services over one store, sharing one gate, and two seeded projects."""

    kept: KeptAudit
    tracking: Tracking
    models: ModelRegistry
    deployments: DeploymentService
    traces: TraceService
    prompts: PromptRegistry
    project: str  # "alpha": where the roles below are
    other: str  # "beta": where only the stranger has a role
    run: str
    trace: str
    root: Principal

    def principal(self, role: Role | None, *, elsewhere: bool = False) -> Principal:
        """Return a token principal with ``role`` in alpha (or, ``elsewhere``, in beta)."""
        if role is None:
            return Principal("anon")
        where = self.other if elsewhere else self.project
        return _token(f"{role.value}{'-beta' if elsewhere else ''}", (where, role))

    def files(self) -> tuple[list[ArtifactEntry], dict[str, Any]]:
        """Return the stored files of a small valid model version, and its manifest."""
        blobs = self.tracking.blobs
        weights_digest, size = blobs.put_stream(io.BytesIO(b"weights"))
        manifest = {
            "format": FORMAT,
            "flavors": {"sklearn": {}},
            "files": {"model.skops": {"digest": weights_digest, "size": size}},
        }
        digest, msize = blobs.put_stream(io.BytesIO(json.dumps(manifest).encode()))
        files = [
            ArtifactEntry(MANIFEST_FILE, digest, msize),
            ArtifactEntry("model.skops", weights_digest, size),
        ]
        return files, manifest

    def version(self, as_: Principal, name: str = "churn") -> int:
        files, manifest = self.files()
        made = self.models.acting_as(as_).create_version(
            self.project, name, source="test", files=files, manifest=manifest
        )
        return made.version


def _span(trace_id: str) -> Span:
    start = time.time_ns()
    return Span(
        trace_id=trace_id,
        span_id=new_id()[:16],
        name="call",
        start_time_ns=start,
        end_time_ns=start + 1000,
    )


def _world(uri: str, root_dir: Path, *, enabled: bool = True) -> World:
    kept = KeptAudit()
    access = Access(Policy(enabled=enabled), kept)
    store = SqlStore(uri)
    blobs = open_blob_store(str(root_dir / "blobs"))
    tracking = Tracking(store, blobs, access=access)
    root = _token("root", admin=True)
    alpha = tracking.acting_as(root).project("alpha").id
    beta = tracking.acting_as(root).project("beta").id
    run = tracking.acting_as(root).create_run(alpha, name="seed").id
    traces = TraceService(store, access=access)
    trace = new_id()
    traces.acting_as(root).ingest([_span(trace)], project="alpha")
    world = World(
        kept=kept,
        tracking=tracking,
        models=ModelRegistry(store, blobs, access=access),
        deployments=DeploymentService(store, access=access),
        traces=traces,
        prompts=PromptRegistry(store, access=access),
        project=alpha,
        other=beta,
        run=run,
        trace=trace,
        root=root,
    )
    world.version(root)
    world.models.acting_as(root).set_alias(alpha, "churn", "production", 1)
    world.prompts.acting_as(root).register(alpha, "greet", template="hi {{ name }}")
    world.deployments.acting_as(root).create(
        alpha, "web", [{"name": "a", "model_uri": "models:/churn/1"}]
    )
    kept.records.clear()
    return world


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'gate.db'}"
    else:
        uri = request.getfixturevalue("postgres_url")
    made = _world(uri, tmp_path)
    yield made
    made.tracking.close()


def _error(call: Callable[[], object]) -> WindlassError:
    with pytest.raises(WindlassError) as caught:
        call()
    return caught.value


def _error_of(call: Callable[[str], object], object_id: str) -> WindlassError:
    return _error(lambda: call(object_id))


def _with_id(error: WindlassError, old: str, new: str) -> WindlassError:
    """Return ``error`` as it would read had the caller sent id ``new`` instead of ``old``."""
    details = {
        k: v.replace(old, new) if isinstance(v, str) else v for k, v in error.details.items()
    }
    return type(error)(error.message.replace(old, new), **details)


def _same(a: WindlassError, b: WindlassError) -> None:
    """Assert two errors cannot be told apart by a caller (type, code, status, text, details)."""
    assert type(a) is type(b)
    assert (a.error_code, a.http_status, str(a), a.message, a.details) == (
        b.error_code,
        b.http_status,
        str(b),
        b.message,
        b.details,
    )


# -- roles ------------------------------------------------------------------------------------
def test_a_viewer_reads_but_does_not_write(world: World) -> None:
    who = world.principal(Role.VIEWER)
    t, m, d = world.tracking.acting_as(who), world.models.acting_as(who), world.deployments
    assert t.get_run(world.run).id == world.run
    assert [r.id for r in t.search_runs(["alpha"]).items] == [world.run]
    assert t.get_project("alpha").id == world.project
    assert m.get_model(world.project, "churn").name == "churn"
    assert m.get_version_by_alias(world.project, "churn", "production").version == 1
    assert d.acting_as(who).get(world.project, "web").name == "web"
    assert world.prompts.acting_as(who).load(world.project, "greet").render(name="x") == "hi x"
    assert world.traces.acting_as(who).get_trace(world.trace)[0].trace_id == world.trace
    writes: list[Callable[[], object]] = [
        lambda: t.create_run(world.project),
        lambda: t.log_params(world.run, {"a": 1}),
        lambda: t.log_metrics(MetricBatch(new_id(), [world.run], ["m"], [1.0], [0], [now_ms()])),
        lambda: m.create_model(world.project, "other"),
        lambda: world.prompts.acting_as(who).register(world.project, "p2", template="x"),
        lambda: d.acting_as(who).create(
            world.project, "web2", [{"name": "a", "model_uri": "models:/churn/1"}]
        ),
        lambda: world.traces.acting_as(who).ingest([_span(new_id())], project="alpha"),
    ]
    for write in writes:
        assert isinstance(_error(write), PermissionDenied)
    assert world.kept.records == []


def test_an_editor_writes_but_neither_deletes_nor_moves_production(world: World) -> None:
    who = world.principal(Role.EDITOR)
    t, m = world.tracking.acting_as(who), world.models.acting_as(who)
    d, p = world.deployments.acting_as(who), world.prompts.acting_as(who)
    run = t.create_run(world.project, name="mine")
    assert run.source.user == who.name
    t.log_params(run.id, {"lr": 0.1})
    t.log_metrics(MetricBatch(new_id(), [run.id], ["loss"], [0.5], [1], [now_ms()]))
    assert world.version(who) == 2
    m.set_alias(world.project, "churn", "staging", 2)
    d.create(world.project, "api", [{"name": "a", "model_uri": "models:/churn/1"}])
    p.register(world.project, "greet", template="hello {{ name }}")
    denied: list[Callable[[], object]] = [
        lambda: m.set_alias(world.project, "churn", "production", 2),
        lambda: m.set_alias(world.project, "churn", "champion", 2),
        lambda: m.delete_alias(world.project, "churn", "production"),
        lambda: t.delete_run(run.id),
        lambda: m.delete_version(world.project, "churn", 2),
        lambda: m.delete_model(world.project, "churn"),
        lambda: p.delete_prompt(world.project, "greet"),
        lambda: d.set_weights(world.project, "web", {"a": 50}),
        lambda: d.promote(world.project, "web", "a"),
        lambda: d.rollback(world.project, "web"),
        lambda: d.delete(world.project, "web"),
    ]
    for call in denied:
        error = _error(call)
        assert isinstance(error, PermissionDenied), error
        assert error.details["role_needed"] == "admin"
    assert m.get_version_by_alias(world.project, "churn", "production").version == 1


def test_an_admin_deletes_and_moves_production(world: World) -> None:
    who = world.principal(Role.ADMIN)
    t, m = world.tracking.acting_as(who), world.models.acting_as(who)
    d, p = world.deployments.acting_as(who), world.prompts.acting_as(who)
    world.version(who)
    move = m.set_alias(world.project, "churn", "production", 2)
    assert (move.from_version, move.to_version) == (1, 2)
    m.delete_alias(world.project, "churn", "production")
    d.set_weights(world.project, "web", {"a": 50})
    d.delete(world.project, "web")
    t.delete_run(world.run)
    t.restore_run(world.run)
    m.delete_version(world.project, "churn", 2)
    p.delete_prompt(world.project, "greet")
    m.delete_model(world.project, "churn")


# -- other projects and strangers -------------------------------------------------------------
def test_another_projects_objects_by_id_look_missing_byte_for_byte(world: World) -> None:
    stranger = world.principal(Role.ADMIN, elsewhere=True)
    t, traces = world.tracking.acting_as(stranger), world.traces.acting_as(stranger)
    missing_run = new_id()
    calls: list[tuple[Callable[[str], object], str, str]] = [
        (t.get_run, world.run, missing_run),
        (lambda r: t.log_params(r, {"a": 1}), world.run, missing_run),
        (lambda r: t.set_tags(r, {"a": 1}), world.run, missing_run),
        (lambda r: t.delete_run(r), world.run, missing_run),
        (lambda r: t.list_artifacts(r), world.run, missing_run),
        (lambda r: t.list_inputs(r), world.run, missing_run),
        (lambda r: t.metric_history_page(r, "loss"), world.run, missing_run),
        (
            lambda r: t.log_metrics(MetricBatch(new_id(), [r], ["m"], [1.0], [0], [now_ms()])),
            world.run,
            missing_run,
        ),
        (traces.get_trace, world.trace, new_id()),
    ]
    for call, existing, missing in calls:
        hidden, absent = _error_of(call, existing), _error_of(call, missing)
        assert isinstance(hidden, NotFound)
        # Byte for byte, but for the id the caller sent.
        _same(_with_id(hidden, existing, missing), absent)
    # ...and the same as what the store itself says of a missing id, to whoever may look.
    _same(
        _with_id(_error(lambda: t.get_run(world.run)), world.run, missing_run),
        _error(lambda: world.tracking.acting_as(world.root).get_run(missing_run)),
    )
    missing_trace = new_id()
    _same(
        _with_id(_error(lambda: traces.get_trace(world.trace)), world.trace, missing_trace),
        _error(lambda: world.traces.acting_as(world.root).get_trace(missing_trace)),
    )
    assert isinstance(_error(lambda: t.get_run(world.run)), RunNotFound)
    assert isinstance(_error(lambda: traces.get_trace(world.trace)), TraceNotFound)


def test_another_projects_objects_by_project_are_denied(world: World) -> None:
    stranger = world.principal(Role.ADMIN, elsewhere=True)
    calls: list[Callable[[], object]] = [
        lambda: world.models.acting_as(stranger).get_model(world.project, "churn"),
        lambda: world.models.acting_as(stranger).create_model(world.project, "x"),
        lambda: world.tracking.acting_as(stranger).search_runs(["alpha"]),
        lambda: world.tracking.acting_as(stranger).create_run(world.project),
        lambda: world.tracking.acting_as(stranger).get_project("alpha"),
        lambda: world.deployments.acting_as(stranger).list(world.project),
        lambda: world.prompts.acting_as(stranger).load(world.project, "greet"),
        lambda: world.traces.acting_as(stranger).search_traces(["alpha"]),
        lambda: world.traces.acting_as(stranger).ingest([_span(new_id())], project="alpha"),
    ]
    for call in calls:
        assert isinstance(_error(call), PermissionDenied)
    # Searching without naming projects finds only the caller's projects.
    mine = world.tracking.acting_as(stranger).create_run(world.other).id
    found = world.tracking.acting_as(stranger).search_runs().items
    assert [r.id for r in found] == [mine]
    listed = world.tracking.acting_as(stranger).list_projects().items
    assert [p.name for p in listed] == ["beta"]


def test_an_unauthenticated_caller_is_refused_before_anything_is_looked_up(
    world: World,
) -> None:
    anon = world.principal(None)
    calls: list[Callable[[], object]] = [
        lambda: world.tracking.acting_as(anon).get_run(world.run),
        lambda: world.tracking.acting_as(anon).get_run(new_id()),
        lambda: world.tracking.acting_as(anon).list_projects(),
        lambda: world.tracking.acting_as(anon).project("alpha"),
        lambda: world.models.acting_as(anon).get_model(world.project, "churn"),
        lambda: world.deployments.acting_as(anon).delete(world.project, "web"),
        lambda: world.traces.acting_as(anon).get_trace(new_id()),
        lambda: world.prompts.acting_as(anon).register(world.project, "x", template="y"),
    ]
    for call in calls:
        assert isinstance(_error(call), Unauthenticated)


def test_only_a_server_admin_creates_a_project(world: World) -> None:
    editor = world.principal(Role.EDITOR)
    error = _error(lambda: world.tracking.acting_as(editor).project("gamma"))
    assert isinstance(error, PermissionDenied)
    assert "'gamma'" in error.message and "server admin" in error.message
    # An existing project is returned to who may read it, creating nothing.
    assert world.tracking.acting_as(editor).project("alpha").id == world.project
    error = _error(
        lambda: world.traces.acting_as(editor).ingest([_span(new_id())], project="gamma")
    )
    assert isinstance(error, PermissionDenied) and "'gamma'" in error.message
    assert world.kept.records == []
    world.tracking.acting_as(world.root).project("gamma")
    assert [r["action"] for r in world.kept.records] == [actions.PROJECT_CREATE]


# -- auth off -------------------------------------------------------------------------------
def test_with_auth_off_everything_passes_as_before(tmp_path: Path) -> None:
    world = _world(f"sqlite:///{tmp_path / 'off.db'}", tmp_path, enabled=False)
    try:
        anon = Principal("anon")
        t, m = world.tracking.acting_as(anon), world.models.acting_as(anon)
        run = t.create_run(world.project)
        t.log_params(run.id, {"a": 1})
        t.delete_run(run.id)
        assert m.set_alias(world.project, "churn", "champion", 1).to_version == 1
        world.deployments.acting_as(anon).delete(world.project, "web")
        world.traces.acting_as(anon).ingest([_span(new_id())], project="new-one")
        assert t.get_project("new-one").name == "new-one"
        assert {p.name for p in t.list_projects().items} == {"alpha", "beta", "new-one"}
        # Still recorded: the audit trail does not depend on auth.
        assert [r["action"] for r in world.kept.records][:2] == [
            actions.RUN_CREATE,
            actions.RUN_PARAMS,
        ]
    finally:
        world.tracking.close()


def test_acting_as_is_a_shallow_copy_sharing_store_and_caches(world: World) -> None:
    who = world.principal(Role.VIEWER)
    bound = world.tracking.acting_as(who)
    assert bound is not world.tracking and bound.principal is who
    assert bound.store is world.tracking.store and bound.access is world.tracking.access
    assert bound._run_projects is world.tracking._run_projects
    assert world.tracking.principal is not who
    traces = world.traces.acting_as(who)
    assert traces._project_ids is world.traces._project_ids
    # A call's own principal still wins over the bound one.
    made = world.tracking.acting_as(who).create_run(world.project, principal=world.root)
    assert made.source.user == "root"


# -- the audit trail ------------------------------------------------------------------------
def _held(call: Callable[[], object]) -> ApprovalPending:
    """Return the ApprovalPending ``call`` raises (a move held for two-person review)."""
    with pytest.raises(ApprovalPending) as held:
        call()
    return held.value


def test_each_mutation_appends_exactly_one_record(world: World, tmp_path: Path) -> None:
    who = world.principal(Role.ADMIN)
    t, m = world.tracking.acting_as(who), world.models.acting_as(who)
    d, p = world.deployments.acting_as(who), world.prompts.acting_as(who)
    traces = world.traces.acting_as(who)
    run = world.run
    local = tmp_path / "out.txt"
    local.write_text("x")
    alpha = world.project
    fresh = new_id()
    variant = {"name": "b", "model_uri": "models:/churn/1"}
    steps: list[tuple[Callable[[], object], str, str]] = [
        (lambda: t.create_run(alpha, run_id=fresh), actions.RUN_CREATE, f"runs:/{fresh}"),
        (lambda: t.update_run(run, name="renamed"), actions.RUN_UPDATE, f"runs:/{run}"),
        (lambda: t.log_params(run, {"lr": 1}), actions.RUN_PARAMS, f"runs:/{run}"),
        (lambda: t.set_tags(run, {"k": "v"}), actions.RUN_TAGS, f"runs:/{run}"),
        (lambda: t.delete_tag(run, "k"), actions.RUN_TAG_DELETE, f"runs:/{run}"),
        (
            lambda: t.log_metrics(
                MetricBatch(new_id(), [run, run], ["a", "b"], [1.0, 2.0], [0, 0], [1, 1])
            ),
            actions.RUN_METRICS,
            f"runs:/{run}",
        ),
        (
            lambda: t.log_inputs(run, [DatasetInput("d", "abc", "training", "", None, {})]),
            actions.RUN_INPUTS,
            f"runs:/{run}",
        ),
        (lambda: t.log_artifact(run, local), actions.RUN_ARTIFACTS, f"runs:/{run}"),
        (lambda: t.end_run(run), actions.RUN_UPDATE, f"runs:/{run}"),
        (lambda: t.delete_run(run), actions.RUN_DELETE, f"runs:/{run}"),
        (lambda: t.restore_run(run), actions.RUN_RESTORE, f"runs:/{run}"),
        (lambda: m.create_model(alpha, "risk"), actions.MODEL_CREATE, "models:/risk"),
        (
            lambda: m.update_model(alpha, "risk", description="d"),
            actions.MODEL_UPDATE,
            "models:/risk",
        ),
        (lambda: world.version(who), actions.MODEL_VERSION_CREATE, "models:/churn/2"),
        (
            lambda: m.set_alias(alpha, "churn", "production", 2),
            actions.MODEL_ALIAS_SET,
            "models:/churn@production",
        ),
        (
            lambda: m.delete_alias(alpha, "churn", "production"),
            actions.MODEL_ALIAS_DELETE,
            "models:/churn@production",
        ),
        (
            lambda: m.delete_version(alpha, "churn", 2),
            actions.MODEL_VERSION_DELETE,
            "models:/churn/2",
        ),
        (lambda: m.delete_model(alpha, "risk"), actions.MODEL_DELETE, "models:/risk"),
        (lambda: p.create_prompt(alpha, "ask"), actions.PROMPT_CREATE, "prompts:/ask"),
        (
            lambda: p.register(alpha, "ask", template="q"),
            actions.PROMPT_VERSION_CREATE,
            "prompts:/ask/1",
        ),
        (
            lambda: p.set_alias(alpha, "ask", "production", 1),
            actions.PROMPT_ALIAS_SET,
            "prompts:/ask@production",
        ),
        (
            lambda: p.delete_alias(alpha, "ask", "production"),
            actions.PROMPT_ALIAS_DELETE,
            "prompts:/ask@production",
        ),
        (lambda: p.delete_prompt(alpha, "ask"), actions.PROMPT_DELETE, "prompts:/ask"),
        (
            lambda: d.create(alpha, "api", [{"name": "a", "model_uri": "models:/churn/1"}]),
            actions.DEPLOYMENT_CREATE,
            "deployments:/api",
        ),
        (
            lambda: d.set_variants(alpha, "api", [variant, {**variant, "name": "c"}]),
            actions.DEPLOYMENT_UPDATE,
            "deployments:/api",
        ),
        (
            lambda: d.set_weights(alpha, "api", {"b": 10}),
            actions.DEPLOYMENT_WEIGHTS,
            "deployments:/api",
        ),
        (
            lambda: d.set_shadow(alpha, "api", {"name": "s", "model_uri": "models:/churn/1"}),
            actions.DEPLOYMENT_SHADOW,
            "deployments:/api",
        ),
        (lambda: d.promote(alpha, "api", "b"), actions.DEPLOYMENT_PROMOTE, "deployments:/api"),
        (lambda: d.rollback(alpha, "api"), actions.DEPLOYMENT_ROLLBACK, "deployments:/api"),
        (lambda: d.delete(alpha, "api"), actions.DEPLOYMENT_DELETE, "deployments:/api"),
        (
            lambda: traces.ingest([_span(new_id()), _span(new_id())], project="alpha"),
            actions.TRACE_INGEST,
            "traces:/alpha",
        ),
    ]
    seen = set()
    for call, action, uri in steps:
        world.kept.records.clear()
        call()
        assert [(r["action"], r["uri"]) for r in world.kept.records] == [(action, uri)]
        record = world.kept.records[0]
        assert record["who"] == who.name and record["project_id"] == alpha
        seen.add(action)
    assert record["after"] == {"accepted": 2, "duplicates": 0}
    # Project settings, and two-person review: a request, its approval by a second admin,
    # the rejection of another request.
    governance = ProjectGovernance(
        world.tracking.store, {"model": world.models}, access=world.models.access
    )
    second = _token("second-admin", (alpha, Role.ADMIN))
    review: list[tuple[Callable[[], object], str, str, Principal]] = [
        (
            lambda: governance.update_project_settings(
                alpha, two_person_review=True, principal=who
            ),
            actions.PROJECT_SETTINGS,
            "projects:/alpha",
            who,
        ),
        (
            lambda: _held(lambda: m.set_alias(alpha, "churn", "champion", 1)),
            actions.ALIAS_REQUEST,
            "models:/churn@champion",
            who,
        ),
    ]
    for call, action, uri, by in review:
        world.kept.records.clear()
        call()
        assert [(r["action"], r["uri"], r["who"]) for r in world.kept.records] == [
            (action, uri, by.name)
        ]
        seen.add(action)
    first, *_ = governance.list_alias_requests(alpha, principal=who)
    world.kept.records.clear()
    governance.approve(alpha, first.id, principal=second)
    _held(lambda: m.set_alias(alpha, "churn", "champion", 1))
    other = governance.list_alias_requests(alpha, principal=who)[0]
    governance.reject(alpha, other.id, principal=second)
    assert [(r["action"], r["who"]) for r in world.kept.records] == [
        (actions.ALIAS_APPROVE, second.name),
        (actions.ALIAS_REQUEST, who.name),
        (actions.ALIAS_REJECT, second.name),
    ]
    seen |= {actions.ALIAS_APPROVE, actions.ALIAS_REJECT}
    # Every action named in the table but project.create (tested above) was exercised.
    assert set(actions.ACTIONS) - seen == {actions.PROJECT_CREATE}


def test_audit_records_keep_what_changed_not_metric_values(world: World) -> None:
    who = world.principal(Role.ADMIN)
    world.version(who)
    world.models.acting_as(who).set_alias(world.project, "churn", "production", 2)
    world.tracking.acting_as(who).log_metrics(
        MetricBatch(new_id(), [world.run], ["loss"], [0.123456], [3], [now_ms()])
    )
    alias, metrics = world.kept.records[-2], world.kept.records[-1]
    assert (alias["before"], alias["after"]) == ({"version": 1}, {"version": 2})
    assert metrics["after"]["keys"] == ["loss"] and metrics["after"]["count"] == 1
    assert "0.123456" not in json.dumps(metrics)
    # Moving an alias to the version it names already moves nothing and records nothing.
    world.kept.records.clear()
    world.models.acting_as(who).set_alias(world.project, "churn", "production", 2)
    assert world.kept.records == []


def test_the_real_audit_trail_keeps_what_the_services_record(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'trail.db'}")
    trail = AuditTrail(store)
    access = Access(Policy(enabled=True), trail)
    tracking = Tracking(store, open_blob_store(str(tmp_path / "blobs")), access=access)
    try:
        root = _token("root", admin=True)
        bound = tracking.acting_as(root)
        project = bound.project("alpha").id
        run = bound.create_run(project)
        bound.log_metrics(MetricBatch(new_id(), [run.id], ["loss"], [0.5], [0], [now_ms()]))
        bound.delete_run(run.id)
        kept = trail.list(root, project="alpha").items
        assert [(r.action, r.object_uri) for r in kept] == [
            (actions.RUN_DELETE, f"runs:/{run.id}"),
            (actions.RUN_METRICS, f"runs:/{run.id}"),
            (actions.RUN_CREATE, f"runs:/{run.id}"),
            (actions.PROJECT_CREATE, "projects:/alpha"),
        ]
    finally:
        tracking.close()
