"""The four model servers of the serving benchmark: command lines, and start until ready.

Every server binds 127.0.0.1 on a free port and runs in a session of its own, so that
stopping it (``servers.Server.stop``: its process group, then every descendant seen) ends
exactly what it spawned. Readiness is each tool's own endpoint answering 200.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import servers

BENCH = Path(__file__).resolve().parent
PEERS = BENCH / "peers"
BENTOML_VENV = servers.ROOT / ".bench" / "bentoml-venv"
READY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Spec:
    """How to start one server and talk to it."""

    name: str
    cmd: list[str]
    port: int
    ready_path: str
    predict_path: str
    env: dict[str, str]

    def body(self, records: list[dict[str, float]]) -> dict[str, object]:
        """Return the JSON request for ``records`` in this server's format."""
        if self.predict_path == "/invocations":  # MLflow's scoring server
            return {"dataframe_records": records}
        return {"inputs": records}


def bare(model: Path, port: int, *, trivial: bool = False) -> Spec:
    """Return the bare Starlette app (or the trivial fixed-answer server) on ``port``."""
    cmd = [sys.executable, str(PEERS / "bare_app.py"), "--host", servers.HOST, "--port", str(port)]
    cmd += ["--trivial"] if trivial else ["--model", str(model)]
    return Spec(
        "trivial" if trivial else "bare", cmd, port, "/health", "/predict", dict(os.environ)
    )


def windlass(
    uri: str, port: int, env: dict[str, str], *, workers: int = 1, log_predictions: bool = True
) -> Spec:
    """Return ``windlass serve URI`` with its defaults (batching, metrics, prediction log)."""
    exe = Path(sys.executable).parent / "windlass"
    cmd = [str(exe), "serve", uri, "--host", servers.HOST, "--port", str(port)]
    if workers != 1:
        cmd += ["--workers", str(workers)]
    if not log_predictions:
        cmd += ["--no-log-predictions"]
    name = "windlass" if workers == 1 else f"windlass-w{workers}"
    name += "" if log_predictions else "-nolog"
    return Spec(name, cmd, port, "/v2/health/ready", "/predict", env)


def bentoml_env(home: Path, model: Path) -> dict[str, str]:
    """Return the environment of BentoML's processes: no telemetry, its home in ``home``."""
    env = servers.peer_env()
    env.update(
        {"BENTOML_DO_NOT_TRACK": "true", "BENTOML_HOME": str(home), "BENCH_MODEL_PATH": str(model)}
    )
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{BENTOML_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def bentoml(port: int, env: dict[str, str]) -> Spec:
    """Return ``bentoml serve`` of :mod:`peers.bentoml_service` with BentoML's defaults."""
    cmd = [
        str(BENTOML_VENV / "bin" / "bentoml"),
        "serve",
        "bentoml_service:Classifier",
        "--working-dir",
        str(PEERS),
        "--host",
        servers.HOST,
        "--port",
        str(port),
    ]
    return Spec("bentoml", cmd, port, "/readyz", "/predict", env)


def mlflow(model_dir: Path, port: int, *, workers: int | None = None) -> Spec:
    """Return ``mlflow models serve`` (local env manager; its default worker count)."""
    cmd = [
        str(servers.MLFLOW_VENV / "bin" / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "--host",
        servers.HOST,
        "--port",
        str(port),
    ]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    name = "mlflow" if workers is None else f"mlflow-w{workers}"
    env = servers.peer_env()
    env.pop("PYTHONPATH", None)
    # MLflow starts its scoring server as `uvicorn ...` from PATH, as in an activated venv.
    env["PATH"] = f"{servers.MLFLOW_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return Spec(name, cmd, port, "/ping", "/invocations", env)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running(spec: Spec, data: Path) -> Iterator[servers.Server]:
    """Start ``spec`` in ``data``, yield once it is ready, and stop its tree however it ends."""
    data.mkdir(parents=True, exist_ok=True)
    log_path = data / f"{spec.name}.log"
    url = f"http://{servers.HOST}:{spec.port}"
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        popen = subprocess.Popen(
            spec.cmd,
            cwd=data,
            env=spec.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = servers.Server(spec.name, url, popen, log_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(url + spec.ready_path):
            if popen.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{spec.name} did not become ready at {url}:\n{tail}")
            server.remember_tree()
            time.sleep(0.05)
        server.seconds_to_healthy = time.perf_counter() - started
        server.remember_tree()
        yield server
    finally:
        server.stop(grace_s=10.0)
