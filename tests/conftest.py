"""Shared fixtures: a private WINDLASS_HOME, PostgreSQL databases, moto S3, real servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from windlass.ids import new_id
from windlass_testing import (
    POSTGRES_SKIP,
    S3_BUCKET,
    S3_CREDENTIALS,
    ServerProcess,
    free_port,
    moto_command,
    scratch_postgres_database,
)

POSTGRES_URL = os.environ.get("WINDLASS_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own WINDLASS_HOME, no inherited tracking URI, a fresh SDK state."""
    import windlass
    from windlass.tracking import context

    home = tmp_path / "windlass-home"
    monkeypatch.setenv("WINDLASS_HOME", str(home))
    # onnxruntime (and other libraries) write caches there: keep them out of the user's home.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("WINDLASS_TRACKING_URI", raising=False)
    monkeypatch.delenv("WINDLASS_ARTIFACT_URI", raising=False)
    yield home
    # The SDK is process-wide: spans, a URI or a project of one test must not reach the next.
    tracing = sys.modules.get("windlass.genai.tracing.sdk")
    if tracing is not None:
        tracing.flush_traces(30)
    while windlass.active_run() is not None:
        windlass.end_run()
    context.reset_default()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    if POSTGRES_URL is None:
        pytest.skip(POSTGRES_SKIP)
    with scratch_postgres_database("windlass_test") as url:
        yield url


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Run a real moto S3 server on a free local port for the session; yield its URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, **S3_CREDENTIALS}
    process = subprocess.Popen(
        moto_command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"moto_server exited with code {process.returncode}")
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not start within 30 s")
                time.sleep(0.1)
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
        )
        client.create_bucket(Bucket=S3_BUCKET)
        client.close()
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the standard AWS variables and WINDLASS_S3_ENDPOINT_URL at moto for one test."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WINDLASS_S3_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3_root(s3_env: str) -> str:
    """Return a fresh ``s3://`` root (a new prefix in the test bucket)."""
    return f"s3://{S3_BUCKET}/{new_id()}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server process on SQLite shared by the session's REST tests."""
    root = tmp_path_factory.mktemp("server")
    proc = ServerProcess(f"sqlite:///{root / 'server.db'}", str(root / "artifacts"))
    yield proc
    proc.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    """Start extra servers (stopped at the end of the test)."""
    started: list[ServerProcess] = []

    class Factory(ServerProcess):
        def __init__(
            self,
            store: str | None = None,
            artifacts: str | None = None,
            workers: int = 1,
            env: dict[str, str] | None = None,
        ) -> None:
            super().__init__(
                store or f"sqlite:///{tmp_path / 'srv.db'}",
                artifacts or str(tmp_path / "srv-artifacts"),
                workers,
                env,
            )
            started.append(self)

    yield Factory
    for proc in started:
        proc.stop()
