"""A background thread telling the store that this process's active runs are alive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger("windlass")


class Heartbeat:
    """Calls ``beat(run_id)`` for every registered run every ``interval`` seconds."""

    def __init__(self, beat: Callable[[str], object], interval: float) -> None:
        self._beat = beat
        self.interval = interval
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="windlass-heartbeat", daemon=True)
        self._thread.start()

    def add(self, run_id: str) -> None:
        """Start beating for ``run_id``."""
        with self._lock:
            self._runs.add(run_id)

    def discard(self, run_id: str) -> None:
        """Stop beating for ``run_id``."""
        with self._lock:
            self._runs.discard(run_id)

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                runs = list(self._runs)
            for run_id in runs:
                try:
                    self._beat(run_id)
                except Exception as exc:
                    logger.info("windlass: heartbeat for run %s failed: %s", run_id, exc)
