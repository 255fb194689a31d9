"""Server start-up pauses the cyclic garbage collector and always turns it back on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_app_factory_resumes_the_collector(tmp_path: Path) -> None:
    """uvicorn's factory builds with the collector paused, then freezes and resumes it."""
    env = {
        **os.environ,
        "WINDLASS_SERVER_STORE": f"sqlite:///{tmp_path / 'w.db'}",
        "WINDLASS_SERVER_ARTIFACTS": str(tmp_path / "art"),
    }
    code = (
        "import gc\n"
        "from windlass.server.startup import pause_collector\n"
        "from windlass.server.app import create_app_from_env\n"
        "pause_collector()\n"
        "app = create_app_from_env()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10_000)\n"
    )
    assert _run(code, env) == "True True"


def test_the_cli_resumes_the_collector_before_a_command_runs() -> None:
    """Commands are registered with the collector paused; the command itself runs with it on."""
    code = (
        "import gc, sys\n"
        "import typer\n"
        "from windlass.cli import main as cli\n"
        "seen = []\n"
        "def probe() -> None:\n"
        "    seen.append(gc.isenabled())\n"
        "build = cli.build_app\n"
        "def build_app() -> typer.Typer:\n"
        "    app = build()\n"
        "    app.command('probe')(probe)\n"
        "    return app\n"
        "cli.build_app = build_app\n"
        "sys.argv = ['windlass', 'probe']\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(seen, gc.get_freeze_count() > 10_000)\n"
    )
    assert _run(code, dict(os.environ)) == "[True] True"
