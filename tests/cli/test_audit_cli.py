"""``windlass audit ls``: filters, --json, times, over a store and through a server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from windlass.access.audit import AuditTrail
from windlass.cli.main import build_app
from windlass.ids import now_ms
from windlass.principal import AuthMethod, Principal
from windlass.store.sql.store import SqlStore

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.output


def _filled(uri: str) -> None:
    store = SqlStore(uri)
    try:
        trail = AuditTrail(store)
        ada = Principal("ada", auth=AuthMethod.TOKEN, address="10.1.2.3")
        trail.record(ada, "model.create", "models:/churn", after={"name": "churn"})
        trail.record(ada, "model.version.create", "models:/churn/1")
        trail.record(Principal("bob"), "model.alias.set", "models:/churn@prod", after={"v": 1})
        trail.record(Principal("bob"), "run.create", "runs:/" + "0" * 32)
    finally:
        store.close()


def test_audit_ls_filters_and_prints_json(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    _filled(uri)
    code, out = _invoke("audit", "ls", "--object", "models:/churn", "--uri", uri, "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert list(listed) == ["items", "next_page_token"]
    assert [r["object_uri"] for r in listed["items"]] == [
        "models:/churn@prod",
        "models:/churn/1",
        "models:/churn",
    ]
    code, out = _invoke("audit", "ls", "--user", "ada", "--since", "7d", "--uri", uri, "--json")
    assert [r["action"] for r in json.loads(out)["items"]] == [
        "model.version.create",
        "model.create",
    ]
    code, out = _invoke("audit", "ls", "--action", "run.create", "--uri", uri, "--json")
    assert [r["principal"] for r in json.loads(out)["items"]] == ["bob"]
    code, out = _invoke(
        "audit", "ls", "--until", str(now_ms() - 86_400_000), "--uri", uri, "--json"
    )
    assert json.loads(out)["items"] == []
    code, out = _invoke("audit", "ls", "-n", "1", "--uri", uri, "--json")
    page = json.loads(out)
    assert len(page["items"]) == 1 and page["next_page_token"]
    code, out = _invoke("audit", "ls", "--uri", uri, "--max-results", "2")
    assert code == 0 and "model.alias.set" in out and "more: --page-token" in out, out


def test_audit_ls_reports_bad_input(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    _filled(uri)
    code, out = _invoke("audit", "ls", "--since", "last tuesday", "--uri", uri)
    assert code == 2 and "ISO-8601" in out, out
    code, out = _invoke("audit", "ls", "-p", "nowhere", "--uri", uri)
    assert code == 3 and "PROJECT_NOT_FOUND" in out, out
    missing = tmp_path / "none" / "store.db"
    code, out = _invoke("audit", "ls", "--uri", f"sqlite:///{missing}")
    assert code == 3 and "no windlass store at" in out and not missing.parent.exists()


def test_audit_ls_through_a_server(tmp_path: Path, server_factory: type) -> None:
    uri = f"sqlite:///{tmp_path / 'srv.db'}"
    _filled(uri)
    server = server_factory(store=uri)
    code, out = _invoke(
        "audit", "ls", "--object", "models:/churn", "--since", "1h", "--uri", server.url, "--json"
    )
    assert code == 0, out
    items = json.loads(out)["items"]
    assert len(items) == 3 and items[-1]["address"] == "10.1.2.3"
    assert items[-1]["after"] == {"name": "churn"}
    # The route parses times itself: relative, ISO-8601; anything else is a 400 naming it.
    answer = httpx.get(f"{server.url}/api/v1/audit", params={"since": "2000-01-01T00:00:00Z"})
    assert answer.status_code == 200 and len(answer.json()["records"]) == 4
    answer = httpx.get(f"{server.url}/api/v1/audit", params={"since": "soon"})
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_INPUT"
    answer = httpx.get(f"{server.url}/api/v1/audit", params={"max_results": 0})
    assert answer.status_code == 400
