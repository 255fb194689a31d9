"""Adaptive micro-batching: concurrent requests merged into one ``predict`` call.

Requests wait in a bounded queue. One collector task takes everything queued, up to
``max_batch_size`` rows, runs one ``predict`` and hands each caller exactly its rows back,
in order. While a batch runs, new requests queue up, so batches grow with load by
themselves. Before running a batch the collector lets the event loop turn once more, and
again as long as that brought new requests (requests already received join the batch),
for at most ``max_wait_ms``; it never sits idle waiting for requests that have not come.
A slow model (one predicting in its own thread, below) also waits out ``max_wait_ms``
when the previous batch held more than one request.
A full queue is answered at once with :class:`~windlass.exceptions.Overloaded` (HTTP 503
with ``Retry-After``): an accepted request is never dropped.

Where a batch runs depends on how long the model takes. A slow model predicts in its own
thread, so the event loop keeps accepting and parsing requests meanwhile. A fast one
(median of recent batches under ``INLINE_BELOW_S``) predicts on the event loop itself:
handing a sub-millisecond call to a thread and back costs more than the call, and on a
small machine the hop alone halved throughput. The choice is revisited after every batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from windlass.exceptions import Overloaded, WindlassError
from windlass.serving.payloads import combine, split

#: Batches whose recent median predict time is below this run on the event loop itself.
INLINE_BELOW_S = 0.001
# How many recent batch timings decide (and how many must exist before running inline).
_TIMINGS = 16


class Batcher:
    """Merge concurrent predictions for one model into batches."""

    def __init__(
        self,
        predict: Callable[[Any], Any],
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        max_queue_rows: int = 4096,
        on_batch: Callable[[int, int, float], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queue_rows < 1 or max_wait_ms < 0:
            raise ValueError(
                "max_batch_size and max_queue_rows must be positive, max_wait_ms not negative"
            )
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        self.max_queue_rows = max_queue_rows
        self.on_batch = on_batch
        self._queue: deque[tuple[Any, int, asyncio.Future[Any]]] = deque()
        self._queued_rows = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_requests = 1
        self._timings: deque[float] = deque(maxlen=_TIMINGS)
        self._inline = False
        # One thread per model: predictions of a model never run concurrently, so the event
        # loop stays free to accept and parse requests while a batch runs.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="windlass-predict")

    @property
    def queue_depth(self) -> int:
        """Return how many rows wait for a batch."""
        return self._queued_rows

    async def submit(self, prepared: Any, rows: int) -> Any:
        """Queue one request's prepared input and return its own rows of the output."""
        if self._queued_rows + rows > self.max_queue_rows and self._queued_rows > 0:
            raise Overloaded(
                f"the model's queue is full ({self._queued_rows} rows waiting, "
                f"limit {self.max_queue_rows}); retry shortly",
                retry_after=1,
            )
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._collect())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((prepared, rows, future))
        self._queued_rows += rows
        assert self._wake is not None
        self._wake.set()
        return await future

    def _take(self, batch: list[tuple[Any, int, asyncio.Future[Any]]], rows: int) -> int:
        while self._queue and (not batch or rows + self._queue[0][1] <= self.max_batch_size):
            item = self._queue.popleft()
            self._queued_rows -= item[1]
            if item[2].cancelled():  # the caller went away: skip its rows
                continue
            batch.append(item)
            rows += item[1]
        return rows

    async def _collect(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch: list[tuple[Any, int, asyncio.Future[Any]]] = []
                rows = self._take(batch, 0)
                if rows < self.max_batch_size and self.max_wait:
                    rows = await self._gather(loop, batch, rows)
                if not batch:
                    continue
                self._last_requests = len(batch)
                await self._run(loop, batch, rows)

    async def _gather(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[Any, int, asyncio.Future[Any]]],
        rows: int,
    ) -> int:
        """Add requests arriving within ``max_wait``; return the batch's rows."""
        assert self._wake is not None
        deadline = loop.time() + self.max_wait
        while rows < self.max_batch_size and loop.time() < deadline:
            before = rows
            await asyncio.sleep(0)  # one loop turn: requests already read reach the queue
            rows = self._take(batch, rows)
            if rows == before:
                break
        if self._inline or self._last_requests <= 1:
            return rows
        while rows < self.max_batch_size and loop.time() < deadline:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), deadline - loop.time())
            rows = self._take(batch, rows)
        return rows

    @property
    def inline(self) -> bool:
        """Tell whether batches currently run on the event loop (a fast model)."""
        return self._inline

    async def _call(
        self, loop: asyncio.AbstractEventLoop, parts: list[Any], counts: list[int]
    ) -> list[Any]:
        if self._inline:
            return self._predict_batch(parts, counts)
        return await loop.run_in_executor(self._executor, self._predict_batch, parts, counts)

    async def _run(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[Any, int, asyncio.Future[Any]]],
        rows: int,
    ) -> None:
        started = time.perf_counter()
        try:
            output = await self._call(loop, [b[0] for b in batch], [b[1] for b in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][2], error=exc)
                return
            # One request broke the batch: answer each alone, so only it gets the error.
            for item in batch:
                try:
                    single = await self._call(loop, [item[0]], [item[1]])
                    _settle(item[2], result=single[0])
                except Exception as item_exc:
                    _settle(item[2], error=item_exc)
            return
        if self.on_batch is not None:
            self.on_batch(len(batch), rows, time.perf_counter() - started)
        for item, part in zip(batch, output, strict=True):
            _settle(item[2], result=part)

    def _predict_batch(self, parts: list[Any], counts: list[int]) -> list[Any]:
        started = time.perf_counter()
        try:
            return split(self.predict(combine(parts)), counts)
        finally:
            timings = self._timings
            timings.append(time.perf_counter() - started)
            self._inline = (
                len(timings) == _TIMINGS and sorted(timings)[_TIMINGS // 2] < INLINE_BELOW_S
            )

    async def close(self) -> None:
        """Stop the collector; queued requests get an error, the thread is released."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._queue:
            _settle(self._queue.popleft()[2], error=WindlassError("the model server stopped"))
        self._executor.shutdown(wait=False)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
