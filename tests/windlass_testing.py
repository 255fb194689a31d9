"""Helpers shared by the tests: free ports, S3 test settings, real server processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


S3_BUCKET = "windlass-artifact-tests"
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def moto_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("moto_server")
    if script.exists():
        return [str(script), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


class ServerProcess:
    """A real ``windlass server`` subprocess on a loopback port."""

    health_path = "/health"

    def __init__(
        self, store: str, artifacts: str, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The log sits next to a local artifact folder, or in the temp folder for S3 roots
        # (a URI is not a path: Path("s3://b/x").parent would create ./s3:/b/).
        log_dir = Path(artifacts).parent if "://" not in artifacts else Path(tempfile.gettempdir())
        self.log = log_dir / f"windlass-server-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "windlass",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--store",
                store,
                "--artifacts",
                artifacts,
                "--workers",
                str(workers),
            ],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 30, headers: dict[str, str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                probe = httpx.get(f"{self.url}{self.health_path}", headers=headers, timeout=1)
                if probe.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not healthy in {timeout}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log_handle.close()


POSTGRES_SKIP = "WINDLASS_TEST_POSTGRES_URL is not set (CI sets it; .ci/run requires it)"


@contextlib.contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """Create an empty PostgreSQL database next to WINDLASS_TEST_POSTGRES_URL; drop it after."""
    from sqlalchemy import create_engine, text

    base_url = os.environ["WINDLASS_TEST_POSTGRES_URL"]
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        base_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base_url.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def run_fresh(
    code: str, *, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new Python process (nothing imported, nothing cached)."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=240,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"fresh process failed:\n{done.stdout}\n{done.stderr}")
    return done


class ModelServerProcess(ServerProcess):
    """A real ``windlass serve`` subprocess on a loopback port (ready once models load).

    ``health_token``: the bearer token the readiness probe needs (``--protect-probes``).
    """

    health_path = "/v2/health/ready"

    def __init__(
        self,
        uri: str,
        *args: str,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        health_token: str | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (log_dir or Path(tempfile.gettempdir())) / f"windlass-serve-{self.port}.log"
        self._log_handle = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "windlass",
                "serve",
                uri,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *args,
            ],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        headers = None if health_token is None else {"Authorization": f"Bearer {health_token}"}
        self.wait_healthy(timeout=60, headers=headers)


def recorded(store: object, name: str) -> str:
    """Return the name ``store`` records as ``claimed_by`` for a write that passed ``name``.

    A SQL store records the name it is given; the REST client does not send it: the server
    records the principal it derived from the request (``WINDLASS_SERVER_USER``, default
    ``anonymous``), never a name from the request body.
    """
    from windlass.store.rest.store import RestStore

    return "anonymous" if isinstance(store, RestStore) else name


class KeptAudit:
    """An audit sink keeping every record in a list (a real sink of access.gate.AuditSink).

    Domain tests use it to see which records the services append, next to the real
    AuditTrail they also test against a store.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(
        self,
        principal: Any,
        action: str,
        object_uri: str,
        *,
        project_id: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Keep one record as a dict: who, action, uri, project_id, before, after."""
        self.records.append(
            {
                "who": principal.name,
                "action": action,
                "uri": object_uri,
                "project_id": project_id,
                "before": before,
                "after": after,
            }
        )

    def take(self) -> list[tuple[str, str, str]]:
        """Return (who, action, uri) of the records kept so far, and forget them."""
        taken = [(r["who"], r["action"], r["uri"]) for r in self.records]
        self.records.clear()
        return taken
