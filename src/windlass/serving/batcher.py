"""Adaptive micro-batching: concurrent requests merged into one ``predict`` call.

Requests wait in a bounded queue. One collector task takes everything queued, up to
``max_batch_size`` rows, runs one ``predict`` in the model's own thread and hands each
caller exactly its rows back, in order. While a batch runs, new requests queue up, so
batches grow with load by themselves; when the previous batch held more than one request,
the collector also waits up to ``max_wait_ms`` for more (at low load it never waits).
A full queue is answered at once with :class:`~windlass.exceptions.Overloaded` (HTTP 503
with ``Retry-After``): an accepted request is never dropped.
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


class Batcher:
    """Merge concurrent predictions for one model into batches."""

    def __init__(self, predict: Callable[[Any], Any], *, max_batch_size: int = 64,
                 max_wait_ms: float = 2.0, max_queue_rows: int = 4096,
                 on_batch: Callable[[int, int, float], None] | None = None) -> None:
        if max_batch_size < 1 or max_queue_rows < 1 or max_wait_ms < 0:
            raise ValueError("max_batch_size and max_queue_rows must be positive, "
                             "max_wait_ms not negative")
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
            raise Overloaded(f"the model's queue is full ({self._queued_rows} rows waiting, "
                             f"limit {self.max_queue_rows}); retry shortly", retry_after=1)
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
                if self._last_requests > 1 and rows < self.max_batch_size and self.max_wait:
                    deadline = loop.time() + self.max_wait
                    while rows < self.max_batch_size and loop.time() < deadline:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), deadline - loop.time())
                        rows = self._take(batch, rows)
                if not batch:
                    continue
                self._last_requests = len(batch)
                await self._run(loop, batch, rows)

    async def _run(self, loop: asyncio.AbstractEventLoop,
                   batch: list[tuple[Any, int, asyncio.Future[Any]]], rows: int) -> None:
        started = time.perf_counter()
        try:
            output = await loop.run_in_executor(
                self._executor, self._predict_batch, [b[0] for b in batch], [b[1] for b in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][2], error=exc)
                return
            # One request broke the batch: answer each alone, so only it gets the error.
            for item in batch:
                try:
                    single = await loop.run_in_executor(self._executor, self._predict_batch,
                                                        [item[0]], [item[1]])
                    _settle(item[2], result=single[0])
                except Exception as item_exc:
                    _settle(item[2], error=item_exc)
            return
        if self.on_batch is not None:
            self.on_batch(len(batch), rows, time.perf_counter() - started)
        for item, part in zip(batch, output, strict=True):
            _settle(item[2], result=part)

    def _predict_batch(self, parts: list[Any], counts: list[int]) -> list[Any]:
        return split(self.predict(combine(parts)), counts)

    async def close(self) -> None:
        """Stop the collector; queued requests get an error, the thread is released."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._queue:
            _settle(self._queue.popleft()[2], error=WindlassError("the model server stopped"))
        self._executor.shutdown(wait=False)


def _settle(future: asyncio.Future[Any], *, result: Any = None,
            error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
