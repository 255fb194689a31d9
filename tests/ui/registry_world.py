"""The registry pages' world: models, a deployment with a prediction log, prompts.

:func:`registry_site` serves the UI (auth off) over a store holding a run that read a
dataset and registered two versions of ``clf`` (aliases moved, a card, tags and a
description carrying the XSS corpus), a deployment ``clf-prod`` (two variants and a
shadow) with a prediction log of answered requests, and a prompt ``greet`` with three
versions and an alias. :func:`registry_auth_site` is the same world with auth on, an
admin and a viewer token.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ui_world import XSS, tokens

import windlass
from asgi_thread import serving
from windlass.server.app import create_app
from windlass.serving.predlog import PredictionLog
from windlass.tracking.backend import open_tracking
from windlass_testing import POSTGRES_SKIP, scratch_postgres_database

#: Logged requests per variant (the shadow answers a copy of every champion request).
LOGGED = {"champion": 30, "challenger": 10}
CARD = (
    "# clf\n\n"
    + "\n\n".join(XSS)
    + "\n\n[click](javascript:alert(1))\n\n<img src=x onerror=alert(1)>\n"
)


@dataclass
class RegistrySite:
    """A served UI over the registry world (``admin``/``viewer``: tokens, with auth on)."""

    url: str
    store: str
    run_id: str
    admin: str = ""
    viewer: str = ""


def fill(store: str, artifacts: Path, logs: Path) -> str:
    """Write the registry world into ``store`` and the prediction log under ``logs``."""
    from sklearn.linear_model import LogisticRegression

    with windlass.Client(store, project="demo", artifact_uri=str(artifacts)) as client:
        with client.runs.start(name="train") as run:
            client.runs.log_input([[0.0, 1.0], [1.0, 0.0]], "features", context="training")
            for c in (1.0, 0.5):
                model = LogisticRegression(C=c).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
                client.models.log(
                    model, "model", registered_model_name="clf", input_example=[[0.5]]
                )
        client.models.update(
            "clf", description=XSS[1], card=CARD, tags={"owner": XSS[0], "note": XSS[3]}
        )
        client.models.set_alias("clf", "champion", 1)
        client.models.set_alias("clf", "champion", 2)
        client.models.set_alias("clf", "staging", 1)
        client.deployments.create(
            "clf-prod",
            [
                {"name": "champion", "model_uri": "models:/clf/1", "weight": 90},
                {"name": "challenger", "model_uri": "models:/clf@champion", "weight": 10},
            ],
            shadow={"name": "candidate", "model_uri": "models:/clf/2"},
            description=XSS[0],
        )
        client.prompts.register("greet", "Hello {{ name }}!\nBe brief.", commit_message="first")
        client.prompts.register(
            "greet", "Hi {{ name }}! " + XSS[0] + "\nBe brief.", commit_message=XSS[1]
        )
        client.prompts.register(
            "greet",
            messages=[
                {"role": "system", "content": "You are kind. " + XSS[1]},
                {"role": "user", "content": "Greet {{ name }} in {{ lang }}."},
            ],
            commit_message="chat",
        )
        client.prompts.set_alias("greet", "prod", 2)
        client.prompts.set_alias("greet", "prod", 3)
    log = PredictionLog(str(logs), "clf-prod", flush_seconds=3600)
    try:
        for variant, count in LOGGED.items():
            for i in range(count):
                log.record(f"{variant}-{i}", "clf", "1", variant, 2.0 + i, [[0.5]], [1])
                if variant == "champion":
                    log.record(f"{variant}-{i}", "clf", "2", "candidate", 5.0, [[0.5]], [1], True)
    finally:
        log.close()
    return run.id


@contextlib.contextmanager
def registry_world(store: str, root: Path, *, auth: bool = False) -> Iterator[RegistrySite]:
    """Serve the UI over ``store`` filled with the registry world, for the block."""
    logs = root / "prediction-logs"
    run_id = fill(store, root / "artifacts", logs)
    admin = viewer = ""
    if auth:
        admin, viewer = tokens(store)
    before = os.environ.get("WINDLASS_PREDICTION_LOG_URI")
    os.environ["WINDLASS_PREDICTION_LOG_URI"] = str(logs)
    try:
        app = create_app(open_tracking(store, str(root / "artifacts")), auth=auth)
        with serving(app) as url:
            yield RegistrySite(url, store, run_id, admin, viewer)
    finally:
        if before is None:
            os.environ.pop("WINDLASS_PREDICTION_LOG_URI", None)
        else:
            os.environ["WINDLASS_PREDICTION_LOG_URI"] = before


@pytest.fixture(scope="session")
def registry_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistrySite]:
    """The registry world over SQLite, auth off, for the session."""
    root = tmp_path_factory.mktemp("ui-registry")
    with registry_world(f"sqlite:///{root / 'registry.db'}", root) as served:
        yield served


@pytest.fixture(scope="session")
def registry_auth_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistrySite]:
    """The registry world over SQLite with auth on (admin and viewer tokens), for the session."""
    root = tmp_path_factory.mktemp("ui-registry-auth")
    with registry_world(f"sqlite:///{root / 'auth.db'}", root, auth=True) as served:
        yield served


@pytest.fixture(scope="session")
def registry_postgres_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistrySite]:
    """The registry world over PostgreSQL, auth off (skipped without PostgreSQL)."""
    if not os.environ.get("WINDLASS_TEST_POSTGRES_URL"):
        pytest.skip(POSTGRES_SKIP)
    root = tmp_path_factory.mktemp("ui-registry-pg")
    with (
        scratch_postgres_database("windlass_ui_registry") as url,
        registry_world(url, root) as served,
    ):
        yield served


def wait_until(check: object, seconds: float = 5.0) -> None:
    """Poll ``check()`` (a callable) until truthy, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)
