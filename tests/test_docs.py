"""Every docs page's examples run; the README's CLI table and the REST table are complete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import typer

from doc_examples import (
    code_spans,
    example_env,
    run_examples,
    section,
    table_first_cells,
    unmarked_blocks,
)
from openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def llm_endpoint() -> Iterator[str]:
    """A local OpenAI-compatible server: the endpoint pages name by WINDLASS_LLM_BASE_URL."""
    with OpenAIServer(api_key="sk-docs") as server:
        yield server.base_url


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, llm_endpoint: str) -> None:
    run_examples(
        page.read_text(),
        page.name,
        tmp_path,
        example_env(tmp_path / "home", llm_endpoint, "sk-docs"),
    )


@pytest.mark.parametrize("page", [README, *PAGES], ids=["README.md", *(p.name for p in PAGES)])
def test_blocks_not_run_say_so(page: Path) -> None:
    assert unmarked_blocks(page.read_text()) == [], (
        f"{page.name}: a block that is not run needs <!-- not run: why --> on the line "
        "before it (see tests/doc_examples.py), or make it a python/sh block"
    )


def test_readme_links_every_docs_page() -> None:
    readme = README.read_text()
    for page in PAGES:
        assert f"docs/{page.name}" in readme, f"README does not link docs/{page.name}"


# -- the README's CLI table ----------------------------------------------------------------
def cli_commands() -> set[str]:
    """Return every leaf command of the ``windlass`` CLI, as ``"group command"``."""
    from windlass.cli.main import build_app

    found: set[str] = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            found.add(" ".join(path))

    walk(typer.main.get_command(build_app()), ())
    return found


WORD = re.compile(r"^[a-z][a-z0-9-]*$")


def commands_named(span: str) -> set[str]:
    """Return the commands a table entry names: ``windlass runs delete / restore ID``."""
    tokens = span.split()
    if not tokens or tokens[0] != "windlass":
        return set()
    words: list[list[str]] = []
    rest = iter(tokens[1:])
    for token in rest:
        if token == "/" and words:
            words[-1].append(next(rest))
        elif WORD.match(token):
            words.append([token])
        else:
            break
    return {" ".join(path) for path in product(*words)}


def test_commands_named_reads_alternatives() -> None:
    assert commands_named("windlass runs delete / restore RUN_ID") == {
        "runs delete",
        "runs restore",
    }
    assert commands_named("windlass demo [--no-serve]") == {"demo"}
    assert commands_named("windlass models alias NAME ALIAS [VERSION]") == {"models alias"}


def test_readme_cli_table_lists_every_command() -> None:
    table = section(README.read_text(), "## Server and CLI")
    listed: set[str] = set()
    for cell in table_first_cells(table):
        for span in code_spans(cell):
            listed |= commands_named(span)
    commands = cli_commands()
    assert sorted(commands - listed) == [], "commands missing from README's CLI table"
    assert sorted(listed - commands) == [], "README's CLI table lists commands that do not exist"


# -- docs/server.md's REST table -----------------------------------------------------------
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}


def routes_named(span: str) -> set[tuple[str, str]]:
    """Return the (method, path) pairs of a table entry: ``GET/POST /api/v1/projects``."""
    methods, _, path = span.partition(" ")
    names = set(methods.split("/"))
    if not names <= METHODS or not path.startswith("/"):
        return set()
    return {(method, path) for method in names}


def test_server_docs_rest_table_lists_every_route(tmp_path: Path) -> None:
    from windlass.server.app import create_app
    from windlass.tracking.backend import open_tracking

    service = open_tracking(f"sqlite:///{tmp_path / 'openapi.db'}", str(tmp_path / "art"))
    try:
        document = create_app(service).openapi()
    finally:
        service.close()
    served = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    table = section((DOCS / "server.md").read_text(), "## REST API")
    listed: set[tuple[str, str]] = set()
    for cell in table_first_cells(table):
        for span in code_spans(cell):
            listed |= routes_named(span)
    assert sorted(served - listed) == [], "routes missing from docs/server.md's REST table"
    assert sorted(listed - served) == [], "docs/server.md lists routes the server lacks"
