"""Runs and params record their principal: the SDK's locally, the server's over REST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from windlass.client import Client
from windlass.entities import RunSource
from windlass.exceptions import ParamConflict
from windlass.principal import Principal
from windlass.tracking.backend import open_tracking

API = "/api/v1"


def _logged_by(database: Path, run_id: str) -> dict[str, str]:
    """Read ``params.logged_by`` of a run straight from a SQLite file."""
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT key, logged_by FROM params WHERE run_id = :run"),
                {"run": run_id},
            ).all()
    finally:
        engine.dispose()
    return {key: who for key, who in rows}


def test_embedded_sdk_records_windlass_user_on_runs_and_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_USER", "ann")
    monkeypatch.setenv("USER", "os-login")
    database = tmp_path / "ann.db"
    with Client(f"sqlite:///{database}", "who", artifact_uri=str(tmp_path / "art")) as client:
        with client.runs.start(name="train") as run:
            client.runs.log_params({"lr": 0.1, "depth": 6})
        got = client.runs.get(run.id)
        assert got.source.user == "ann"
        assert got.params == {"lr": "0.1", "depth": "6"}
    assert _logged_by(database, run.id) == {"lr": "ann", "depth": "ann"}


def test_tracking_records_its_principal_never_the_sources_user(tmp_path: Path) -> None:
    database = tmp_path / "t.db"
    tracking = open_tracking(
        f"sqlite:///{database}", str(tmp_path / "art"), principal=Principal("svc")
    )
    try:
        project = tracking.project("who").id
        claimed = tracking.create_run(project, source=RunSource(user="mallory", host="h"))
        assert (claimed.source.user, claimed.source.host) == ("svc", "h")
        other = tracking.create_run(project, principal=Principal("bea"))
        assert other.source.user == "bea"
        tracking.log_params(other.id, {"lr": 0.1})
        # The same value again, by someone else, is a no-op that keeps the first author;
        # another value is still a ParamConflict.
        tracking.log_params(other.id, {"lr": 0.1}, principal=Principal("cy"))
        tracking.log_params(other.id, {"seed": 7}, principal=Principal("cy"))
        with pytest.raises(ParamConflict):
            tracking.log_params(other.id, {"lr": 0.2}, principal=Principal("cy"))
        assert tracking.get_run(other.id).params == {"lr": "0.1", "seed": "7"}
    finally:
        tracking.close()
    assert _logged_by(database, other.id) == {"lr": "svc", "seed": "cy"}


def test_over_a_server_runs_and_params_record_the_servers_principal(
    server_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINDLASS_USER", "ann")
    database = tmp_path / "srv.db"
    srv = server_factory(f"sqlite:///{database}", env={"WINDLASS_SERVER_USER": "ops"})
    with Client(srv.url, "who") as client:
        assert client.principal == Principal("ann")
        with client.runs.start(name="remote") as run:
            client.runs.log_params({"lr": 0.1})
        assert client.runs.get(run.id).source.user == "ops"
        assert client.runs.get(run.id).params == {"lr": "0.1"}
    assert _logged_by(database, run.id) == {"lr": "ops"}


def test_a_run_body_naming_its_user_is_refused(server_factory: Any, tmp_path: Path) -> None:
    srv = server_factory(env={"WINDLASS_SERVER_USER": "ops"})
    with httpx.Client(base_url=srv.url, timeout=60) as api:
        project = api.post(f"{API}/projects", json={"name": "claims"}).json()["id"]
        claimed = api.post(
            f"{API}/runs", json={"project_id": project, "source": {"user": "mallory"}}
        )
        assert claimed.status_code == 400, claimed.text
        assert "user" in claimed.text
        made = api.post(f"{API}/runs", json={"project_id": project, "source": {"host": "h"}})
        assert made.status_code == 200, made.text
        assert made.json()["source"]["user"] == "ops"
        # A name in the params body is refused too: params record the request's principal.
        run_id = made.json()["id"]
        sneaky = api.post(
            f"{API}/runs/{run_id}/params", json={"params": {"a": "1"}, "logged_by": "mallory"}
        )
        assert sneaky.status_code == 400, sneaky.text
