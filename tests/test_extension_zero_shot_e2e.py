"""A zero-shot bundle plays an arena round through the real extension.

The chain a user without training data follows, end to end on a tiny scale: a tiny CLIP
trained on captions (`pigeon pretrain`, a few steps on SynthWorld) → `pigeon bundle zero-shot`
with its text tower → `pigeon serve`'s server → the real extension in headless Chromium,
paired → the arena round → the guess placed from the pixels → the score log.
"""

from __future__ import annotations

import asyncio
import csv

import pytest

from backend.scorelog import ScoreLog
from bot.arena.launch import start_arena
from bot.arena.opponents import ScriptedPlayer
from bot.arena.rules import DuelRules
from bot.browser import extension_browser
from tests.reliability_harness import wait_for_results

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _needs_chromium(chromium_path):
    """Skip (saying why) without Debian's Chromium; fail under PIGEON_REQUIRE_BROWSER=1."""
    return chromium_path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A few SynthWorld places (real geography decides what they show)."""
    from backend.geo.assets import AssetsMissing
    from bot.cli import main

    root = tmp_path_factory.mktemp("sw")
    try:
        assert main(["synthworld", "make", "--n", "12", "--out", str(root), "--seed", "5"]) == 0
    except AssetsMissing as exc:
        pytest.skip(f"geo assets not built: {exc}")
    return root / "data.csv"


@pytest.fixture(scope="module")
def zero_shot_predictor(world, tmp_path_factory):
    import torch

    from backend.model.bundle import load_bundle
    from backend.model.bundle_zero_shot import make_zero_shot_bundle
    from backend.model.pretrain import main as pretrain
    from backend.predict.predictor import Predictor

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("zs")
    assert pretrain(["--model", "pigeon-tiny", "--data", str(world), "--out",
                     str(tmp / "pre"), "--max-steps", "3", "--batch-size", "16",
                     "--workers", "0", "--quiet"]) == 0
    with open(world, newline="", encoding="utf-8") as fh:
        countries = sorted({row["country"] for row in csv.DictReader(fh)})
    out = make_zero_shot_bundle(tmp / "bundle", model="pigeon-tiny",
                                weights=str(tmp / "pre" / "clip.pt"), countries=countries,
                                towns_per_region=1, templates=("caption",),
                                show_progress=False)
    return Predictor(load_bundle(out), geo=None), countries


def test_zero_shot_bundle_plays_a_round_through_the_extension(world, zero_shot_predictor,
                                                               tmp_path):
    from backend.server import run_server_in_thread

    predictor, countries = zero_shot_predictor
    assert predictor.bundle.meta["heads"]["kind"] == "zero-shot"
    db = tmp_path / "scores.sqlite"
    with start_arena(world, record_requests=True, baseline_delay_s=0.3,
                     log_dir=tmp_path / "logs") as arena, \
            run_server_in_thread(predictor, port=0, db_path=db) as srv:
        async def main():
            async with extension_browser() as s:
                await s.pair(srv.url, srv.token, mode="auto", delay_ms=(100, 200))
                await s.wait_connected()
                live, me, token = arena.call(lambda: arena.hub.create_game(
                    DuelRules(countdown_s=0.5, round_time_s=90, max_rounds=1), name="bot",
                    opponent=ScriptedPlayer([None]), seed=9))
                page = await s.context.new_page()
                await page.goto(f"{arena.url}play/{live.game.id}?t={token}")
                await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                             timeout=90_000, polling=250)
                await wait_for_results(db, 1)   # the result follows the round's end
                return live, me
        live, me = asyncio.run(asyncio.wait_for(main(), 180))
    rnd = live.game.rounds[0]
    ours = rnd.guesses[me.id]
    assert not ours.timed_out, "the extension did not guess"
    with ScoreLog(db) as log:
        rows = log.rounds(source="arena")
    assert len(rows) == 1 and rows[0].n_views == 4
    assert rows[0].guess_lat == pytest.approx(ours.lat, abs=1e-6)
    assert rows[0].truth_lat == pytest.approx(rnd.location.lat, abs=1e-6)
    assert rows[0].model_id.startswith("bundle-")  # the zero-shot bundle's id
    # the guess is the zero-shot pin: inside the hull of the named places' candidates
    cells = predictor.bundle.geocells
    assert min(abs(ours.lat - la) + abs(ours.lng - lo) for la, lo in cells.centroids) < 60
    assert set(cells.iso2) <= set(countries)
