"""SDK fixtures: the SDK pointed at each kind of backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import windlass


@pytest.fixture(params=["embedded", "sqlite", "postgresql", "server"])
def sdk(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Point the SDK at the embedded default, a SQLite/PostgreSQL store, or a server."""
    if request.param == "embedded":
        uri = None
    elif request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'direct.db'}"
        monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "direct-artifacts"))
    elif request.param == "postgresql":
        uri = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("WINDLASS_ARTIFACT_URI", str(tmp_path / "pg-artifacts"))
    else:
        uri = request.getfixturevalue("server").url
    windlass.set_tracking_uri(uri)
    yield request.param
    while windlass.active_run() is not None:
        windlass.end_run()
    windlass.set_tracking_uri(None)
