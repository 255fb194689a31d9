"""The store's shape: one small interface per area, composed (not inherited) by each backend.

Also: only the backend factory reaches for the SQL implementation; every bound a caller
needs (page sizes) lives in the interface modules.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from windlass.store.access import AccessStore
from windlass.store.artifacts import ArtifactIndex
from windlass.store.audit import AuditStore
from windlass.store.deployments import DeploymentStore
from windlass.store.metadata import MetadataStore
from windlass.store.prompts import PromptStore
from windlass.store.registry import RegistryStore
from windlass.store.runs import RunStore
from windlass.store.traces import TraceStore
from windlass.store.versioned import VersionedStore

SRC = Path(__file__).resolve().parents[2] / "src" / "windlass"
AREAS = {
    "runs": RunStore,
    "artifacts": ArtifactIndex,
    "registry": RegistryStore,
    "deployments": DeploymentStore,
    "traces": TraceStore,
    "prompts": PromptStore,
    "audit": AuditStore,
    "access": AccessStore,
}


def _methods(interface: type) -> set[str]:
    return set(getattr(interface, "__abstractmethods__", set()))


def test_each_interface_is_small_and_documented() -> None:
    for interface in AREAS.values():
        methods = _methods(interface)
        assert 1 <= len(methods) <= 20, (interface.__name__, len(methods))
        for name in methods:
            assert inspect.getdoc(getattr(interface, name)), f"{interface.__name__}.{name}"


def test_a_method_name_belongs_to_one_area() -> None:
    """So ``store.<method>`` maps to ``store.<area>.<method>`` by name alone."""
    seen: dict[str, str] = {}
    for area, interface in AREAS.items():
        for name in _methods(interface):
            assert name not in seen, f"{name} is on {seen[name]} and {area}"
            seen[name] = area


def test_every_backend_composes_one_store_per_area(store: MetadataStore) -> None:
    for area, interface in AREAS.items():
        implementation = getattr(store, area)
        assert isinstance(implementation, interface), (area, type(implementation))
        # Composed, not inherited: an area sees only its own interface.
        assert not any(
            isinstance(implementation, other) for other in AREAS.values() if other is not interface
        )
    assert not isinstance(store, tuple(AREAS.values()))


def test_versioned_kinds_share_one_small_interface(store: MetadataStore) -> None:
    """Models and prompts reach their objects, versions and aliases through one interface."""
    methods = _methods(VersionedStore)
    assert 1 <= len(methods) <= 20, len(methods)
    assert all(inspect.getdoc(getattr(VersionedStore, name)) for name in methods)
    shared = {area: getattr(store, area).objects for area in ("registry", "prompts")}
    assert all(isinstance(objects, VersionedStore) for objects in shared.values()), shared
    # One implementation per backend, whatever the kind.
    assert type(shared["registry"]) is type(shared["prompts"])
    # A kind's own interface repeats none of the shared calls.
    for area in ("registry", "prompts"):
        assert not methods & _methods(AREAS[area]), area


def test_only_the_backend_factory_imports_the_sql_store() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("store/") or rel == "tracking/backend.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            modules = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [
                f"{rel}:{node.lineno} {m}" for m in modules if m.startswith("windlass.store.sql")
            ]
    assert offenders == []
