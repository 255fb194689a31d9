"""The trace benchmark's two servers: command lines, loopback check, CPU, span counts.

Both servers run as process trees started by :func:`servers.start_server` (their own
session, 127.0.0.1, a free port, ``/health`` answering 200) and stopped by pid. Before
any span is sent, :func:`check_loopback` asks ``ss`` for every listening socket of the
tree and refuses a server that listens anywhere but on 127.0.0.1: Phoenix opens an OTLP
gRPC listener besides its HTTP port, and its code binds it to ``[::]``.

Spans are counted through each server's own query API:

- windlass: ``GET /api/v1/projects/{project}/traces/stats`` (``span_count``), or, when the
  stats answer has no ``span_count``, the sum of ``span_count`` over the pages of
  ``GET /api/v1/projects/{project}/traces``;
- Phoenix: its GraphQL ``projects { recordCount }`` (a ``COUNT`` over the project's spans,
  the number its UI shows) while polling, and a full walk of its REST
  ``GET /v1/projects/{project}/spans`` at the end, which must list every span once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

import servers

BENCH = Path(__file__).resolve().parent
PHOENIX_VENV = servers.ROOT / ".bench" / "phoenix-venv"
PHOENIX_LAUNCHER = BENCH / "peers" / "phoenix_serve.py"
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1"}  # the second: IPv4-mapped, the same address
PAGE_LIMIT = 1_000
MAX_PAGES = 1_000  # bounds every paging walk: 1,000,000 spans or traces
HTTP_TIMEOUT_S = 30.0


class NotAvailable(Exception):
    """A server lacks the API the benchmark needs (the phase is skipped, not failed)."""


# --- command lines ----------------------------------------------------------------------


def phoenix_command() -> list[str]:
    """Return the command that runs ``phoenix serve`` with gRPC on loopback."""
    return [str(PHOENIX_VENV / "bin" / "python"), str(PHOENIX_LAUNCHER)]


def phoenix_env(data: Path, port: int, grpc_port: int) -> dict[str, str]:
    """Return Phoenix's environment: SQLite in ``data``, 127.0.0.1, no outside requests."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "PHOENIX_", "WINDLASS_"))
        and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        {
            "PHOENIX_WORKING_DIR": str(data / "phoenix-home"),  # SQLite: phoenix.db in here
            "PHOENIX_HOST": servers.HOST,
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
            "DO_NOT_TRACK": "true",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


def phoenix_version() -> str | None:
    """Return the arize-phoenix version in its venv, or None when the venv is missing."""
    python = PHOENIX_VENV / "bin" / "python"
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('arize-phoenix'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout.strip() or None


# --- listeners and CPU ------------------------------------------------------------------

_PID = re.compile(r"pid=(\d+)")


def listeners(pids: set[int]) -> list[dict[str, Any]]:
    """Return every listening TCP and UDP socket (``ss -lntup``) owned by one of ``pids``."""
    ss = shutil.which("ss")
    if ss is None:
        raise RuntimeError("`ss` (iproute2) is missing: cannot check the server's listeners")
    done = subprocess.run(
        [ss, "-H", "-lntup"], capture_output=True, text=True, timeout=30, check=True
    )
    found = []
    for line in done.stdout.splitlines():
        fields = line.split()
        owners = {int(p) for p in _PID.findall(line)}
        if len(fields) < 5 or not owners & pids:
            continue
        address, _, port = fields[4].rpartition(":")
        found.append(
            {
                "proto": fields[0],
                "address": address.strip("[]"),
                "port": int(port),
                "pids": sorted(owners & pids),
            }
        )
    return found


def check_loopback(server: servers.Server) -> list[dict[str, Any]]:
    """Return the tree's listeners; raise unless there are some and all are on 127.0.0.1."""
    server.remember_tree()
    found = listeners(set(servers.process_tree(server.popen.pid)))
    if not found:
        raise RuntimeError(
            f"{server.name}: `ss -lntup` shows no listener of its process "
            "tree (cannot verify that it listens on 127.0.0.1 only)"
        )
    outside = [
        f"{s['proto']} {s['address']}:{s['port']}" for s in found if s["address"] not in LOOPBACK
    ]
    if outside:
        raise RuntimeError(
            f"{server.name} listens beyond 127.0.0.1 ({', '.join(outside)}); refusing to run it"
        )
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of ``pid``'s tree, reaped children included."""
    total = 0
    for p in servers.process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat(5); 12-15 after the name.
        total += sum(int(v) for v in fields[11:15])
    return total / _TICK


def tree_peak_rss_mb(pid: int) -> float:
    """Return the summed ``VmHWM`` (each process's peak RSS) of ``pid``'s tree, in MB."""
    kb = 0
    for p in servers.process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    kb += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return kb / 1024


# --- span counts ------------------------------------------------------------------------


class SpanCounter:
    """Counts the spans of one project that a server's own query API returns."""

    name = "server"

    def __init__(self, url: str, project: str) -> None:
        self.url = url
        self.project = project
        self.client = httpx.Client(base_url=url, timeout=HTTP_TIMEOUT_S)

    def prepare(self) -> None:
        """Check the APIs exist and make the project if the server needs that first."""

    def headers(self) -> list[str]:
        """Return the sender's ``--header`` values (NAME=VALUE)."""
        return []

    def resource_project(self) -> str | None:
        """Return the ``openinference.project.name`` the sender should set, if any."""
        return None

    def count(self) -> int:
        """Return the number of queryable spans in the project now (the polled query)."""
        raise NotImplementedError

    def count_method(self) -> str:
        """Return which query :meth:`count` uses."""
        raise NotImplementedError

    def verify(self) -> dict[str, Any]:
        """Return a second, independent count of the spans (untimed, after the run)."""
        return {"method": "count", "spans": self.count()}

    def close(self) -> None:
        """Close the HTTP connection."""
        self.client.close()


class WindlassCounter(SpanCounter):
    """windlass: OTLP with ``x-windlass-project``; stats route, else trace pages."""

    name = "windlass"
    header = "x-windlass-project"

    def __init__(self, url: str, project: str) -> None:
        super().__init__(url, project)
        self.use_stats = True

    def headers(self) -> list[str]:
        """Return the project header of windlass's OTLP route."""
        return [f"{self.header}={self.project}"]

    def prepare(self) -> None:
        """Create the project, probe ``/v1/traces`` and the query routes; raise if missing."""
        made = self.client.post("/api/v1/projects", json={"name": self.project})
        made.raise_for_status()
        probe = self.client.post(
            "/v1/traces",
            content=b"",  # an empty export request
            headers={"content-type": "application/x-protobuf", self.header: self.project},
        )
        if probe.status_code in (404, 405):
            raise NotAvailable(
                "windlass OTLP ingest not available yet "
                f"(POST /v1/traces answered {probe.status_code})"
            )
        probe.raise_for_status()
        stats = self.client.get(self._path("/traces/stats"))
        if stats.status_code == 200 and "span_count" in stats.json():
            self.use_stats = True
            return
        self.use_stats = False
        page = self.client.get(self._path("/traces"), params={"max_results": 1})
        if page.status_code in (404, 405):
            raise NotAvailable(
                "windlass trace query API not available yet (GET "
                f"{self._path('/traces/stats')} answered {stats.status_code}, "
                f"GET {self._path('/traces')} {page.status_code})"
            )
        page.raise_for_status()

    def count_method(self) -> str:
        """Return the stats route, or the trace pages when stats lack ``span_count``."""
        return (
            "GET traces/stats span_count"
            if self.use_stats
            else "GET traces pages, sum of span_count (stats have no span_count)"
        )

    def _path(self, tail: str) -> str:
        return f"/api/v1/projects/{self.project}{tail}"

    def count(self) -> int:
        """Return ``span_count`` from the stats route, or the sum over the trace pages."""
        if self.use_stats:
            response = self.client.get(self._path("/traces/stats"))
            response.raise_for_status()
            return int(response.json()["span_count"])
        return self._paged_span_count()

    def _paged_span_count(self) -> int:
        total, token = 0, None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"max_results": PAGE_LIMIT}
            if token:
                params["page_token"] = token
            response = self.client.get(self._path("/traces"), params=params)
            response.raise_for_status()
            body = response.json()
            items = body.get("traces", body.get("items", []))
            total += sum(int(t.get("span_count", 0)) for t in items)
            token = body.get("next_page_token")
            if not token:
                return total
        raise RuntimeError(f"windlass: more than {MAX_PAGES} pages of traces")

    def verify(self) -> dict[str, Any]:
        """Return the stats (trace and span counts) and the paged sum of span counts."""
        out: dict[str, Any] = {
            "method": "trace pages, sum of span_count",
            "spans": self._paged_span_count(),
        }
        if self.use_stats:
            stats = self.client.get(self._path("/traces/stats")).json()
            out.update({"stats_traces": stats.get("count"), "stats_spans": stats.get("span_count")})
        return out


_PHOENIX_COUNT = "{ projects { edges { node { name recordCount traceCount } } } }"


class WindlassAuthCounter(WindlassCounter):
    """windlass with auth on: the exporter and every query send an API token."""

    name = "windlass-auth"

    def __init__(self, url: str, project: str, token: str) -> None:
        super().__init__(url, project)
        self.token = token
        self.client.headers["authorization"] = f"Bearer {token}"

    def headers(self) -> list[str]:
        """Return the project header and the bearer token of windlass's OTLP route."""
        return [*super().headers(), f"authorization=Bearer {self.token}"]


class PhoenixCounter(SpanCounter):
    """Phoenix: OTLP with ``openinference.project.name``; GraphQL count, REST walk."""

    name = "phoenix"

    def resource_project(self) -> str | None:
        """Return the project, named the OpenInference way (a resource attribute)."""
        return self.project

    def _counts(self) -> tuple[int, int]:
        response = self.client.post("/graphql", json={"query": _PHOENIX_COUNT})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"Phoenix GraphQL: {body['errors']}")
        for edge in body["data"]["projects"]["edges"]:
            if edge["node"]["name"] == self.project:
                return int(edge["node"]["recordCount"]), int(edge["node"]["traceCount"])
        return 0, 0  # the project appears with its first span

    def count_method(self) -> str:
        """Return the GraphQL field polled."""
        return "GraphQL projects { recordCount }"

    def count(self) -> int:
        """Return the project's ``recordCount`` (spans) from Phoenix's GraphQL API."""
        return self._counts()[0]

    def verify(self) -> dict[str, Any]:
        """Walk ``GET /v1/projects/{project}/spans`` to the end; count distinct spans."""
        ids: set[str] = set()
        rows, cursor, pages = 0, None, 0
        for pages in range(1, MAX_PAGES + 1):  # noqa: B007 (pages is reported)
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            response = self.client.get(f"/v1/projects/{self.project}/spans", params=params)
            response.raise_for_status()
            body = response.json()
            rows += len(body["data"])
            ids.update(
                f"{s['context']['trace_id']}:{s['context']['span_id']}" for s in body["data"]
            )
            cursor = body.get("next_cursor")
            if not cursor:
                break
        spans, traces = self._counts()
        return {
            "method": "REST /v1/projects/{project}/spans pages",
            "spans": len(ids),
            "rows": rows,
            "pages": pages,
            "graphql_spans": spans,
            "graphql_traces": traces,
        }


def sender_command(endpoint: str, traces: int, counter: SpanCounter) -> list[str]:
    """Return the sender's command line (windlass's venv python, a process of its own)."""
    cmd = [
        sys.executable,
        str(BENCH / "traces_sender.py"),
        "--endpoint",
        endpoint,
        "--traces",
        str(traces),
    ]
    for header in counter.headers():
        cmd += ["--header", header]
    if (project := counter.resource_project()) is not None:
        cmd += ["--project", project]
    return cmd


def sender_env() -> dict[str, str]:
    """Return the sender's environment: no OTEL_* overrides, no snapshot on the path."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "PYTHONPATH"}
