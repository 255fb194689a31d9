"""Run the examples of a Markdown page as a reader would; read its tables.

The rule for fenced code blocks in README.md and docs/*.md:

- ```` ```python ```` blocks run, in order, as one script; then ```` ```sh ```` blocks run,
  in order, as one ``bash -euo pipefail`` script.
- ```` ```text ```` blocks show output; they are not run.
- Any other block (```` ```console ````: installing, a server that runs until Ctrl-C,
  another machine) is not run, and must say so on the line right before it:
  ``<!-- not run: <why> -->``. Keep such blocks few.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RUN = ("python", "sh")
SHOWN = ("text",)
NOT_RUN_MARKER = re.compile(r"^<!-- not run: \S.*-->$")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)


def blocks(text: str, language: str) -> list[str]:
    """Return the bodies of the page's blocks fenced as ``language``, in order."""
    return [body for lang, body in FENCE.findall(text) if lang == language]


def unmarked_blocks(text: str) -> list[str]:
    """Return the first line of every block that is not run and lacks the not-run marker."""
    unmarked = []
    for match in FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        if language in RUN or language in SHOWN:
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if not NOT_RUN_MARKER.match(before):
            unmarked.append(f"```{language}: {body.splitlines()[0] if body else ''}")
    return unmarked


def example_env(home: Path, llm_endpoint: str, llm_key: str) -> dict[str, str]:
    """Return the environment of a reader: a windlass home, a local LLM endpoint, PATH."""
    env = {
        **os.environ,
        "WINDLASS_HOME": str(home),
        "WINDLASS_LLM_BASE_URL": llm_endpoint,
        "WINDLASS_LLM_API_KEY": llm_key,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for name in ("WINDLASS_TRACKING_URI", "WINDLASS_PROJECT"):
        env.pop(name, None)
    return env


def run_examples(text: str, name: str, cwd: Path, env: dict[str, str]) -> None:
    """Run the page's python blocks, then its sh blocks; fail with the error output."""
    python_code = "\n".join(blocks(text, "python"))
    shell_code = "\n".join(blocks(text, "sh"))
    assert python_code or shell_code, f"{name} has no runnable example"
    if python_code:
        done = subprocess.run(
            [sys.executable, "-c", python_code],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, f"{name} python failed:\n{done.stderr[-4000:]}"
    if shell_code:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", shell_code],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, f"{name} sh failed:\n{done.stderr[-4000:]}"


def section(text: str, heading: str) -> str:
    """Return the Markdown under ``heading`` (a ``## `` line) up to the next ``## `` heading."""
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_first_cells(markdown: str) -> list[str]:
    """Return the first cell of every body row of the Markdown tables in ``markdown``."""
    lines = markdown.splitlines()
    cells = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if following.startswith("|") and set(following) <= set("|-: "):
            continue  # a header row
        cells.append(line.strip("|").split("|")[0].strip())
    return cells


def code_spans(cell: str) -> list[str]:
    """Return the text of every `code span` in a table cell."""
    return re.findall(r"`([^`]+)`", cell)
