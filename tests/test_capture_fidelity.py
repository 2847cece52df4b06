"""What the bot sees is what the place looks like: the views the extension captures in the
arena and sends to the backend match the dataset's own images, view by view, in heading order.

A backend whose predictor records every round it is given plays one classic arena round
through the real extension (grid capture, then turning capture); each received view,
brought to the dataset image's size, must be close to that image and closer to it than to
any other view of the place. This caught the arena drawing views with ``object-fit: cover``,
which cropped a zoomed centre and made the bot much worse than offline evaluation said.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from PIL import Image

from bot.arena.launch import start_arena
from bot.arena.sample_dataset import write_sample_dataset
from bot.browser import create_arena_game, extension_browser
from tests.predict_fixtures import box_geocells

pytestmark = pytest.mark.browser
SIZE = 128


class RecordingPredictor:
    """Wraps a real predictor; keeps every round's views (the images the model gets)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.rounds: list[list[Image.Image]] = []

    def predict_batch(self, rounds):
        self.rounds.extend([[v.copy() for v in views] for views in rounds])
        return self.inner.predict_batch(rounds)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _checkerboards(csv_path) -> None:
    """Replace each view by random colour blocks: any crop, zoom or swap shows at once."""
    rng = np.random.default_rng(7)
    for path in sorted(csv_path.parent.glob("images/*.jpg")):
        blocks = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        big = np.kron(blocks, np.ones((SIZE // 8, SIZE // 8, 1), dtype=np.uint8))
        Image.fromarray(big).save(path, quality=95)


def _pixels(img: Image.Image) -> np.ndarray:
    """The view as the model's preprocessing would frame it: centre square, 32 px."""
    w, h = img.size
    s = min(w, h)
    box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    return np.asarray(img.convert("RGB").crop(box).resize((32, 32), Image.BILINEAR),
                      dtype=np.float32) / 255.0


@pytest.mark.parametrize("grid", [True, False], ids=["grid-capture", "turning-capture"])
def test_captured_views_match_the_dataset_images(chromium_path, tmp_path, grid):
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells(), seed=0)
    rec = RecordingPredictor(Predictor(load_bundle(bundle), geo=None))
    data = write_sample_dataset(tmp_path / "data", n=2, size=SIZE)
    _checkerboards(data)
    with run_server_in_thread(rec, port=0) as srv, \
            start_arena(data, log_dir=tmp_path / "logs") as arena:
        async def main():
            async with extension_browser() as s:
                await s.pair(srv.url, srv.token, mode="auto", delay_ms=(100, 200),
                             grid_capture=grid)
                await s.wait_connected()
                info = create_arena_game(arena.url, mode="classic", opponent="none",
                                         rules={"rounds": 1})
                page = await s.context.new_page()
                await page.goto(arena.url.rstrip("/") + info["play_url"])
                try:
                    await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                                 timeout=90_000, polling=200)
                except Exception:  # noqa: BLE001 - any timeout: say what the page shows
                    overlay = await page.evaluate("document.querySelector('#pigeon-bot-overlay')"
                                                  " ?.shadowRoot?.textContent || document.body.innerText")
                    raise AssertionError(f"no guess placed; page says: {overlay[:600]}")
                return arena.hub.games[info["game_id"]]
        live = asyncio.run(asyncio.wait_for(main(), 200))
    assert len(rec.rounds) == 1, "the backend should have received exactly one round"
    received = rec.rounds[0]
    truth = [Image.open(p) for p in live.game.rounds[0].location.images]
    assert len(received) == len(truth) == 4
    want = [_pixels(t) for t in truth]
    for i, got_img in enumerate(received):
        got = _pixels(got_img)
        errs = [float(np.abs(got - w).mean()) for w in want]
        assert errs[i] < 0.06, f"view {i + 1} differs from its image (mean abs {errs[i]:.3f})"
        assert errs[i] == min(errs), f"view {i + 1} looks more like another view: {errs}"
