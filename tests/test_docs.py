"""Every docs page's examples run: its python blocks in order, then its sh blocks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openai_server import OpenAIServer

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def llm_endpoint() -> Iterator[str]:
    """A local OpenAI-compatible server: the endpoint pages name by WINDLASS_LLM_BASE_URL."""
    with OpenAIServer(api_key="sk-docs") as server:
        yield server.base_url


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, llm_endpoint: str) -> None:
    text = page.read_text()
    python_code = "\n".join(blocks(text, "python"))
    shell_code = "\n".join(blocks(text, "sh"))
    assert python_code or shell_code, f"{page.name} has no runnable example"
    env = {**os.environ, "WINDLASS_HOME": str(tmp_path / "home"),
           "WINDLASS_LLM_BASE_URL": llm_endpoint, "WINDLASS_LLM_API_KEY": "sk-docs",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("WINDLASS_TRACKING_URI", None)
    if python_code:
        done = subprocess.run([sys.executable, "-c", python_code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 0, f"{page.name} python failed:\n{done.stderr[-4000:]}"
    if shell_code:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", shell_code], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 0, f"{page.name} sh failed:\n{done.stderr[-4000:]}"


def test_readme_links_every_docs_page() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    for page in PAGES:
        assert f"docs/{page.name}" in readme, f"README does not link docs/{page.name}"
