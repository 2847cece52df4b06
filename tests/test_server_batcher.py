"""MicroBatcher alone (no sockets): batch gathering, the wait bound, queue limit, failures,
close; and the view checks of limits.py on real JPEG bytes."""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import time

import numpy as np
import pytest
from PIL import Image

from backend.core.protocol import ProtocolError
from backend.server.batcher import BatcherClosed, MicroBatcher, QueueFull
from backend.server.limits import Limits, decode_view


class Recorder:
    def __init__(self, delay_s: float = 0.0, fail: set[int] | None = None) -> None:
        self.calls: list[list[int]] = []
        self.delay_s, self.fail = delay_s, fail or set()
        self.threads: set[str] = set()

    def __call__(self, batch):
        self.calls.append([views[0] for views in batch])
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        if self.fail & {views[0] for views in batch}:
            raise ValueError(f"cannot do {sorted(self.fail)}")
        return [views[0] * 10 for views in batch]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_concurrent_rounds_share_a_batch_up_to_max_batch():
    rec = Recorder(delay_s=0.05)

    async def main():
        b = MicroBatcher(rec, max_batch=3, max_wait_ms=50)
        b.start()
        outs = await asyncio.gather(*(b.submit([i]) for i in range(7)))
        await b.close()
        return outs

    outs = run(main())
    assert [o.guess for o in outs] == [i * 10 for i in range(7)]
    assert sorted(len(c) for c in rec.calls) == [1, 3, 3]
    assert sorted(x for c in rec.calls for x in c) == list(range(7))
    assert rec.threads == {"pigeon-model_0"}
    assert all(o.model_ms >= 50 * 0.9 for o in outs) and max(o.batch_size for o in outs) == 3


def test_a_lone_round_waits_at_most_max_wait():
    rec = Recorder()

    async def main():
        b = MicroBatcher(rec, max_batch=8, max_wait_ms=30)
        b.start()
        t0 = time.perf_counter()
        out = await b.submit([1])
        took = time.perf_counter() - t0
        await b.close()
        return out, took

    out, took = run(main())
    assert out.batch_size == 1 and 0.025 <= took < 1.0
    assert out.queue_ms >= 25


def test_batching_off_calls_one_round_at_a_time():
    rec = Recorder(delay_s=0.01)

    async def main():
        b = MicroBatcher(rec, max_batch=1, max_wait_ms=50)
        b.start()
        await asyncio.gather(*(b.submit([i]) for i in range(5)))
        await b.close()

    run(main())
    assert [len(c) for c in rec.calls] == [1] * 5


def test_queue_limit_and_closed_batcher():
    rec = Recorder(delay_s=0.2)

    async def main():
        b = MicroBatcher(rec, max_batch=1, max_wait_ms=0, max_queue=2)
        with pytest.raises(BatcherClosed):
            await b.submit([0])      # not started
        b.start()
        first = asyncio.ensure_future(b.submit([1]))
        second = asyncio.ensure_future(b.submit([2]))
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFull):
            await b.submit([3])
        await b.close()              # answers the queued rounds before stopping
        assert (await first).guess == 10 and (await second).guess == 20
        with pytest.raises(BatcherClosed):
            await b.submit([4])

    run(main())


def test_a_failing_batch_is_retried_round_by_round():
    rec = Recorder(fail={2})

    async def main():
        b = MicroBatcher(rec, max_batch=4, max_wait_ms=30)
        b.start()
        outs = await asyncio.gather(*(b.submit([i]) for i in (1, 2, 3)),
                                    return_exceptions=True)
        after = await b.submit([4])    # the worker survived
        await b.close()
        return outs, after

    outs, after = run(main())
    assert outs[0].guess == 10 and outs[2].guess == 30
    assert isinstance(outs[1], ValueError) and after.guess == 40


def test_wrong_number_of_guesses_is_an_error():
    async def main():
        b = MicroBatcher(lambda batch: [], max_batch=1)
        b.start()
        with pytest.raises(RuntimeError, match="returned 0 guesses for 1"):
            await b.submit([1])
        await b.close()

    run(main())


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), max_batch=0)
    with pytest.raises(ValueError):
        Limits(max_views=5)
    with pytest.raises(ValueError):
        Limits(max_clients=0)


# ------------------------------------------------------------------ limits.decode_view

def _jpeg(size, mode="RGB", fmt="JPEG") -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                    ).convert(mode).save(buf, format=fmt)
    return buf.getvalue()


def test_decode_view_accepts_a_jpeg_and_refuses_the_rest():
    limits = Limits(max_pixels=1_000_000, max_side=2000, max_aspect=4)
    assert decode_view(_jpeg((320, 200)), limits).size == (320, 200)
    assert decode_view(_jpeg((64, 64), mode="L"), limits).mode == "RGB"
    good = _jpeg((100, 100))
    i = good.index(b"\xff\xc0")
    cases = [
        (_jpeg((1500, 1000)), "image_too_large", "1,500,000 pixels"),
        (_jpeg((2100, 600)), "image_too_large", "at most 2000"),
        (_jpeg((1000, 200)), "image_too_large", "aspect"),
        (_jpeg((10, 100)), "bad_image", "at least 16"),
        (_jpeg((64, 64), fmt="PNG"), "bad_image", "PNG, not a JPEG"),
        (good[:200], "bad_image", ""),
        (good[:i + 5] + struct.pack(">HH", 65000, 65000) + good[i + 9:], "image_too_large",
         ""),
    ]
    for data, code, words in cases:
        with pytest.raises(ProtocolError) as info:
            decode_view(data, limits, "view 2")
        assert info.value.code == code, info.value.message
        assert words in info.value.message and "view 2" in info.value.message
