"""The first hour: after ``windlass demo --no-serve``, the README's examples run as shown.

One demo run (into a private WINDLASS_HOME) serves every test here, as ``make demo`` would
have left the embedded store for a new user.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from doc_examples import blocks, example_env, run_examples
from openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
KEY = "sk-readme"


@dataclass
class Demo:
    """What ``windlass demo --no-serve`` left: its home, its output, the LLM endpoint."""

    home: Path
    stdout: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("first-hour")
    with OpenAIServer(api_key=KEY) as llm:
        env = example_env(root / "home", llm.base_url, KEY)
        done = subprocess.run(
            [sys.executable, "-m", "windlass", "demo", "--no-serve", "--port", "0"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=root,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        yield Demo(root / "home", done.stdout, env)


def test_readme_examples_run_after_the_demo(demo: Demo, tmp_path: Path) -> None:
    run_examples(README.read_text(), "README.md", tmp_path, demo.env)


def test_readme_serving_request_fits_the_demo_model(demo: Demo, tmp_path: Path) -> None:
    """The README's serve + curl example names the demo's model, project and columns."""
    (console,) = [b for b in blocks(README.read_text(), "console") if "windlass serve models:" in b]
    serve = shlex.split(
        next(line for line in console.splitlines() if line.startswith("windlass serve models:"))
    )
    uri, project = serve[2], serve[serve.index("--project") + 1]
    body = json.loads(shlex.split(console.split("-d", 1)[1].replace("\\\n", " "))[0])
    code = (
        f"import json, windlass\n"
        f"model = windlass.load_model({uri!r}, project={project!r})\n"
        f"print(json.dumps(model.predict({body['inputs']!r}).tolist()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=demo.env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(json.loads(done.stdout)) == len(body["inputs"])


def test_no_serve_hints_name_no_stopped_server(demo: Demo, tmp_path: Path) -> None:
    """With --no-serve the demo's servers are gone: its hints use the embedded store."""
    assert "--uri http" not in demo.stdout
    tail = demo.stdout[demo.stdout.index("servers have stopped") :]
    assert not re.search(r"https?://", tail), tail
    hints = [line.strip() for line in tail.splitlines()[1:] if line.startswith("  windlass")]
    assert len(hints) >= 3, tail
    assert "windlass serve models://demo-churn/churn@champion" in tail
    for hint in hints:  # each one works right away, with no server running
        if hint.startswith("windlass serve "):
            hint += " --dry-run"  # resolves, loads and verifies the model, then exits
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", hint],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=demo.env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{hint}:\n{done.stdout}{done.stderr}"
        assert done.stdout.strip(), hint
