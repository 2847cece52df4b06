"""A bound on the memory that rounds in flight hold, across every client.

A round's share is its views' JPEG bytes plus their decoded RGB pixels (3 bytes a pixel, at
the reduced size the server decodes them to; both read before any pixel is decoded). The
server takes the share before it starts the round — a client whose round does not fit is
not read from until it does, so its next frames wait in its socket, not in memory — and
gives it back once the round's batch has run. A round larger than the whole budget still
runs, alone.

When nothing is in flight any more after a burst, the freed memory is handed back to the
operating system (glibc keeps freed blocks otherwise, and a burst of big views would leave
the process at its peak size for good).

Usage::

    budget = MemoryBudget(256 * 2**20)
    await budget.acquire(n)      # waits while the budget is spent
    ...                          # decode, run the model
    budget.release(n)
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util

TRIM_AFTER_BYTES = 64 * 2**20
"""Return memory to the OS once this much went through the budget since the last time."""


def _find_malloc_trim() -> object | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):   # not glibc (macOS, musl): nothing to trim
        return None


_MALLOC_TRIM = _find_malloc_trim()


def release_free_memory() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; a no-op elsewhere)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class MemoryBudget:
    """See the module docstring. Used from one event loop (no lock needed).

    Attributes:
        capacity: the budget in bytes; ``used`` / ``peak``: held now / at most so far.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the memory budget must be at least 1 byte")
        self.capacity = capacity
        self.used = 0
        self.peak = 0
        self.holders = 0
        self._since_trim = 0
        self._waiters: list[asyncio.Future] = []

    @property
    def waiting(self) -> int:
        """Rounds waiting for their share."""
        return sum(1 for f in self._waiters if not f.done())

    def _fits(self, n: int) -> bool:
        return self.holders == 0 or self.used + n <= self.capacity

    async def acquire(self, n: int) -> None:
        """Take ``n`` bytes of the budget, waiting while it is spent."""
        n = max(0, int(n))
        while not self._fits(n):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.used += n
        self.holders += 1
        self.peak = max(self.peak, self.used)

    def release(self, n: int) -> None:
        """Give back what :meth:`acquire` took; wakes the waiting rounds."""
        n = max(0, int(n))
        self.used -= n
        self.holders -= 1
        self._since_trim += n
        for waiter in self._waiters:       # each checks again whether it fits now
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        if self.holders == 0 and self._since_trim >= TRIM_AFTER_BYTES:
            self._since_trim = 0
            asyncio.get_running_loop().run_in_executor(None, release_free_memory)
