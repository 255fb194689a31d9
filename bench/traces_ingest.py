"""One ingest measurement: send the traces to a running server, time until all are queryable.

The sender (:mod:`traces_sender`) runs in a process of its own and reports its times on the
machine's monotonic clock. Its start is the first span made; "end to end" runs from there
to the first poll that finds every span queryable through the server's own API, so the
sender's time is included. "Lag" runs from ``force_flush`` returning to the same poll.

Polling starts when the sender reports ``force_flush`` returned, so no poll loads the
server while spans arrive. The next poll comes after half the time the current rate
needs for the rest (counted from the first span), but never sooner than ``poll_s``
(50 ms) and never later than ``max_poll_s`` (0.5 s): a server that needs a minute is not
queried 1,200 times, and the last poll still lands within 50 ms of the finish, or
within 0.5 s when its rate jumps.

Server CPU is the user + system time of the server's process tree, read from ``/proc``
when the sender is set up and waiting (the server idle), and again at that last poll.
Each poll costs the server CPU too, so after the run the benchmark times 20 polls on the
idle server and subtracts their cost times the number of polls; both figures are kept.
"""

from __future__ import annotations

import json
import queue
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import servers
import traces_servers as ts
from traces_sender import SPANS_PER_TRACE

READY_TIMEOUT_S = 120.0
POLL_COST_SAMPLES = 20
SETTLE_S = 3.0


class Sender:
    """The sender process, with its stdout lines read on a thread (so reads can time out)."""

    def __init__(self, cmd: list[str], log_path: Path) -> None:
        self.log = open(log_path, "ab")  # noqa: SIM115 (closed in close())
        self.popen = subprocess.Popen(
            cmd,
            env=ts.sender_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, tag: str, timeout_s: float) -> str:
        """Return the payload of the next line starting with ``tag``; raise on a timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise RuntimeError(f"sender: no {tag} line within {timeout_s:.0f} s") from None
            if line is None:
                raise RuntimeError(f"sender exited (code {self.popen.wait(10)}) before {tag}")
            if line == tag or line.startswith(tag + " "):
                return line[len(tag) :].strip()

    def go(self) -> None:
        """Tell the sender to start."""
        assert self.popen.stdin is not None
        self.popen.stdin.write("go\n")
        self.popen.stdin.flush()

    def close(self) -> None:
        """End the sender if it is still running and close its log."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)
        self.log.close()


def _next_sleep(
    count: int, expected: int, now: float, t0: float, poll_s: float, max_poll_s: float
) -> float:
    if count <= 0 or now <= t0:
        return poll_s
    rate = count / (now - t0)
    eta = max(expected - count, 0) / rate
    return min(max(eta / 2, poll_s), max_poll_s)


def _poll_cost(server: servers.Server, counter: ts.SpanCounter) -> float:
    """Return the server CPU seconds one count query costs (the mean of 20, back to back)."""
    before = ts.tree_cpu_seconds(server.popen.pid)
    for _ in range(POLL_COST_SAMPLES):
        counter.count()
    return (ts.tree_cpu_seconds(server.popen.pid) - before) / POLL_COST_SAMPLES


def measure(
    server: servers.Server,
    counter: ts.SpanCounter,
    traces: int,
    data: Path,
    *,
    poll_s: float,
    max_poll_s: float,
    timeout_s: float,
) -> dict[str, Any]:
    """Send ``traces`` traces to ``server`` and return every time, count and figure."""
    expected = traces * SPANS_PER_TRACE
    out: dict[str, Any] = {"traces": traces, "spans_expected": expected}
    counter.prepare()
    out["count_method"] = counter.count_method()
    out["listeners_before"] = ts.check_loopback(server)
    out["idle_rss_mb"] = server.memory().rss_mb
    pid = server.popen.pid
    sender = Sender(
        ts.sender_command(f"{server.url}/v1/traces", traces, counter), data / "sender.log"
    )
    try:
        sender.expect("READY", READY_TIMEOUT_S)
        cpu0 = ts.tree_cpu_seconds(pid)
        sender.go()
        flushed = _json(sender.expect("FLUSHED", timeout_s))
        t0, t_flushed = flushed["t0"], flushed["t_flushed"]
        deadline = t0 + timeout_s
        count, polls, samples = -1, 0, []
        max_polls = int(timeout_s / poll_s) + 1
        while polls < max_polls:
            asked = time.monotonic()
            count = counter.count()
            now = time.monotonic()
            polls += 1
            samples.append((round(now - t0, 4), count, round(now - asked, 4)))
            if count >= expected or now > deadline:
                break
            time.sleep(_next_sleep(count, expected, now, t0, poll_s, max_poll_s))
        t_done = now
        cpu1 = ts.tree_cpu_seconds(pid)
        memory = server.memory()
        out["peak_rss_mb"] = ts.tree_peak_rss_mb(pid)
        result = _json(sender.expect("RESULT", 120.0))
        sender.popen.wait(timeout=60)
    finally:
        sender.close()

    complete = count >= expected
    out.update(
        {
            "sender": result,
            "complete": complete,
            "spans_seen": count,
            "polls": polls,
            "poll_samples": samples[-40:],  # (seconds from t0, spans, query seconds)
            "last_query_s": samples[-1][2],
            "sender_seconds": t_flushed - t0,
            "sender_create_seconds": flushed["t_created"] - t0,
            "end_to_end_s": t_done - t0,
            "lag_s": t_done - t_flushed,
            "rss_mb": memory.rss_mb,
            "pss_mb": memory.pss_mb,
            "processes": memory.processes,
            "cpu_s": cpu1 - cpu0,
        }
    )
    if not complete:
        out["timed_out"] = f"{count} of {expected} spans queryable after {timeout_s:.0f} s"
    time.sleep(SETTLE_S)  # what the server still does once the spans are queryable
    out["cpu_after_settle_s"] = ts.tree_cpu_seconds(pid) - cpu0
    out["cpu_per_poll_s"] = per_poll = _poll_cost(server, counter)
    out["cpu_ingest_s"] = max(out["cpu_s"] - polls * per_poll, 0.0)
    out["cpu_per_span_ms"] = 1000 * out["cpu_ingest_s"] / expected
    out["cpu_per_span_ms_with_polls"] = 1000 * out["cpu_s"] / expected
    out["verify"] = counter.verify()
    out["listeners_after"] = ts.check_loopback(server)
    out["spans_per_s"] = expected / out["end_to_end_s"] if complete else None
    return out


def _json(text: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(text)
    return body


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    """Return the median of ``key`` over the complete runs (None when there are none)."""
    values = [r[key] for r in runs if r.get("complete") and r.get(key) is not None]
    return statistics.median(values) if values else None
