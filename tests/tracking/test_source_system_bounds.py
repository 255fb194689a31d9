"""A run's source ``system`` is free-form JSON: bounded where the domain takes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from windlass.entities import RunSource
from windlass.entities.jsondata import MAX_JSON_DEPTH
from windlass.exceptions import InvalidInput
from windlass.tracking.backend import open_tracking


@pytest.mark.parametrize(
    ("system", "named"),
    [
        ({"a": {"b": 2**70}}, "beyond a 64-bit integer"),
        ({"a": float("nan")}, "which JSON cannot hold"),
        ({"a": object()}, "not JSON data"),
    ],
)
def test_what_no_store_can_hold_is_refused_and_nothing_is_stored(
    tmp_path: Path, system: dict[str, object], named: str
) -> None:
    tracking = open_tracking(f"sqlite:///{tmp_path / 'w.db'}", str(tmp_path / "a"))
    try:
        project = tracking.project("p")
        with pytest.raises(InvalidInput, match=named) as refused:
            tracking.create_run(project.id, source=RunSource(system=system))
        assert "run source's system" in str(refused.value)
        assert tracking.search_runs([project.id]).items == []
    finally:
        tracking.close()


def test_deep_nesting_is_refused_and_plain_data_is_kept(tmp_path: Path) -> None:
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(MAX_JSON_DEPTH + 2):
        cursor["x"] = {}
        cursor = cursor["x"]  # type: ignore[assignment]
    tracking = open_tracking(f"sqlite:///{tmp_path / 'w.db'}", str(tmp_path / "a"))
    try:
        project = tracking.project("p")
        with pytest.raises(InvalidInput, match="nests deeper"):
            tracking.create_run(project.id, source=RunSource(system=deep))
        run = tracking.create_run(
            project.id, source=RunSource(system={"python": "3.11", "cpus": 2, "v": [1.5, None]})
        )
        assert tracking.get_run(run.id).source.system == {
            "python": "3.11",
            "cpus": 2,
            "v": [1.5, None],
        }
    finally:
        tracking.close()
