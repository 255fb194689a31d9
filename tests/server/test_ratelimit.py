"""FailureLimiter: failed authentications per address in a sliding window, 429 + Retry-After."""

from __future__ import annotations

import threading

import httpx
import pytest
from fastapi import FastAPI

from asgi_thread import serving
from windlass.exceptions import TooManyRequests
from windlass.server.errors import install_error_handlers
from windlass.server.ratelimit import FailureLimiter


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_limited_after_max_failures_within_the_window() -> None:
    clock = Clock()
    limiter = FailureLimiter(3, 60, clock=clock)
    for _ in range(2):
        limiter.failed("10.0.0.1")
        clock.now += 1
    limiter.check("10.0.0.1")  # two failures: still allowed
    limiter.failed("10.0.0.1")
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("10.0.0.1")
    # The first failure (at 1000) leaves the window at 1060; now is 1002.
    assert caught.value.details["retry_after"] == 58
    assert "at most 3 in 60 s" in caught.value.message
    assert "WINDLASS_AUTH_MAX_FAILURES" in caught.value.message
    assert caught.value.http_status == 429
    limiter.check("10.0.0.2")  # another address is not affected


def test_the_window_slides() -> None:
    clock = Clock()
    limiter = FailureLimiter(2, 10, clock=clock)
    limiter.failed("a")  # t=1000
    clock.now = 1008
    limiter.failed("a")  # t=1008
    with pytest.raises(TooManyRequests):
        limiter.check("a")
    clock.now = 1009.5
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("a")
    assert caught.value.details["retry_after"] == 1  # rounded up, never 0
    clock.now = 1010  # the failure at 1000 has left the window; one remains
    limiter.check("a")
    limiter.failed("a")  # t=1010: 1008 and 1010 are in the window again
    with pytest.raises(TooManyRequests) as caught:
        limiter.check("a")
    assert caught.value.details["retry_after"] == 8
    clock.now = 1020
    limiter.check("a")


def test_forget_clears_an_address() -> None:
    clock = Clock()
    limiter = FailureLimiter(1, 60, clock=clock)
    limiter.failed("a")
    with pytest.raises(TooManyRequests):
        limiter.check("a")
    limiter.forget("a")
    limiter.check("a")
    assert len(limiter) == 0


def test_memory_is_bounded_and_the_least_recently_failed_address_goes_first() -> None:
    clock = Clock()
    limiter = FailureLimiter(1, 60, clock=clock, max_tracked=3)
    for address in ("a", "b", "c"):
        limiter.failed(address)
    limiter.failed("a")  # "a" failed again: now "b" is the oldest
    limiter.failed("d")
    assert len(limiter) == 3
    limiter.check("b")  # forgotten
    for address in ("a", "c", "d"):
        with pytest.raises(TooManyRequests):
            limiter.check(address)


def test_failures_per_address_are_bounded() -> None:
    limiter = FailureLimiter(5, 60, clock=Clock())
    for _ in range(10_000):
        limiter.failed("a")
    assert len(limiter._failures["a"]) == 5


def test_defaults_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (FailureLimiter().max_failures, FailureLimiter().window_seconds) == (10, 60.0)
    monkeypatch.setenv("WINDLASS_AUTH_MAX_FAILURES", "4")
    monkeypatch.setenv("WINDLASS_AUTH_FAILURE_WINDOW_SECONDS", "2.5")
    limiter = FailureLimiter()
    assert (limiter.max_failures, limiter.window_seconds) == (4, 2.5)
    with pytest.raises(ValueError, match="positive"):
        FailureLimiter(0, 1)


def test_concurrent_failures_are_all_counted() -> None:
    clock = Clock()
    limiter = FailureLimiter(1_000_000, 60, clock=clock, max_tracked=50)

    def fail(worker: int) -> None:
        for i in range(2_000):
            limiter.failed(f"{worker}-{i % 100}")
            limiter.failed("shared")

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(limiter) == 50
    assert len(limiter._failures["shared"]) == 8_000


def test_the_server_answers_429_with_retry_after() -> None:
    clock = Clock()
    limiter = FailureLimiter(2, 30, clock=clock)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/login")
    def login(ok: bool) -> dict[str, bool]:
        limiter.check("127.0.0.1")
        if not ok:
            limiter.failed("127.0.0.1")
        return {"ok": ok}

    with serving(app) as url, httpx.Client(base_url=url) as client:
        assert client.post("/login", params={"ok": False}).status_code == 200
        assert client.post("/login", params={"ok": False}).status_code == 200
        clock.now += 5
        refused = client.post("/login", params={"ok": True})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "25"
        body = refused.json()
        assert body["error_code"] == "TOO_MANY_REQUESTS"
        assert body["details"]["retry_after"] == 25
