"""One model worker that micro-batches rounds from every client.

Rounds wait in one queue. The worker takes the first, then gathers more until it holds
``max_batch`` rounds or ``max_wait_ms`` has passed since the first arrived, and runs
``predict_batch`` on the whole batch in its own thread, so the event loop keeps answering
pings, health checks and other clients meanwhile. ``max_batch=1`` turns batching off.

If a batch fails, each of its rounds is retried alone, so one bad round cannot fail the
others; a round that still fails gets the exception.

Usage::

    batcher = MicroBatcher(predictor.predict_batch, max_batch=8, max_wait_ms=5)
    batcher.start()
    out = await batcher.submit(images)     # BatchOutput(guess, queue_ms, model_ms, batch_size)
    await batcher.close()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backend.server.events import log_event

PredictBatch = Callable[[list[list[Any]]], Sequence[Any]]


class QueueFull(Exception):
    """The queue holds ``max_queue`` rounds already."""


class BatcherClosed(Exception):
    """The batcher is shutting down and takes no new rounds."""


@dataclass(frozen=True)
class BatchOutput:
    """A round's answer and how it was made."""

    guess: Any
    queue_ms: float      # submitted -> its batch started
    model_ms: float      # the batch's predict_batch wall time
    batch_size: int


@dataclass
class _Item:
    views: list[Any]
    future: asyncio.Future
    enqueued: float


class MicroBatcher:
    """See the module docstring.

    Args:
        predict_batch: ``list[list[image]] -> list[guess]``, one guess per round, in order.
        max_batch: the most rounds in one call (1: no batching).
        max_wait_ms: how long the first round of a batch waits for company.
        max_queue: the most rounds waiting; :meth:`submit` raises :class:`QueueFull` beyond.
        on_batch: called with each batch's size (for metrics), on the event loop.
    """

    def __init__(self, predict_batch: PredictBatch, *, max_batch: int = 8,
                 max_wait_ms: float = 5.0, max_queue: int = 64,
                 on_batch: Callable[[int], None] | None = None) -> None:
        if max_batch < 1 or max_wait_ms < 0 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be >= 1, max_wait_ms >= 0")
        self._predict = predict_batch
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._pending = 0          # submitted, not yet answered (queued + in the model)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pigeon-model")
        self._task: asyncio.Task | None = None
        self._closing = False

    @property
    def depth(self) -> int:
        """Rounds waiting in the queue (not counting the batch in the model)."""
        return self._queue.qsize()

    @property
    def pending(self) -> int:
        """Rounds submitted and not yet answered."""
        return self._pending

    def start(self) -> None:
        """Start the worker task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="pigeon-batcher")

    async def submit(self, views: list[Any]) -> BatchOutput:
        """Queue one round and wait for its answer.

        Raises:
            QueueFull: too many rounds waiting.
            BatcherClosed: the batcher is closing.
            Exception: whatever ``predict_batch`` raised for this round.
        """
        if self._closing or self._task is None:
            raise BatcherClosed("the model worker is not running")
        if self._pending >= self.max_queue:
            raise QueueFull(f"{self._pending} rounds are already waiting for the model")
        future = asyncio.get_running_loop().create_future()
        self._pending += 1
        try:
            self._queue.put_nowait(_Item(views, future, time.perf_counter()))
            return await future
        finally:
            self._pending -= 1

    async def _gather(self, first: _Item) -> list[_Item]:
        batch = [first]
        deadline = first.enqueued + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:          # close() sentinel: finish this batch, then stop
                self._queue.put_nowait(None)
                break
            batch.append(item)
        return [it for it in batch if not it.future.done()]   # drop cancelled rounds

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = await self._gather(first)
            if not batch:
                continue
            started = time.perf_counter()
            if self._on_batch is not None:
                self._on_batch(len(batch))
            try:
                guesses = await loop.run_in_executor(
                    self._executor, self._predict, [it.views for it in batch])
                if len(guesses) != len(batch):
                    raise RuntimeError(f"predict_batch returned {len(guesses)} guesses for "
                                       f"{len(batch)} rounds")
                model_ms = (time.perf_counter() - started) * 1000.0
                for it, guess in zip(batch, guesses):
                    self._resolve(it, guess, started, model_ms, len(batch))
            except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the worker
                log_event("batch_failed", error=f"{type(exc).__name__}: {exc}"[:300],
                          size=len(batch))
                if len(batch) == 1:
                    if not batch[0].future.done():
                        batch[0].future.set_exception(exc)
                    continue
                for it in batch:      # retry alone, so one bad round fails only itself
                    t0 = time.perf_counter()
                    try:
                        (guess,) = await loop.run_in_executor(self._executor, self._predict,
                                                              [it.views])
                        self._resolve(it, guess, t0, (time.perf_counter() - t0) * 1000.0, 1)
                    except Exception as one:  # noqa: BLE001
                        if not it.future.done():
                            it.future.set_exception(one)

    @staticmethod
    def _resolve(it: _Item, guess: Any, started: float, model_ms: float, size: int) -> None:
        if not it.future.done():
            it.future.set_result(BatchOutput(guess, (started - it.enqueued) * 1000.0,
                                             model_ms, size))

    async def close(self, timeout_s: float = 30.0) -> None:
        """Stop taking rounds, answer the queued ones, stop the worker thread."""
        self._closing = True
        if self._task is not None:
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            except TimeoutError:
                self._task.cancel()
            self._task = None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and not item.future.done():
                item.future.set_exception(BatcherClosed("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)
