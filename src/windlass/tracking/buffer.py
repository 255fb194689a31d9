"""The in-process metric buffer: ``log_metric`` appends, a background thread sends batches.

``add`` never does I/O; it only waits when the buffer is full (backpressure), until the
flusher has made room. The flusher sends batches of up to ``WINDLASS_METRIC_BATCH_SIZE``
points; a batch that fails because the store is unreachable is retried with exponential
backoff (same batch id, so a retry that reached the store twice stores once) for up to
``WINDLASS_FLUSH_RETRY_SECONDS``; then its points are counted as lost and reported loudly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from windlass import config
from windlass.entities import MetricBatch
from windlass.exceptions import BackendUnavailable, WindlassError
from windlass.ids import new_id

logger = logging.getLogger("windlass")

Point = tuple[str, str, float, int, int]  # run id, key, value, step, timestamp


class MetricBuffer:
    """A bounded buffer of metric points drained by one background thread."""

    def __init__(
        self,
        sink: Callable[[MetricBatch], object],
        *,
        capacity: int | None = None,
        batch_size: int | None = None,
        interval: float | None = None,
        retry_seconds: float | None = None,
    ) -> None:
        self._sink = sink
        self.capacity: int = capacity or config.settings.metric_buffer_size
        self.batch_size: int = batch_size or config.settings.metric_batch_size
        self.interval: float = interval or config.settings.flush_interval_seconds
        self.retry_seconds: float = retry_seconds or config.settings.flush_retry_seconds
        self._points: list[Point] = []
        self._cond = threading.Condition()
        self._added = 0  # points ever added
        self._done = 0  # points delivered or given up on
        self._flush_wanted = False
        self._closed = False
        self.lost = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(
            target=self._run, name="windlass-metric-flusher", daemon=True
        )
        self._thread.start()

    def add(self, run_id: str, key: str, value: float, step: int, timestamp: int) -> None:
        """Buffer one point; waits only while the buffer is full."""
        with self._cond:
            if self._closed:
                raise WindlassError("the metric buffer is closed")
            while len(self._points) >= self.capacity:
                self._flush_wanted = True
                self._cond.notify_all()
                self._cond.wait()
            self._points.append((run_id, key, value, step, timestamp))
            self._added += 1
            if len(self._points) >= self.batch_size:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every point added before this call is delivered (or given up on).

        Returns False if ``timeout`` seconds passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._added
            self._flush_wanted = True
            self._cond.notify_all()
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush and stop the background thread."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    @property
    def pending(self) -> int:
        """Return the number of points not yet delivered."""
        with self._cond:
            return self._added - self._done

    def _take(self) -> list[Point] | None:
        with self._cond:
            while not self._points and not self._closed:
                self._cond.wait(self.interval)
                if not self._points and self._flush_wanted:
                    self._flush_wanted = False
            if not self._points:
                return None
            if len(self._points) < self.batch_size and not self._flush_wanted and not self._closed:
                self._cond.wait(self.interval)
            taken = self._points[: self.batch_size]
            del self._points[: self.batch_size]
            if not self._points:
                self._flush_wanted = False
            self._cond.notify_all()  # room for writers waiting on a full buffer
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            batch = MetricBatch(new_id())
            cols = list(zip(*taken, strict=True))
            batch.run_ids, batch.keys = list(cols[0]), list(cols[1])
            batch.values, batch.steps, batch.timestamps = (
                list(cols[2]),
                list(cols[3]),
                list(cols[4]),
            )
            self._deliver(batch)
            with self._cond:
                self._done += len(taken)
                self._cond.notify_all()

    def _deliver(self, batch: MetricBatch) -> None:
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            try:
                self._sink(batch)
                return
            except BackendUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    self._report_lost(
                        batch, f"store unreachable for {self.retry_seconds:g}s: {exc}"
                    )
                    return
                logger.warning(
                    "windlass: metric batch not delivered (%s); retrying in %.1fs", exc, delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except WindlassError as exc:
                self._report_lost(batch, str(exc))
                return
            except Exception as exc:
                self._report_lost(batch, f"{type(exc).__name__}: {exc}")
                return

    def _report_lost(self, batch: MetricBatch, reason: str) -> None:
        runs = sorted(set(batch.run_ids))
        message = f"windlass LOST {len(batch)} metric points of run(s) {', '.join(runs)}: {reason}"
        with self._cond:
            self.lost += len(batch)
            self.errors.append(message)
        logger.error(message)

    def take_errors(self) -> list[str]:
        """Return (and forget) the loss reports since the last call."""
        with self._cond:
            errors, self.errors = self.errors, []
        return errors
