"""The gate: the policy's answer, and one audit record per recorded mutation."""

from __future__ import annotations

from typing import Any

import pytest

from windlass.access.gate import Access
from windlass.access.policy import Permission, Policy
from windlass.exceptions import Unauthenticated
from windlass.principal import Principal


class _Kept:
    """An audit sink that keeps what it is given (a real sink of the Protocol, in memory)."""

    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []

    def record(self, principal: Principal, action: str, object_uri: str, **kw: Any) -> None:
        self.records.append((principal.name, action, object_uri, kw))


def test_off_by_default_and_nothing_kept_without_a_sink() -> None:
    access = Access()
    assert not access.enabled
    access.require(Principal("ada"), Permission.ADMIN, "p1")
    access.record(Principal("ada"), "run.create", "runs:/abc")


def test_the_gate_asks_the_policy_and_passes_records_on() -> None:
    kept = _Kept()
    access = Access(Policy(enabled=True), kept)
    with pytest.raises(Unauthenticated):
        access.require(Principal("ada"), Permission.READ, "p1")
    access.record(Principal("ada"), "run.create", "runs:/abc", project_id="p1", after={"a": 1})
    assert kept.records == [
        ("ada", "run.create", "runs:/abc", {"project_id": "p1", "before": None, "after": {"a": 1}})
    ]
