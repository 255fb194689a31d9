"""``windlass users|tokens|members|whoami``: bootstrap against a store, then over a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from windlass.cli.main import build_app
from windlass_testing import ServerProcess

runner = CliRunner()


def cli(*args: str, token: str | None = None, auth: str = "off") -> tuple[int, str]:
    env = {"WINDLASS_AUTH": auth, "WINDLASS_TOKEN": token or ""}
    result = runner.invoke(build_app(), list(args), env=env)
    return result.exit_code, result.output


def as_json(code_output: tuple[int, str]) -> Any:
    code, output = code_output
    assert code == 0, output
    return json.loads(output)


def test_bootstrap_against_the_store_then_manage_over_a_server(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    made = as_json(cli("users", "create", "root", "--uri", store, "--json", auth="on"))
    root = made["secret"]
    assert made["user"]["admin"] and root.startswith("wl_") and "digest" not in made["token"]
    # The store has a user now: creating another needs an admin's token, even there.
    code, out = cli("users", "create", "eve", "--uri", store, auth="on")
    assert code != 0 and "UNAUTHENTICATED" in out
    me = as_json(cli("whoami", "--uri", store, "--json", token=root, auth="on"))
    assert (me["name"], me["admin"], me["auth"]) == ("root", True, "token")

    server = server_factory(store, env={"WINDLASS_AUTH": "on"})
    url = server.url
    code, out = cli("whoami", "--uri", url)
    assert code != 0 and "UNAUTHENTICATED" in out
    assert as_json(cli("whoami", "--uri", url, "--json", token=root))["name"] == "root"
    ada = as_json(cli("users", "create", "ada", "--uri", url, "--json", token=root))["secret"]
    httpx.post(
        f"{url}/api/v1/projects",
        json={"name": "churn"},
        headers={"Authorization": f"Bearer {root}"},
    ).raise_for_status()
    member = as_json(
        cli("members", "set", "ada", "editor", "-p", "churn", "--uri", url, "--json", token=root)
    )
    assert (member["user_name"], member["role"]) == ("ada", "editor")
    listed = as_json(cli("members", "ls", "-p", "churn", "--uri", url, "--json", token=ada))
    assert [m["user_name"] for m in listed["items"]] == ["ada"]

    scoped = as_json(
        cli(
            *("tokens", "create", "--name", "ci", "--expires", "30d"),
            *("--project", "churn", "--role", "viewer", "--uri", url, "--json"),
            token=ada,
        )
    )
    assert scoped["token"]["scope_role"] == "viewer" and scoped["token"]["expires_at"]
    code, out = cli(
        "tokens", "create", "--project", "churn", "--role", "admin", "--uri", url, token=ada
    )
    assert code != 0 and "PERMISSION_DENIED" in out
    code, out = cli("tokens", "create", "--expires", "soon", "--uri", url, token=ada)
    assert code == 2 and "invalid duration" in out
    mine = as_json(cli("tokens", "ls", "--uri", url, "--json", token=ada))
    assert {t["name"] for t in mine["items"]} == {"ada-first", "ci"}
    assert scoped["secret"] not in json.dumps(mine)
    assert as_json(
        cli("tokens", "revoke", scoped["token"]["id"], "--uri", url, "--json", token=ada)
    )["revoked_at"]
    code, out = cli("whoami", "--uri", url, token=scoped["secret"])
    assert code != 0 and "UNAUTHENTICATED" in out

    code, out = cli("users", "ls", "--uri", url, token=ada)
    assert code != 0 and "PERMISSION_DENIED" in out
    users = as_json(cli("users", "ls", "--uri", url, "--json", token=root))
    assert [u["name"] for u in users["items"]] == ["ada", "root"]
    assert as_json(cli("users", "disable", "ada", "--uri", url, "--json", token=root))["disabled"]
    code, out = cli("whoami", "--uri", url, token=ada)
    assert code != 0 and "UNAUTHENTICATED" in out
    cli("users", "enable", "ada", "--uri", url, token=root)
    assert cli("whoami", "--uri", url, token=ada)[0] == 0
    code, out = cli("members", "rm", "ada", "-p", "churn", "--uri", url, token=root)
    assert code == 0, out
    assert (
        as_json(cli("members", "ls", "-p", "churn", "--uri", url, "--json", token=root))["items"]
        == []
    )


def test_a_password_is_read_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = f"sqlite:///{tmp_path / 'pw.db'}"
    result = runner.invoke(
        build_app(),
        ["users", "create", "root", "--password-stdin", "--uri", store, "--json"],
        input="correct horse\n",
        env={"WINDLASS_AUTH": "off", "WINDLASS_TOKEN": ""},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["user"]["has_password"]
    assert "correct horse" not in result.output
