"""Model fixtures: the SDK pointed at the embedded store or at a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import windlass


@pytest.fixture(params=["embedded", "server"])
def sdk(request: pytest.FixtureRequest) -> Iterator[str]:
    """Point the SDK at the embedded default or at a real ``windlass server``."""
    uri = None if request.param == "embedded" else request.getfixturevalue("server").url
    windlass.set_tracking_uri(uri)
    windlass.set_project(
        f"models-{request.node.name[-40:].replace('[', '-').strip(']')}".replace("/", "-")
    )
    yield request.param
    while windlass.active_run() is not None:
        windlass.end_run()
    windlass.set_tracking_uri(None)
