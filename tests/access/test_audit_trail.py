"""The audit trail: records from the principal, redacted, JSON-safe, bounded; who may list."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import orjson
import pytest

from windlass.access.audit import AuditTrail, parse_time
from windlass.access.gate import Access, AuditSink
from windlass.access.policy import Policy
from windlass.access.redaction import MAX_AUDIT_DEPTH, MAX_AUDIT_JSON_BYTES, REDACTED, audit_json
from windlass.entities import Variant
from windlass.exceptions import InvalidInput, PermissionDenied, Unauthenticated
from windlass.ids import new_id, now_ms
from windlass.principal import AuthMethod, Principal, PrincipalKind, Role
from windlass.store.sql.store import SqlStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    sql = SqlStore(f"sqlite:///{tmp_path / 'audit.db'}")
    yield sql
    sql.close()


def test_the_trail_is_an_audit_sink_and_builds_records_from_the_principal(store: SqlStore) -> None:
    trail: AuditSink = AuditTrail(store)
    ada = Principal(
        "ada",
        kind=PrincipalKind.SERVICE,
        auth=AuthMethod.TOKEN,
        user_id="u1",
        address="2001:db8::7",
    )
    Access(audit=trail).record(
        ada,
        "deployment.weights",
        "deployments:/web",
        project_id="p" * 32,
        before={"variants": [Variant("a", "models:/m/1", 1.0)]},
        after={"variants": [Variant("a", "models:/m/1", 0.5), Variant("b", "models:/m/2", 0.5)]},
    )
    (record,) = store.audit.list().items
    assert (record.principal, record.principal_kind, record.auth_method, record.address) == (
        "ada",
        "service",
        "token",
        "2001:db8::7",
    )
    assert (record.action, record.object_uri, record.project_id) == (
        "deployment.weights",
        "deployments:/web",
        "p" * 32,
    )
    assert record.before == {"variants": [{"name": "a", "model_uri": "models:/m/1", "weight": 1.0}]}
    assert [v["name"] for v in record.after["variants"]] == ["a", "b"]
    assert len(record.id) == 32 and record.at > 1_700_000_000_000


@pytest.mark.parametrize("action", ["", "Run.Create", "run..create", "run create", "a" * 129])
def test_a_malformed_action_or_uri_is_refused(store: SqlStore, action: str) -> None:
    trail = AuditTrail(store)
    with pytest.raises(InvalidInput):
        trail.record(Principal("ada"), action, "runs:/x")
    with pytest.raises(InvalidInput):
        trail.record(Principal("ada"), "run.create", "")
    assert store.audit.list().items == []


# -- redaction -----------------------------------------------------------------------------
def test_secrets_are_redacted_at_any_depth() -> None:
    state = {
        "name": "svc",
        "Password": "hunter2",
        "client_secret": "s",
        "access_token": "t",
        "API_KEY": "k",
        "apikey": "k",
        "api-key": "k",
        "Authorization": "Bearer x",
        "credentials": {"user": "u"},
        "private_key": "-----BEGIN",
        "nested": [{"db": {"password_hash": "h", "host": "db"}}],
        "note": "wl_3f9c0d2e",
        "tags": ("ok", "wl_abc"),
        "model": {"max_tokens": 256, "prompt_tokens": 3},
    }
    safe = audit_json(state)
    for key in (
        "Password",
        "client_secret",
        "access_token",
        "API_KEY",
        "apikey",
        "api-key",
        "Authorization",
        "credentials",
        "private_key",
        "note",
    ):
        assert safe[key] == REDACTED, key
    assert safe["nested"] == [{"db": {"password_hash": REDACTED, "host": "db"}}]
    assert safe["tags"] == ["ok", REDACTED]
    assert safe["model"] == {"max_tokens": 256, "prompt_tokens": 3}  # counts, not secrets
    assert safe["name"] == "svc"
    assert "hunter2" not in orjson.dumps(safe).decode()


def test_redaction_reaches_the_stored_record(store: SqlStore) -> None:
    AuditTrail(store).record(
        Principal("ada"), "token.create", "tokens:/" + "1" * 32, after={"token": "wl_secret1"}
    )
    (record,) = store.audit.list().items
    assert record.after == {"token": REDACTED}


# -- JSON safety and bounds ----------------------------------------------------------------
class Color(Enum):
    RED = "red"


@dataclass
class Plain:
    a: int
    b: float


def test_any_state_becomes_json_that_reads_back(store: SqlStore) -> None:
    state = {
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "enum": Color.RED,
        "plain": Plain(1, math.nan),
        "entity": Variant("a", "models:/m/1", 0.5),
        "bytes": b"\x00\x01",
        "set": {3, 1, 2},
        "huge": 2**70,
        "surrogate": "a\ud800b",
        "nul": "a\x00b",
        "keys": {1: "one", None: "none"},
        "other": object,
    }
    safe = audit_json(state)
    assert safe["nan"] == "NaN" and safe["inf"] == "Infinity" and safe["ninf"] == "-Infinity"
    assert safe["enum"] == "red" and safe["plain"] == {"a": 1, "b": "NaN"}
    assert safe["entity"] == {"name": "a", "model_uri": "models:/m/1", "weight": 0.5}
    assert safe["bytes"] == "<2 bytes>" and safe["set"] == [1, 2, 3]
    assert safe["huge"] == str(2**70) and safe["keys"] == {"1": "one", "None": "none"}
    AuditTrail(store).record(Principal("ada"), "run.update", "runs:/r", before=state, after=state)
    (record,) = store.audit.list().items
    assert record.before == record.after == orjson.loads(orjson.dumps(safe))
    assert record.after["nul"] == "a\x00b"


def test_deep_nesting_is_cut() -> None:
    deep: object = "bottom"
    for _ in range(MAX_AUDIT_DEPTH + 10):
        deep = [deep]
    depth, node = 0, audit_json(deep)
    while isinstance(node, list):
        depth, node = depth + 1, node[0]
    assert depth == MAX_AUDIT_DEPTH and node == "[too deep]"


def test_a_large_state_is_stored_as_a_marked_summary(store: SqlStore) -> None:
    big = {f"k{i}": "x" * 1000 for i in range(200)}
    AuditTrail(store).record(
        Principal("ada"), "prompt.version.create", "prompts:/p/1", before=None, after=big
    )
    (record,) = store.audit.list().items
    raw = orjson.dumps(big)
    assert record.before is None
    assert record.after["truncated"] is True and record.after["bytes"] == len(raw)
    assert record.after["sha256"] == hashlib.sha256(raw).hexdigest()
    assert record.after["key_count"] == 200 and record.after["keys"][:2] == ["k0", "k1"]
    assert len(orjson.dumps(record.after)) <= MAX_AUDIT_JSON_BYTES
    small = {"k": "x" * (MAX_AUDIT_JSON_BYTES - 100)}
    assert audit_json(small) == small  # under the limit: kept whole


# -- who may list --------------------------------------------------------------------------
@pytest.fixture
def projects(store: SqlStore) -> dict[str, str]:
    """Projects p1 and p2, one record in each and one without a project; their ids."""
    ids = {
        name: store.runs.get_or_create_project(name, new_id(), now_ms()).id for name in ("p1", "p2")
    }
    trail = AuditTrail(store)
    for name, project_id in ids.items():
        trail.record(Principal("ada"), "model.create", f"models:/m-{name}", project_id=project_id)
    trail.record(Principal("root"), "user.create", "users:/bob")
    return ids


def _token(name: str, roles: tuple[tuple[str, Role], ...] = (), **kw: object) -> Principal:
    return Principal(name, auth=AuthMethod.TOKEN, user_id=f"u-{name}", roles=roles, **kw)  # type: ignore[arg-type]


def _uris(page_items: list[object]) -> list[str]:
    return sorted(r.object_uri for r in page_items)  # type: ignore[attr-defined]


def test_with_auth_off_everyone_sees_everything(store: SqlStore, projects: dict[str, str]) -> None:
    trail = AuditTrail(store, Policy(enabled=False))
    assert _uris(trail.list(Principal("anyone")).items) == [
        "models:/m-p1",
        "models:/m-p2",
        "users:/bob",
    ]
    assert _uris(trail.list(Principal("anyone"), project="p2").items) == ["models:/m-p2"]


def test_a_server_admin_sees_everything(store: SqlStore, projects: dict[str, str]) -> None:
    trail = AuditTrail(store, Policy(enabled=True))
    admin = _token("root", admin=True)
    assert len(trail.list(admin).items) == 3
    assert _uris(trail.list(admin, project=projects["p1"]).items) == ["models:/m-p1"]


def test_a_project_admin_sees_their_projects_only(
    store: SqlStore, projects: dict[str, str]
) -> None:
    trail = AuditTrail(store, Policy(enabled=True))
    ada = _token("ada", ((projects["p1"], Role.ADMIN), (projects["p2"], Role.VIEWER)))
    assert _uris(trail.list(ada).items) == ["models:/m-p1"]
    assert _uris(trail.list(ada, project="p1").items) == ["models:/m-p1"]
    assert _uris(trail.list(ada, object_uri="models:/m-p2").items) == []
    with pytest.raises(PermissionDenied):
        trail.list(ada, project="p2")
    with pytest.raises(PermissionDenied):  # a project that does not exist: not revealed
        trail.list(ada, project="nowhere")
    # A token scoped to viewer caps the admin role: nothing administered, refused.
    scoped = _token("ada", ((projects["p1"], Role.ADMIN),), scope=(projects["p1"], Role.VIEWER))
    with pytest.raises(PermissionDenied):
        trail.list(scoped)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_others_are_refused(store: SqlStore, projects: dict[str, str], role: Role) -> None:
    trail = AuditTrail(store, Policy(enabled=True))
    with pytest.raises(PermissionDenied, match="administers no project"):
        trail.list(_token("bob", ((projects["p1"], role),)))
    with pytest.raises(Unauthenticated):
        trail.list(Principal("local-user"))


# -- times ---------------------------------------------------------------------------------
def test_times_parse_as_iso_relative_or_millis() -> None:
    now = 1_800_000_000_000
    assert parse_time("7d", now=now) == now - 7 * 86_400_000
    assert parse_time("12h", now=now) == now - 12 * 3_600_000
    assert parse_time("30m", now=now) == now - 30 * 60_000
    assert parse_time("2w", now=now) == now - 14 * 86_400_000
    assert parse_time("1700000000000") == 1_700_000_000_000
    assert parse_time("2026-01-31T12:00:00Z") == 1_769_860_800_000
    assert parse_time("2026-01-31T12:00:00") == 1_769_860_800_000
    assert parse_time("2026-01-31T13:00:00+01:00") == 1_769_860_800_000
    for bad in ("yesterday", "7 days", "-5d", "", "99999999999999999999"):
        with pytest.raises(InvalidInput):
            parse_time(bad)


def test_filters_no_record_can_hold_are_refused(store: SqlStore) -> None:
    trail = AuditTrail(store)
    for filters in ({"object_uri": "models:/a\x00"}, {"user": "a\nb"}, {"project": "p\x00"}):
        with pytest.raises(InvalidInput):
            trail.list(Principal("ada"), **filters)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        trail.list(Principal("ada"), action="x" * 2000)
    with pytest.raises(InvalidInput):
        trail.list(Principal("ada"), project=["p1", "p" * 257])
