"""Load for the serving benchmark: wrk with N connections, and one sequential connection.

Concurrent load is wrk (one thread, keep-alive connections, a fixed JSON body set by a Lua
script whose ``done`` hook prints the summary as JSON). wrk sends the next request on a
connection as soon as the previous answer arrived, so ``connections`` is the number of
concurrent clients. The sequential test is one ``http.client`` keep-alive connection in
this process, one request after another, each timed on its own.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

WRK_TIMEOUT_S = 10  # a slower answer counts as a timeout error

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
"""


def wrk_path() -> str | None:
    """Return the wrk executable, or None when it is not installed."""
    return shutil.which("wrk")


def _script(body: bytes | None) -> str:
    if body is None:
        return _DONE
    text = body.decode()
    if "]==]" in text:
        raise ValueError("the body cannot be quoted in the Lua script")
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n' + _DONE
    )


def wrk(
    url: str, body: bytes | None, *, connections: int, seconds: float, threads: int = 1
) -> dict[str, Any]:
    """Run wrk against ``url`` (POST ``body``, or GET when None); return its summary.

    Rates are per second, latencies in ms; ``errors`` sums socket errors and non-2xx
    answers (``non_2xx``), which are also given apart.
    """
    exe = wrk_path()
    if exe is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(_script(body))
        script = handle.name
    try:
        cmd = [
            exe,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            f"{WRK_TIMEOUT_S}s",
            "-s",
            script,
            url,
        ]
        done = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=seconds + WRK_TIMEOUT_S + 60
        )
    finally:
        Path(script).unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stderr[-500:]}{done.stdout[-500:]}"
        )
    raw = json.loads(line.removeprefix("WRKJSON "))
    duration = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "connections": connections,
        "threads": threads,
        "seconds": duration,
        "requests": raw["requests"],
        "rps": raw["requests"] / duration,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "non_2xx": raw["status"],
        "socket_errors": socket_errors,
        "errors": socket_errors + raw["status"],
        "raw": raw,
    }


def post_json(
    host: str, port: int, path: str, payload: Any, timeout: float = 30.0
) -> tuple[int, Any]:
    """POST ``payload`` as JSON on a fresh connection; return the status and decoded body."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode(errors="replace")


def sequential(
    host: str, port: int, path: str, body: bytes, *, requests: int, max_seconds: float
) -> dict[str, Any]:
    """Send ``body`` ``requests`` times, one after another, on one keep-alive connection.

    Stops early after ``max_seconds`` (a server stalling ~40 ms per request would take
    minutes otherwise). Returns the latency percentiles in ms, the non-200 count and how
    many times the connection had to be opened (1 when keep-alive held).
    """
    conn = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    non_200, connects, sock = 0, 0, None
    started = time.perf_counter()
    deadline = started + max_seconds
    try:
        for _ in range(requests):
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            if conn.sock is not sock:
                connects, sock = connects + 1, conn.sock
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - t0)
            non_200 += response.status != 200
    finally:
        conn.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "planned": requests,
        "seconds": time.perf_counter() - started,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000,
        "max_ms": latencies[-1] * 1000,
        "non_200": non_200,
        "connects": connects,
        "over_20ms": sum(1 for x in latencies if x > 0.020),
    }
