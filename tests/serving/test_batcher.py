"""The adaptive batcher: merged calls, right rows to the right caller, bounded queue."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from windlass.exceptions import Overloaded, SchemaMismatch
from windlass.serving.batcher import Batcher


def _identity(calls: list[int]) -> object:
    def predict(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        time.sleep(0.002)  # a model that takes a moment, so requests pile up
        return batch[:, 0] * 10

    return predict


def test_concurrent_callers_each_get_their_own_rows_in_merged_batches() -> None:
    calls: list[int] = []

    async def main() -> list[tuple[int, list[float]]]:
        batcher = Batcher(_identity(calls), max_batch_size=64, max_wait_ms=2)

        async def caller(i: int) -> tuple[int, list[float]]:
            rows = 1 + i % 3  # callers send 1, 2 or 3 rows that encode who they are
            data = np.array([[i * 1000 + r] for r in range(rows)], dtype=np.float64)
            out = await batcher.submit(data, rows)
            return i, list(out)

        try:
            return await asyncio.gather(*(caller(i) for i in range(300)))
        finally:
            await batcher.close()

    results = asyncio.run(main())
    for i, out in results:
        assert out == [(i * 1000 + r) * 10 for r in range(1 + i % 3)]
    assert sum(calls) == sum(1 + i % 3 for i in range(300))
    assert max(calls) > 1, "concurrent requests were never merged"
    assert max(calls) <= 64 + 2


def test_a_full_queue_answers_overloaded_and_drops_nothing_accepted() -> None:
    gate = threading.Event()

    def slow(batch: np.ndarray) -> np.ndarray:
        gate.wait(5)
        return batch[:, 0]

    async def main() -> tuple[list[object], int]:
        batcher = Batcher(slow, max_batch_size=4, max_wait_ms=0, max_queue_rows=8)
        tasks = [
            asyncio.ensure_future(batcher.submit(np.array([[float(i)]]), 1)) for i in range(30)
        ]
        await asyncio.sleep(0.1)
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.close()
        return results, sum(isinstance(r, Overloaded) for r in results)

    results, refused = asyncio.run(main())
    assert refused > 0
    for i, result in enumerate(results):
        if not isinstance(result, Overloaded):
            assert list(result) == [float(i)]  # type: ignore[call-overload]
    overloaded = next(r for r in results if isinstance(r, Overloaded))
    assert overloaded.details["retry_after"] == 1 and overloaded.http_status == 503


def test_a_failing_request_fails_alone() -> None:
    def picky(batch: np.ndarray) -> np.ndarray:
        time.sleep(0.002)
        if (batch < 0).any():
            raise SchemaMismatch("negative input")
        return batch[:, 0]

    async def main() -> list[object]:
        batcher = Batcher(picky, max_batch_size=32, max_wait_ms=5)
        values = [1.0, -1.0, 2.0, 3.0, 4.0]
        results = await asyncio.gather(
            *(batcher.submit(np.array([[v]]), 1) for v in values), return_exceptions=True
        )
        await batcher.close()
        return results

    results = asyncio.run(main())
    assert isinstance(results[1], SchemaMismatch)
    assert [list(r) for i, r in enumerate(results) if i != 1] == [  # type: ignore[call-overload]
        [1.0],
        [2.0],
        [3.0],
        [4.0],
    ]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        Batcher(lambda b: b, max_batch_size=0)


def test_a_fast_model_predicts_on_the_event_loop_and_rows_stay_right() -> None:
    calls: list[tuple[int, str]] = []

    def fast(batch: np.ndarray) -> np.ndarray:
        calls.append((len(batch), threading.current_thread().name))
        return batch[:, 0] * 10

    async def main() -> tuple[list[tuple[int, list[float]]], bool]:
        batcher = Batcher(fast, max_batch_size=16, max_wait_ms=2)

        async def caller(i: int) -> tuple[int, list[float]]:
            rows = 1 + i % 2
            data = np.array([[i * 10 + r] for r in range(rows)], dtype=np.float64)
            await asyncio.sleep(0.0005 * (i % 7))  # arrivals spread over a few loop turns
            return i, list(await batcher.submit(data, rows))

        try:
            first = await asyncio.gather(*(caller(i) for i in range(100)))
            second = await asyncio.gather(*(caller(i) for i in range(100, 400)))
            return [*first, *second], batcher.inline
        finally:
            await batcher.close()

    results, inline = asyncio.run(main())
    for i, out in results:
        assert out == [(i * 10 + r) * 10 for r in range(1 + i % 2)]
    assert inline, "a sub-millisecond model should predict on the event loop"
    threads = [name for _rows, name in calls]
    assert threads[0].startswith("windlass-predict"), "the first batches are timed in the thread"
    assert threads[-1] == "MainThread"
    assert max(rows for rows, _name in calls) <= 16 + 1


def test_a_slow_model_keeps_predicting_in_its_thread() -> None:
    names: list[str] = []

    def slow(batch: np.ndarray) -> np.ndarray:
        names.append(threading.current_thread().name)
        time.sleep(0.003)
        return batch[:, 0]

    async def main() -> bool:
        batcher = Batcher(slow, max_batch_size=4, max_wait_ms=0)
        try:
            for i in range(20):
                await batcher.submit(np.array([[float(i)]]), 1)
            return batcher.inline
        finally:
            await batcher.close()

    assert not asyncio.run(main())
    assert all(name.startswith("windlass-predict") for name in names)
