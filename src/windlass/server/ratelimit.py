"""Failed-authentication limits per source address: 429 with ``Retry-After`` past the limit.

A :class:`FailureLimiter` remembers, per address, the times of its most recent failed
authentications (a bad token, a bad password, a bad API key). An address with
``WINDLASS_AUTH_MAX_FAILURES`` failures within the last
``WINDLASS_AUTH_FAILURE_WINDOW_SECONDS`` seconds is refused (:class:`TooManyRequests`,
with ``retry_after`` in its details) until the oldest of those failures leaves the window.
Successful requests cost one dictionary lookup and are never recorded.

Memory is bounded: at most ``max_tracked`` addresses (:data:`MAX_TRACKED_ADDRESSES` by
default) are remembered, each with at most ``max_failures`` times; when a new address
would exceed that, the address whose last failure is oldest is forgotten first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from windlass import config
from windlass.exceptions import TooManyRequests

MAX_TRACKED_ADDRESSES = 100_000
"""Most source addresses one limiter remembers (about 20 MB at the default 10 failures)."""


class FailureLimiter:
    """Count failed authentications per source address in a sliding window; thread-safe.

    ``clock`` returns seconds on a monotonic scale (``time.monotonic`` by default); tests
    pass their own. ``max_failures`` and ``window_seconds`` default to the settings
    ``WINDLASS_AUTH_MAX_FAILURES`` and ``WINDLASS_AUTH_FAILURE_WINDOW_SECONDS``.
    """

    def __init__(
        self,
        max_failures: int | None = None,
        window_seconds: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        self.max_failures: int = (
            config.settings.auth_max_failures if max_failures is None else max_failures
        )
        self.window_seconds: float = (
            config.settings.auth_failure_window_seconds
            if window_seconds is None
            else window_seconds
        )
        if self.max_failures < 1 or self.window_seconds <= 0 or max_tracked < 1:
            raise ValueError("max_failures, window_seconds and max_tracked must be positive")
        self.max_tracked = max_tracked
        self._clock = clock
        self._lock = threading.Lock()
        # Least recently failed first; each deque holds the latest `max_failures` times.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        """Return how many addresses are remembered."""
        return len(self._failures)

    def retry_after(self, address: str) -> float:
        """Return the seconds until ``address`` may try again (0 when it is not limited)."""
        times = self._failures.get(address)
        if times is None or len(times) < self.max_failures:
            return 0.0
        with self._lock:
            if len(times) < self.max_failures:  # pragma: no cover - a concurrent forget
                return 0.0
            wait = times[0] + self.window_seconds - self._clock()
        return max(wait, 0.0)

    def check(self, address: str) -> None:
        """Raise :class:`TooManyRequests` while ``address`` is over the failure limit."""
        wait = self.retry_after(address)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"too many failed authentications from this address: at most "
                f"{self.max_failures} in {self.window_seconds:g} s "
                "(WINDLASS_AUTH_MAX_FAILURES, WINDLASS_AUTH_FAILURE_WINDOW_SECONDS); "
                f"retry after {seconds} s",
                retry_after=seconds,
                max_failures=self.max_failures,
                window_seconds=self.window_seconds,
            )

    def failed(self, address: str) -> None:
        """Record one failed authentication from ``address``."""
        now = self._clock()
        with self._lock:
            times = self._failures.get(address)
            if times is None:
                times = deque(maxlen=self.max_failures)
                self._failures[address] = times
                while len(self._failures) > self.max_tracked:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(address)
            times.append(now)

    def forget(self, address: str) -> None:
        """Drop what is remembered about ``address`` (after it authenticated, say)."""
        with self._lock:
            self._failures.pop(address, None)
