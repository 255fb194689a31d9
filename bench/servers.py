"""Start, measure and stop the two tracking servers as process trees bound to 127.0.0.1.

Each server starts in a session of its own, so that stopping it ends exactly the processes
it spawned: its process group first, then any descendant recorded while it ran (by pid).
Memory is the sum of ``VmRSS`` (and, for reference, ``Pss``) over the server process and
all of its descendants, read from ``/proc``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = ROOT / ".bench" / "mlflow-venv"
HOST = "127.0.0.1"
HEALTH_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0  # graceful stop of a server holding benchmark data
FOOTPRINT_GRACE_S = 5.0  # an idle server with an empty store can be cut short


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def windlass_command(port: int, data: Path) -> list[str]:
    """Return the command line of ``windlass server`` over SQLite under ``data``."""
    exe = Path(sys.executable).parent / "windlass"
    return [
        str(exe),
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--store",
        f"sqlite:///{data / 'windlass.db'}",
        "--artifacts",
        str(data / "art"),
    ]


def mlflow_command(port: int, data: Path, workers: int | None = None) -> list[str]:
    """Return the command line of ``mlflow server`` over SQLite (its default worker count)."""
    cmd = [
        str(MLFLOW_VENV / "bin" / "mlflow"),
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{data / 'mlflow.db'}",
        "--default-artifact-root",
        str(data / "art"),
    ]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    return cmd


def peer_env() -> dict[str, str]:
    """Return the environment for MLflow processes: no telemetry, helpers importable."""
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONPATH": str(ROOT / "bench"),
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ")".
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and every live descendant of it."""
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _status_kb(pid: int, field_name: str, filename: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{filename}").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


@dataclass(frozen=True)
class Memory:
    """Memory of a process tree: summed VmRSS and Pss in MB, and the process count."""

    rss_mb: float
    pss_mb: float
    processes: int


def tree_memory(pid: int) -> Memory:
    """Return the summed VmRSS and Pss of ``pid`` and all of its descendants."""
    pids = process_tree(pid)
    rss = sum(_status_kb(p, "VmRSS") for p in pids)
    pss = sum(_status_kb(p, "Pss", "smaps_rollup") for p in pids)
    return Memory(rss / 1024, pss / 1024, len(pids))


@dataclass
class Server:
    """A server process tree we started; ``seconds_to_healthy`` is spawn to first 200."""

    name: str
    url: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    seconds_to_healthy: float = 0.0
    seen: set[int] = field(default_factory=set)

    def remember_tree(self) -> None:
        """Record the current descendants so that :meth:`stop` can end them by pid."""
        self.seen.update(process_tree(self.popen.pid))

    def memory(self) -> Memory:
        """Return the current memory of the whole server tree."""
        self.remember_tree()
        return tree_memory(self.popen.pid)

    def settled_memory(self, min_s: float = 3.0, max_s: float = 30.0) -> Memory:
        """Return the tree's memory once idle: same process count, RSS within 2% for 1.5 s."""
        start = time.monotonic()
        samples: list[Memory] = []
        while True:
            samples.append(self.memory())
            recent = samples[-4:]
            stable = (
                len(recent) == 4
                and len({m.processes for m in recent}) == 1
                and max(m.rss_mb for m in recent) <= 1.02 * min(m.rss_mb for m in recent)
            )
            waited = time.monotonic() - start
            if (stable and waited >= min_s) or waited >= max_s:
                return samples[-1]
            time.sleep(0.5)

    def stop(self, grace_s: float = STOP_TIMEOUT_S) -> None:
        """End the server: SIGTERM its group, then SIGKILL whatever of its tree is left."""
        if self.popen.poll() is None:
            self.remember_tree()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and self._alive():
            self.popen.poll()
            time.sleep(0.2)
        if self._alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            for pid in self._alive():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def _alive(self) -> list[int]:
        alive = []
        for pid in self.seen:
            try:
                state = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if state[state.rindex(")") + 2] != "Z":
                alive.append(pid)
        return alive


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    name: str, cmd: list[str], data: Path, port: int, env: dict[str, str] | None = None
) -> Server:
    """Spawn ``cmd`` in ``data`` and return once ``/health`` answers 200 (timed from spawn)."""
    data.mkdir(parents=True, exist_ok=True)
    log_path = data / f"{name}.log"
    url = f"http://{HOST}:{port}"
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        popen = subprocess.Popen(
            cmd,
            cwd=data,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(name, url, popen, log_path)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while not _healthy(url):
        if popen.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} did not become healthy at {url}:\n{tail}")
        server.remember_tree()
        time.sleep(0.02)
    server.seconds_to_healthy = time.perf_counter() - started
    server.remember_tree()
    return server


@contextlib.contextmanager
def running(
    name: str,
    cmd: list[str],
    data: Path,
    port: int,
    env: dict[str, str] | None = None,
    grace_s: float = STOP_TIMEOUT_S,
) -> Iterator[Server]:
    """Run a server for the duration of a ``with`` block; it is stopped however the block ends."""
    server = start_server(name, cmd, data, port, env)
    try:
        yield server
    finally:
        server.stop(grace_s)


def footprint(
    name: str,
    make_cmd: Callable[[int, Path], list[str]],
    data: Path,
    starts: int,
    env: dict[str, str] | None = None,
) -> dict[str, object]:
    """Start a server ``starts`` times on one store; return the medians and every sample.

    The first start creates the (empty) store; the later ones find it, as a restart does.
    """
    samples: list[dict[str, float]] = []
    for attempt in range(starts):
        port = free_port()
        with running(
            name, make_cmd(port, data), data, port, env, grace_s=FOOTPRINT_GRACE_S
        ) as server:
            memory = server.settled_memory()
            samples.append(
                {
                    "seconds_to_healthy": server.seconds_to_healthy,
                    "rss_mb": memory.rss_mb,
                    "pss_mb": memory.pss_mb,
                    "processes": memory.processes,
                }
            )
        print(
            f"  {name} start {attempt + 1}/{starts}"
            f"{' (creates the store)' if attempt == 0 else ''}: healthy in "
            f"{server.seconds_to_healthy:.2f} s, idle RSS {memory.rss_mb:.0f} MB over "
            f"{memory.processes} processes (PSS {memory.pss_mb:.0f} MB)",
            flush=True,
        )
    return {
        "samples": samples,
        "seconds_to_healthy": statistics.median(s["seconds_to_healthy"] for s in samples),
        "rss_mb": statistics.median(s["rss_mb"] for s in samples),
        "pss_mb": statistics.median(s["pss_mb"] for s in samples),
        "processes": statistics.median(s["processes"] for s in samples),
    }
