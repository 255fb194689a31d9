"""``windlass projects settings`` and ``windlass aliases requests|approve|reject``.

Against a store with ``WINDLASS_AUTH=on``: an admin turns two-person review on; their
move of ``production`` exits 5 naming the held request; the requester may not approve it
(exit 7), a second admin does, and the alias moves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from windlass.artifacts import open_blob_store
from windlass.genai.prompts.registry import PromptRegistry
from windlass.store.sql.store import SqlStore
from windlass.tracking.service import Tracking

runner = CliRunner()


def cli(*args: str, token: str | None = None) -> tuple[int, str]:
    from windlass.cli.main import build_app

    env = {"WINDLASS_AUTH": "on", "WINDLASS_TOKEN": token or ""}
    result = runner.invoke(build_app(), list(args), env=env)
    return result.exit_code, result.output


def as_json(code_output: tuple[int, str]) -> Any:
    code, output = code_output
    assert code == 0, output
    return json.loads(output)


def test_two_person_review_from_the_cli(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    store = SqlStore(uri)
    tracking = Tracking(store, open_blob_store(str(tmp_path / "blobs")))
    alpha = tracking.project("alpha").id
    prompts = PromptRegistry(store)
    prompts.register(alpha, "greet", template="hi")
    tracking.close()
    at = ("--uri", uri)
    root = as_json(cli("users", "create", "root", *at, "--json"))["secret"]
    tokens = {}
    for name in ("ada", "bob"):
        tokens[name] = as_json(cli("users", "create", name, *at, "--json", token=root))["secret"]
        as_json(cli("members", "set", name, "admin", "-p", "alpha", *at, "--json", token=root))

    shown = as_json(cli("projects", "settings", "-p", "alpha", *at, "--json", token=tokens["ada"]))
    assert (shown["protected_aliases"], shown["two_person_review"]) == (
        ["production", "champion"],
        False,
    )
    changed = as_json(
        cli(
            "projects",
            "settings",
            "-p",
            "alpha",
            "--protect",
            "production,gold",
            "--two-person-review",
            *at,
            "--json",
            token=tokens["ada"],
        )
    )
    assert (changed["protected_aliases"], changed["two_person_review"]) == (
        ["production", "gold"],
        True,
    )

    code, out = cli(
        "prompts", "alias", "greet", "production", "1", "-p", "alpha", *at, token=tokens["ada"]
    )
    assert code == 5, out
    request = re.search(r"alias request ([0-9a-f]{32})", out)
    assert request is not None, out
    listed = as_json(cli("aliases", "requests", "-p", "alpha", *at, "--json", token=tokens["bob"]))
    assert [r["id"] for r in listed["items"]] == [request.group(1)]
    code, out = cli("aliases", "approve", request.group(1), "-p", "alpha", *at, token=tokens["ada"])
    assert code == 7 and "second admin" in out, out
    approved = as_json(
        cli(
            "aliases",
            "approve",
            request.group(1),
            "-p",
            "alpha",
            *at,
            "--json",
            token=tokens["bob"],
        )
    )
    assert (approved["state"], approved["decided_by"]) == ("approved", "bob")
    store = SqlStore(uri)
    try:
        version = PromptRegistry(store).get_version_by_alias(alpha, "greet", "production")
        assert version.version == 1
    finally:
        store.close()
