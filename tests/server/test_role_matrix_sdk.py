"""The role matrix and audit completeness through the REST client, over a real server.

The server, seeded store and callers of ``test_role_matrix`` (see ``matrix_world``), and
the same table: the operations of the OpenAPI document with the permission each declares.
Here every call goes through the SDK, ``windlass.Client(tracking_uri=<server>,
token=...)``, and the REST faces the CLI builds on its store (``RestIdentity``,
``RestGovernance``, the audit trail over the ``RestStore``). Each SDK call below stands for
one operation of the document, and as each caller it must raise what that operation's
permission says: Unauthenticated without a token, PermissionDenied for too small a role,
for an admin of another project the not-found of a missing id (calls naming an object by
id) or PermissionDenied (calls naming the project), and nothing for a caller allowed.

Every response the client receives is seen (an httpx event hook on the client's own
connection pool), so the test knows which operations the SDK reached: together the calls
must reach every mutating operation of the document but those listed as not the SDK's.
An allowed mutation must leave exactly the audit records it stands for (one per change,
recorded against the caller's user), a refused one none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from matrix_world import NEEDED, NOT_AUDITED, ROLES, World, make_world, operations

import windlass
from windlass.access import actions
from windlass.access.audit import AuditTrail
from windlass.entities import AuditRecord, MetricBatch, Span
from windlass.exceptions import (
    ApprovalPending,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    WindlassError,
)
from windlass.genai.prompts.registry import PromptRegistry
from windlass.ids import new_id, now_ms
from windlass.principal import Role
from windlass.store.rest.governance import RestGovernance
from windlass.store.rest.identity import RestIdentity
from windlass.store.rest.store import RestStore
from windlass_testing import ServerProcess

#: Every caller of the raw matrix, and root (a server admin) for what only it may do.
CALLERS = (*ROLES, "root")
USERS = {"viewer": "vic", "editor": "eda", "admin": "ada", "other": "sam", "root": "root"}
#: Mutating operations no SDK call sends, and why.
NOT_THE_SDKS = {
    ("POST", "/v1/traces"): "OTLP for OpenTelemetry exporters; the SDK sends spans to .../spans",
    ("POST", "/api/v1/projects/{project}/deployments/{name}/promote"): (
        "for HTTP clients: the SDK sends the promoted state (PATCH, action promote)"
    ),
    ("POST", "/api/v1/projects/{project}/deployments/{name}/rollback"): (
        "for HTTP clients: the SDK sends the restored state (PATCH, action rollback)"
    ),
}
#: The one variant of the deployments the calls make.
VARIANT = {"name": "one", "model_uri": "models:/m@staging", "weight": 1.0}


@dataclass
class Caller:
    """One caller's SDK client, and the responses it received during the current call."""

    role: str
    client: windlass.Client
    received: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def store(self) -> RestStore:
        store = self.client.tracking.store
        assert isinstance(store, RestStore)
        return store

    @property
    def identity(self) -> RestIdentity:
        return RestIdentity(self.store.transport)

    @property
    def governance(self) -> RestGovernance:
        return RestGovernance(self.store.transport)

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.store)

    @property
    def prompt_registry(self) -> PromptRegistry:
        tracking = self.client.tracking
        return PromptRegistry(tracking.store, principal=self.client.principal)


@dataclass
class Callers:
    """The callers of one world, by role."""

    world: World
    by_role: dict[str, Caller]
    scratch: Path

    @property
    def root(self) -> Caller:
        return self.by_role["root"]


@pytest.fixture(params=["sqlite", "postgresql"])
def callers(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server_factory: type[ServerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callers]:
    """A server with auth on over the seeded store, and an SDK client per caller."""
    world = make_world(request, tmp_path, server_factory, monkeypatch)
    monkeypatch.delenv("WINDLASS_TOKEN", raising=False)  # anonymous sends no token
    by_role = {}
    for role in CALLERS:
        client = windlass.Client(world.url, project="alpha", token=world.tokens[role])
        caller = Caller(role, client)

        def seen(response: httpx.Response, caller: Caller = caller) -> None:
            request = response.request
            caller.received.append((request.method, request.url.path, response.status_code))

        caller.store.transport.client.event_hooks["response"] = [seen]
        by_role[role] = caller
    yield Callers(world, by_role, tmp_path)
    for caller in by_role.values():
        caller.client.close()


# -- what each call prepares (as root) for its caller ------------------------------------------
def _world(cs: Callers, role: str) -> World:
    return cs.world


def _run(cs: Callers, role: str) -> str:
    return cs.root.client.tracking.create_run(cs.world.alpha, name=f"for-{role}").id


def _tagged_run(cs: Callers, role: str) -> str:
    run = _run(cs, role)
    cs.root.client.runs.set_tags({"t": "v"}, run_id=run)
    return run


def _deleted_run(cs: Callers, role: str) -> str:
    run = _run(cs, role)
    cs.root.client.runs.delete(run)
    return run


def _model(prefix: str) -> Callable[[Callers, str], str]:
    def prepare(cs: Callers, role: str) -> str:
        name = f"{prefix}-{role}"
        cs.root.client.models.register(f"runs:/{cs.world.run}/model", name)
        return name

    return prepare


def _model_alias(cs: Callers, role: str) -> str:
    cs.root.client.models.set_alias("m", f"x-{role}", 1)
    return f"x-{role}"


def _prompt_alias(cs: Callers, role: str) -> str:
    cs.root.client.prompts.set_alias("greet", f"x-{role}", 1)
    return f"x-{role}"


def _prompt(cs: Callers, role: str) -> str:
    cs.root.client.prompts.register(f"pd-{role}", "bye {{ x }}")
    return f"pd-{role}"


def _deployment(prefix: str, reweigh: bool = False) -> Callable[[Callers, str], str]:
    def prepare(cs: Callers, role: str) -> str:
        name = f"{prefix}-{role}"
        cs.root.client.deployments.create(name, [VARIANT])
        if reweigh:  # a second revision to roll back from
            cs.root.client.deployments.set_weights(name, {"one": 3.0})
        return name

    return prepare


def _user(prefix: str, member: bool = False) -> Callable[[Callers, str], str]:
    def prepare(cs: Callers, role: str) -> str:
        name = f"{prefix}-{role}"
        cs.root.identity.create_user(cs.root.client.principal, name)
        if member:
            cs.root.identity.set_member(cs.root.client.principal, "alpha", name, "viewer")
        return name

    return prepare


def _own_token(cs: Callers, role: str) -> str:
    """A token of the caller's user (of root's for anonymous) for it to revoke."""
    user = USERS.get(role, "root")
    token, _secret = cs.root.identity.create_token(cs.root.client.principal, user=user)
    return token.id


def _alias_request(prefix: str) -> Callable[[Callers, str], str]:
    """Prepare a pending move of ``<prefix>-<role>``'s ``production`` by another admin."""

    def prepare(cs: Callers, role: str) -> str:
        name = _model(prefix)(cs, role)
        cs.root.governance.update_project_settings("alpha", two_person_review=True)
        requester = cs.by_role["root" if role == "admin" else "admin"]
        with pytest.raises(ApprovalPending) as held:
            requester.client.models.set_alias(name, "production", 1)
        request_id: str = held.value.details["request_id"]
        return request_id

    return prepare


def _artifact(cs: Callers, role: str) -> tuple[str, Path]:
    path = cs.scratch / f"notes-{role}.txt"
    path.write_text(f"written for {role}")
    return _run(cs, role), path


def _span() -> Span:
    return Span(
        trace_id=new_id(),
        span_id=new_id()[:16],
        name="sdk",
        start_time_ns=1,
        end_time_ns=2,
        resource={"windlass.project": "alpha"},
    )


def _start_and_end(c: Caller) -> None:
    with c.client.runs.start(name=f"sdk-{c.role}"):
        pass


@dataclass(frozen=True)
class SdkCall:
    """One SDK call, the operation of the document it stands for, and what it records.

    ``prepare`` runs as root before the call, for each caller (a fresh object to change or
    delete); ``run`` is the caller's call. ``by_id``: the call names its object by id only,
    so another project's admin must get the not-found a missing id gets. ``needs``: the
    domain's rule where it is stricter than the route's declared permission (and why).
    ``records``: the audit actions an allowed call appends, oldest first.
    """

    op: tuple[str, str]
    run: Callable[[Caller, Any], object]
    prepare: Callable[[Callers, str], Any] = _world
    records: tuple[str, ...] = ()
    by_id: bool = False
    needs: tuple[str, str] | None = None


P = "/api/v1/projects/{project}"
CALLS: dict[str, SdkCall] = {
    # -- projects --------------------------------------------------------------------------
    "projects.get": SdkCall(
        ("GET", "/api/v1/projects/{name_or_id}"),
        lambda c, w: c.client.tracking.get_project("alpha"),
    ),
    "projects.create": SdkCall(
        ("POST", "/api/v1/projects"),
        lambda c, w: c.client.tracking.project(f"proj-{c.role}"),
        records=(actions.PROJECT_CREATE,),
        needs=("server_admin", "get-or-create: only a server admin creates a project"),
    ),
    "projects.settings": SdkCall(
        ("PATCH", P + "/settings"),
        lambda c, w: c.governance.update_project_settings(
            "alpha", protected_aliases=["production", "champion", f"p-{c.role}"]
        ),
        records=(actions.PROJECT_SETTINGS,),
    ),
    # -- runs ------------------------------------------------------------------------------
    "runs.start": SdkCall(
        ("POST", "/api/v1/runs"),
        lambda c, w: _start_and_end(c),
        records=(actions.RUN_CREATE, actions.RUN_UPDATE),
    ),
    "runs.update": SdkCall(
        ("PATCH", "/api/v1/runs/{run_id}"),
        lambda c, run: c.client.tracking.update_run(run, name=f"renamed-by-{c.role}"),
        _run,
        (actions.RUN_UPDATE,),
        by_id=True,
    ),
    "runs.log_params": SdkCall(
        ("POST", "/api/v1/runs/{run_id}/params"),
        lambda c, run: c.client.runs.log_params({"depth": 3}, run_id=run),
        _run,
        (actions.RUN_PARAMS,),
        by_id=True,
    ),
    "runs.set_tags": SdkCall(
        ("POST", "/api/v1/runs/{run_id}/tags"),
        lambda c, run: c.client.runs.set_tags({"k": "v"}, run_id=run),
        _run,
        (actions.RUN_TAGS,),
        by_id=True,
    ),
    "runs.delete_tag": SdkCall(
        ("DELETE", "/api/v1/runs/{run_id}/tags"),
        lambda c, run: c.client.tracking.delete_tag(run, "t"),
        _tagged_run,
        (actions.RUN_TAG_DELETE,),
        by_id=True,
    ),
    "runs.log_metrics": SdkCall(
        ("POST", "/api/v1/metrics"),
        lambda c, run: c.client.tracking.log_metrics(
            MetricBatch(new_id(), [run], ["loss"], [0.25], [1], [now_ms()])
        ),
        _run,
        (actions.RUN_METRICS,),
        by_id=True,
    ),
    "runs.log_input": SdkCall(
        ("POST", "/api/v1/runs/{run_id}/inputs"),
        lambda c, run: c.client.runs.log_input(np.arange(6.0).reshape(3, 2), "train", run_id=run),
        _run,
        (actions.RUN_INPUTS,),
        by_id=True,
    ),
    "runs.log_artifact": SdkCall(
        ("POST", "/api/v1/runs/{run_id}/artifacts"),
        lambda c, made: c.client.runs.log_artifact(made[1], run_id=made[0]),
        _artifact,
        (actions.RUN_ARTIFACTS,),
        by_id=True,
    ),
    "runs.delete": SdkCall(
        ("DELETE", "/api/v1/runs/{run_id}"),
        lambda c, run: c.client.runs.delete(run),
        _run,
        (actions.RUN_DELETE,),
        by_id=True,
    ),
    "runs.restore": SdkCall(
        ("POST", "/api/v1/runs/{run_id}/restore"),
        lambda c, run: c.client.runs.restore(run),
        _deleted_run,
        (actions.RUN_RESTORE,),
        by_id=True,
    ),
    "runs.get": SdkCall(
        ("GET", "/api/v1/runs/{run_id}"), lambda c, w: c.client.runs.get(w.run), by_id=True
    ),
    "runs.metric_history": SdkCall(
        ("GET", "/api/v1/runs/{run_id}/metric-history"),
        lambda c, w: c.client.runs.get_metric_history(w.run, "loss"),
        by_id=True,
    ),
    "runs.artifacts": SdkCall(
        ("GET", "/api/v1/runs/{run_id}/artifacts"),
        lambda c, w: c.client.runs.list_artifacts(w.run),
        by_id=True,
    ),
    "runs.search": SdkCall(
        ("POST", "/api/v1/runs/search"),
        lambda c, w: c.client.runs.search("alpha", output_format="list"),
    ),
    # -- models ----------------------------------------------------------------------------
    "models.register": SdkCall(
        ("POST", P + "/models/{name}/versions"),
        lambda c, w: c.client.models.register(f"runs:/{w.run}/model", f"reg-{c.role}"),
        records=(actions.MODEL_CREATE, actions.MODEL_VERSION_CREATE),
    ),
    "models.update": SdkCall(
        ("PATCH", P + "/models/{name}"),
        lambda c, w: c.client.models.update("m", description=f"by {c.role}"),
        records=(actions.MODEL_UPDATE,),
    ),
    "models.set_alias": SdkCall(
        ("PUT", P + "/models/{name}/aliases/{alias}"),
        lambda c, w: c.client.models.set_alias("m", f"a-{c.role}", 1),
        records=(actions.MODEL_ALIAS_SET,),
    ),
    "models.delete_alias": SdkCall(
        ("DELETE", P + "/models/{name}/aliases/{alias}"),
        lambda c, alias: c.client.models.delete_alias("m", alias),
        _model_alias,
        (actions.MODEL_ALIAS_DELETE,),
    ),
    "models.delete_version": SdkCall(
        ("DELETE", P + "/models/{name}/versions/{version}"),
        lambda c, name: c.client.models.delete_version(name, 1),
        _model("dv"),
        (actions.MODEL_VERSION_DELETE,),
    ),
    "models.delete": SdkCall(
        ("DELETE", P + "/models/{name}"),
        lambda c, name: c.client.models.delete(name),
        _model("dm"),
        (actions.MODEL_DELETE,),
    ),
    "models.get": SdkCall(("GET", P + "/models/{name}"), lambda c, w: c.client.models.get("m")),
    "models.lineage": SdkCall(
        ("GET", P + "/models/{name}/versions/{version}"),  # then the run and its inputs
        lambda c, w: c.client.models.lineage("m", 1),
    ),
    # -- deployments -----------------------------------------------------------------------
    "deployments.create": SdkCall(
        ("POST", P + "/deployments"),
        lambda c, w: c.client.deployments.create(f"dc-{c.role}", [VARIANT]),
        records=(actions.DEPLOYMENT_CREATE,),
    ),
    "deployments.set_weights": SdkCall(
        ("PATCH", P + "/deployments/{name}"),
        lambda c, name: c.client.deployments.set_weights(name, {"one": 2.0}),
        _deployment("dw"),
        (actions.DEPLOYMENT_WEIGHTS,),
    ),
    "deployments.promote": SdkCall(
        ("PATCH", P + "/deployments/{name}"),  # the new state, action promote
        lambda c, name: c.client.deployments.promote(name, "one"),
        _deployment("dp"),
        (actions.DEPLOYMENT_PROMOTE,),
    ),
    "deployments.rollback": SdkCall(
        ("PATCH", P + "/deployments/{name}"),  # the new state, action rollback
        lambda c, name: c.client.deployments.rollback(name),
        _deployment("dr", reweigh=True),
        (actions.DEPLOYMENT_ROLLBACK,),
    ),
    "deployments.set_variants": SdkCall(
        ("PATCH", P + "/deployments/{name}"),
        lambda c, name: c.client.deployments.set_variants(
            name, [VARIANT, {**VARIANT, "name": "two"}]
        ),
        _deployment("dv"),
        (actions.DEPLOYMENT_UPDATE,),
    ),
    "deployments.set_shadow": SdkCall(
        ("PATCH", P + "/deployments/{name}"),
        lambda c, name: c.client.deployments.set_shadow(
            name, {"name": "shadow", "model_uri": "models:/m@staging"}
        ),
        _deployment("ds"),
        (actions.DEPLOYMENT_SHADOW,),
    ),
    "deployments.delete": SdkCall(
        ("DELETE", P + "/deployments/{name}"),
        lambda c, name: c.client.deployments.delete(name),
        _deployment("dd"),
        (actions.DEPLOYMENT_DELETE,),
    ),
    "deployments.get": SdkCall(
        ("GET", P + "/deployments/{name}"), lambda c, w: c.client.deployments.get("d")
    ),
    "deployments.history": SdkCall(
        ("GET", P + "/deployments/{name}/history"),
        lambda c, w: c.client.deployments.history("d"),
    ),
    # -- prompts ---------------------------------------------------------------------------
    "prompts.create": SdkCall(
        ("POST", P + "/prompts"),
        lambda c, w: c.client.prompts.register(f"new-{c.role}", "hi {{ x }}"),
        records=(actions.PROMPT_CREATE, actions.PROMPT_VERSION_CREATE),
    ),
    "prompts.register": SdkCall(
        ("POST", P + "/prompts/{name}/versions"),
        lambda c, w: c.client.prompts.register("greet", f"hello {c.role} {{{{ x }}}}"),
        records=(actions.PROMPT_VERSION_CREATE,),
    ),
    "prompts.set_alias": SdkCall(
        ("PUT", P + "/prompts/{name}/aliases/{alias}"),
        lambda c, w: c.client.prompts.set_alias("greet", f"a-{c.role}", 1),
        records=(actions.PROMPT_ALIAS_SET,),
    ),
    "prompts.delete_alias": SdkCall(
        ("DELETE", P + "/prompts/{name}/aliases/{alias}"),
        lambda c, alias: c.client.prompts.delete_alias("greet", alias),
        _prompt_alias,
        (actions.PROMPT_ALIAS_DELETE,),
    ),
    "prompts.delete": SdkCall(
        ("DELETE", P + "/prompts/{name}"),
        lambda c, name: c.prompt_registry.delete_prompt(c.client.project_id("alpha"), name),
        _prompt,
        (actions.PROMPT_DELETE,),
    ),
    "prompts.load": SdkCall(
        ("GET", P + "/prompts/{name}/aliases/{alias}"),
        lambda c, w: c.client.prompts.load("greet@staging"),
    ),
    # -- traces ----------------------------------------------------------------------------
    "traces.ingest": SdkCall(
        ("POST", P + "/spans"),
        lambda c, w: c.client.traces.ingest([_span()]),
        records=(actions.TRACE_INGEST,),
    ),
    "traces.search": SdkCall(
        ("GET", "/api/v1/traces"), lambda c, w: c.client.traces.search("alpha")
    ),
    "traces.get": SdkCall(
        ("GET", "/api/v1/traces/{trace_id}"), lambda c, w: c.client.traces.get(w.trace), by_id=True
    ),
    # -- users, tokens, members ------------------------------------------------------------
    "whoami": SdkCall(
        ("GET", "/api/v1/whoami"), lambda c, w: c.identity.whoami(c.client.principal)
    ),
    "users.create": SdkCall(
        ("POST", "/api/v1/users"),
        lambda c, w: c.identity.create_user(c.client.principal, f"new-{c.role}"),
        records=(actions.USER_CREATE,),
    ),
    "users.disable": SdkCall(
        ("PATCH", "/api/v1/users/{name}"),
        lambda c, name: c.identity.disable_user(c.client.principal, name),
        _user("ud"),
        (actions.USER_UPDATE,),
    ),
    "users.list": SdkCall(
        ("GET", "/api/v1/users"), lambda c, w: c.identity.list_users(c.client.principal)
    ),
    "tokens.create": SdkCall(
        ("POST", "/api/v1/tokens"),
        lambda c, w: c.identity.create_token(c.client.principal, name="sdk"),
        records=(actions.TOKEN_CREATE,),
    ),
    "tokens.revoke": SdkCall(
        ("DELETE", "/api/v1/tokens/{token_id}"),
        lambda c, token: c.identity.revoke_token(c.client.principal, token),
        _own_token,
        (actions.TOKEN_REVOKE,),
    ),
    "tokens.list": SdkCall(
        ("GET", "/api/v1/tokens"), lambda c, w: c.identity.list_tokens(c.client.principal)
    ),
    "members.set": SdkCall(
        ("PUT", P + "/members/{user}"),
        lambda c, name: c.identity.set_member(c.client.principal, "alpha", name, "viewer"),
        _user("ms"),
        (actions.MEMBER_SET,),
    ),
    "members.remove": SdkCall(
        ("DELETE", P + "/members/{user}"),
        lambda c, name: c.identity.remove_member(c.client.principal, "alpha", name),
        _user("mr", member=True),
        (actions.MEMBER_REMOVE,),
    ),
    "members.list": SdkCall(
        ("GET", P + "/members"),
        lambda c, w: c.identity.list_members(c.client.principal, "alpha"),
    ),
    # -- governance and the audit trail ----------------------------------------------------
    "alias_requests.list": SdkCall(
        ("GET", P + "/alias-requests"), lambda c, w: c.governance.list_alias_requests("alpha")
    ),
    "alias_requests.approve": SdkCall(
        ("POST", P + "/alias-requests/{request_id}/approve"),
        lambda c, request_id: c.governance.approve("alpha", request_id),
        _alias_request("approved"),
        (actions.ALIAS_APPROVE,),
    ),
    "alias_requests.reject": SdkCall(
        ("POST", P + "/alias-requests/{request_id}/reject"),
        lambda c, request_id: c.governance.reject("alpha", request_id),
        _alias_request("rejected"),
        (actions.ALIAS_REJECT,),
    ),
    "audit.list": SdkCall(
        ("GET", "/api/v1/audit"),
        lambda c, w: c.audit.list(c.client.principal, project="alpha"),
        needs=("admin", "the trail is for server admins and the project's admins"),
    ),
}


def _expected(call: SdkCall, role: str, permission: str) -> type[WindlassError] | None:
    """Return what ``role`` must get from ``call`` (None: it succeeds)."""
    needs = permission if call.needs is None else call.needs[0]
    if needs == "public":
        return None
    if role == "anonymous":
        return Unauthenticated
    if role == "root" or needs == "authenticated":
        return None
    if needs == "server_admin":
        return PermissionDenied
    if role == "other":
        return NotFound if call.by_id else PermissionDenied
    return PermissionDenied if Role(role) < NEEDED[needs] else None


def _template(method: str, path: str, table: dict[tuple[str, str], re.Pattern[str]]) -> str:
    """Return the path template of the document's operation a request was sent to."""
    matches = [t for (m, t), pattern in table.items() if m == method and pattern.fullmatch(path)]
    assert matches, f"{method} {path} is no operation of the document"
    return min(matches, key=lambda t: t.count("{"))


def _newest(trail: AuditTrail, who: Any) -> list[AuditRecord]:
    return list(trail.list(who, max_results=200).items)


def _appended(trail: AuditTrail, who: Any, before: str | None) -> list[AuditRecord]:
    """Return the records appended since the record ``before`` (oldest first)."""
    fresh = []
    for record in _newest(trail, who):
        if record.id == before:
            break
        fresh.append(record)
    else:
        assert before is None, "more than a page of records appended by one call"
    return fresh[::-1]


def test_every_sdk_call_answers_each_caller_as_its_operation_says(callers: Callers) -> None:
    world, root = callers.world, callers.root
    declared = {(m, p): permission for m, p, permission in operations(world.url)}
    table = {op: re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(op[1]))) for op in declared}
    unknown = [(name, call.op) for name, call in CALLS.items() if call.op not in declared]
    assert unknown == [], "these calls stand for operations the server does not have"
    trail, who = root.audit, root.client.principal
    reached: set[tuple[str, str]] = set()
    checked = 0
    for name, call in CALLS.items():
        for role in CALLERS:
            caller = callers.by_role[role]
            context = call.prepare(callers, role)
            newest = _newest(trail, who)
            before = newest[0].id if newest else None
            caller.received.clear()
            raised: WindlassError | None = None
            try:
                call.run(caller, context)
            except WindlassError as error:
                raised = error
            what = f"{name} as {role}: raised {raised!r}"
            sent = {(m, _template(m, p, table)): s for m, p, s in caller.received}
            reached |= {op for op, status in sent.items() if status < 300}
            expected = _expected(call, role, declared[call.op])
            appended = _appended(trail, who, before)
            if expected is None:
                assert raised is None, what
                assert sent.get(call.op, 999) < 300, f"{name} never sent {call.op}: {sent}"
                assert [r.action for r in appended] == list(call.records), what
                assert {r.principal for r in appended} <= {USERS[role]}, what
                assert {r.address for r in appended} <= {"127.0.0.1"}, what
            else:
                assert isinstance(raised, expected), f"{what}; expected {expected.__name__}"
                if expected is not NotFound:  # the not-found a missing id gets, as it is
                    assert type(raised) is expected, what
                assert appended == [], f"{what}: a refused call left {appended}"
            checked += 1
    assert checked == len(CALLS) * len(CALLERS)
    # Together the calls reached every mutating operation but the ones not the SDK's.
    mutating = {op for op in declared if op[0] not in ("GET", "HEAD")}
    missing = sorted(mutating - reached - set(NOT_AUDITED) - set(NOT_THE_SDKS))
    assert missing == [], f"no SDK call reaches these operations: add one to CALLS: {missing}"
    # The calls record every action there is but alias.request (the held move the approve
    # and reject calls are prepared with) and auth.fail (no call: a refused credential).
    named = {a for call in CALLS.values() for a in call.records}
    every = set(actions.ACTIONS) | set(actions.IDENTITY_ACTIONS)
    assert sorted(every - named) == [actions.ALIAS_REQUEST, actions.AUTH_FAIL]
    world.assert_no_secret_logged()
