"""``pip install windlass`` (no extras) is the SDK, the server, tracing and prompts.

One fresh venv per session gets the core install from this source tree (with the
constraints file; pip's cache makes it ~30 s here), then runs the quickstart in it:
embedded over SQLite, and against a ``windlass server`` started from that venv. None of
the ``windlass[ml]`` libraries may be installed, and a feature needing one says which
extra to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from windlass_testing import free_port

ROOT = Path(__file__).resolve().parents[1]
# A core install must take no more than this (cold pip cache included), or it is not light.
INSTALL_TIMEOUT = 600

QUICKSTART = """
import importlib.util, json, sys
import windlass
from windlass.extras import ML_MODULES

out = {"installed": [m for m in ML_MODULES if importlib.util.find_spec(m) is not None]}
if len(sys.argv) > 1:
    windlass.set_tracking_uri(sys.argv[1])
windlass.set_project("quickstart")
with windlass.start_run(name="baseline") as run:
    windlass.log_params({"lr": 0.1})
    for step in range(3):
        windlass.log_metric("loss", 1.0 / (step + 1), step=step)
runs = windlass.search_runs()
out["search_type"] = type(runs).__name__
out["runs"] = [[r.id == run.id, r.params["lr"], r.metrics["loss"].value] for r in runs]

v1 = windlass.prompts.register("greet", template="Hello {{ name }}!")
windlass.prompts.set_alias("greet", "production", version=v1.version)
out["prompt"] = windlass.prompts.load("greet@production").render(name="core")

@windlass.trace(kind="tool")
def lookup(order: str) -> str:
    return order.upper()

lookup("a-17")
windlass.flush_traces()
out["traces"] = len(windlass.search_traces().items)

for name, call in [
    ("export_traces", lambda: windlass.export_traces("spans.parquet")),
    ("infer_signature", lambda: windlass.infer_signature([[1.0, 2.0]])),
]:
    try:
        call()
        out[name] = "no error"
    except windlass.MissingDependency as exc:
        out[name] = exc.message
out["loaded"] = [m for m in ML_MODULES if m in sys.modules]
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a fresh venv with ``pip install windlass`` (no extras) from this tree."""
    base = tmp_path_factory.mktemp("core-install")
    # Build from a copy: an in-tree build would leave build/ and egg-info in the checkout.
    source = base / "source"
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy2(ROOT / name, source / name)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PIP_REQUIRE_VIRTUALENV"}}
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", "."],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINDLASS_", "PYTHON"))}
    return {**env, "WINDLASS_HOME": str(home)}


def _quickstart(venv: Path, workdir: Path, *args: str) -> dict[str, object]:
    workdir.mkdir()
    script = workdir / "quickstart.py"
    script.write_text(QUICKSTART)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-I", str(script), *args],
        cwd=workdir,
        env=_env(workdir / "home"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _check(result: dict[str, object]) -> None:
    assert result["installed"] == [], f"the core install brought {result['installed']}"
    assert result["search_type"] == "list"
    assert result["runs"] == [[True, "0.1", pytest.approx(1 / 3)]]
    assert result["prompt"] == "Hello core!"
    assert result["traces"] == 1
    for feature in ("export_traces", "infer_signature"):
        message = str(result[feature])
        assert 'pip install "windlass[ml]"' in message, f"{feature}: {message}"
    assert result["loaded"] == []


@pytest.fixture
def core_server(core_venv: Path, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a ``windlass server`` run from the core venv over SQLite."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [
                str(core_venv / "bin" / "windlass"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--store",
                f"sqlite:///{tmp_path / 'server.db'}",
                "--artifacts",
                str(tmp_path / "artifacts"),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_env(tmp_path / "server-home"),
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_core_install_runs_the_quickstart_without_ml_libraries(
    core_venv: Path, core_server: str, tmp_path: Path
) -> None:
    _check(_quickstart(core_venv, tmp_path / "embedded"))
    _check(_quickstart(core_venv, tmp_path / "client", core_server))
