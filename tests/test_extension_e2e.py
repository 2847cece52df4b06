"""The real extension in headless Chromium against a real backend (tiny bundle) and the arena.

- a whole duel played automatically to the end, every round in the score log with its result;
- pixels only: every request the extension made is recorded; none reads a view or a round's
  truth before that round ended (the arena's truth endpoint is a separate URL);
- suggest mode shows the pin and never guesses;
- backend down → the overlay says so; play resumes when it returns;
- the service worker stopped by force (CDP ``ServiceWorker.stopAllWorkers``) → it recovers.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from backend.scorelog import ScoreLog
from bot.arena.launch import free_port, start_arena
from bot.arena.opponents import ScriptedPlayer
from bot.arena.rules import DuelRules
from bot.arena.sample_dataset import write_sample_dataset
from bot.browser import extension_browser
from tests.predict_fixtures import box_geocells
from tests.reliability_harness import wait_for_results

pytestmark = pytest.mark.browser
RESULT_RE = re.compile(r"^/api/games/(\w+)/rounds/(\d+)/result$")


@pytest.fixture(autouse=True)
def _needs_chromium(chromium_path):
    """Skip (saying why) without Debian's Chromium; fail under PIGEON_REQUIRE_BROWSER=1."""
    return chromium_path


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor

    path = make_tiny_bundle(tmp_path_factory.mktemp("ext") / "bundle", box_geocells(), seed=0)
    return Predictor(load_bundle(path), geo=None)


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    data = write_sample_dataset(tmp_path_factory.mktemp("data"), n=8, size=128)
    with start_arena(data, record_requests=True, baseline_delay_s=0.3,
                     log_dir=tmp_path_factory.mktemp("logs")) as a:
        yield a


def backend(predictor, db, port=0, token=None):
    from backend.server import run_server_in_thread

    kw = {"port": port, "db_path": db}
    if token:
        kw["token"] = token
    return run_server_in_thread(predictor, **kw)


def run(coro, timeout=240):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def open_game(session, arena, live, token):
    page = await session.context.new_page()
    await page.goto(f"{arena.url}play/{live.game.id}?t={token}")
    return page


def extension_requests(arena, game_id):
    """The extension worker's requests: Chromium marks a request the extension itself starts
    `Sec-Fetch-Site: none` (the page's own are same-origin); the extension sends no header of
    its own (nothing that would mark it on a site)."""
    return [r for r in arena.requests if r["fetch_site"] == "none" and f"/api/games/{game_id}" in r["path"]]


def test_auto_duel_to_the_end_logged_and_pixels_only(predictor, arena, tmp_path):
    db = tmp_path / "scores.sqlite"
    with backend(predictor, db) as srv:
        async def main():
            async with extension_browser() as s:
                await s.pair(srv.url, srv.token, mode="auto", delay_ms=(200, 400))
                await s.wait_connected()
                live, me, token = arena.call(lambda: arena.hub.create_game(
                    DuelRules(), name="pigeon-bot",
                    opponent=_baseline(arena), seed=5))
                page = await open_game(s, arena, live, token)
                await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                             timeout=150_000, polling=250)
                await wait_for_results(db, len(live.game.rounds))   # they follow each round
                return live, me, await s.request_log()
        live, me, sw_log = run(main())
    game = live.game
    assert game.phase == "finished" and len(game.rounds) >= 2
    ours = [r.guesses[me.id] for r in game.rounds]
    assert all(not g.timed_out for g in ours), "the extension missed a round"
    hp = min(p.hp for p in game.players)
    assert hp == 0
    # every round is in the score log, with the result the extension read after the round
    with ScoreLog(db) as log:
        rows = {r.round_number: r for r in log.rounds(source="arena")}
    assert sorted(rows) == [r.number for r in game.rounds]
    for rnd in game.rounds:
        row = rows[rnd.number]
        g = rnd.guesses[me.id]
        assert row.guess_lat == pytest.approx(g.lat, abs=1e-6)
        assert row.truth_lat == pytest.approx(rnd.location.lat, abs=1e-6)
        assert row.score == g.score
        assert row.n_views == 4
    # pixels only: the arena saw every request; the extension never fetched a view, and read
    # each round's truth only after that round had ended
    reqs = extension_requests(arena, game.id)
    assert reqs, "no extension request recorded"
    assert not [r for r in reqs if "/views/" in r["path"] or r["path"].endswith("/state")]
    truth_reads = [(r, RESULT_RE.match(r["path"])) for r in reqs if RESULT_RE.match(r["path"])]
    assert len(truth_reads) == len(game.rounds)
    for r, m in truth_reads:
        rnd = game.rounds[int(m.group(2)) - 1]
        assert rnd.ended_at is not None and r["t"] >= rnd.ended_at
    guesses = [r for r in reqs if r["path"].endswith("/guess")]
    assert len(guesses) == len(game.rounds)
    # the worker's own log agrees: only guess and result URLs, nothing else
    assert {re.sub(r"\?.*", "", x["url"]).rsplit("/", 1)[-1] for x in sw_log} <= {"guess", "result"}


def _baseline(arena):
    from bot.arena.opponents import ConstantGuessPlayer

    locs = arena.hub.dataset.locations
    return ConstantGuessPlayer.dataset_mean([x.lat for x in locs], [x.lng for x in locs],
                                            delay_s=0.3)


def test_suggest_mode_never_guesses(predictor, arena, tmp_path):
    with backend(predictor, tmp_path / "s.sqlite") as srv:
        async def main():
            async with extension_browser() as s:
                await s.pair(srv.url, srv.token, mode="suggest", delay_ms=(0, 0))
                await s.wait_connected()
                live, me, token = arena.call(lambda: arena.hub.create_game(
                    DuelRules(countdown_s=3.0, max_rounds=2), name="person",
                    opponent=ScriptedPlayer([(10.0, 10.0, 3.0)]), seed=6))
                page = await open_game(s, arena, live, token)
                await page.wait_for_function(
                    "document.querySelector('pigeon-bot-overlay')?.dataset.guess", timeout=30_000)
                shown = await page.evaluate(
                    "document.querySelector('pigeon-bot-overlay').dataset.guess")
                # the person reads the suggestion, does not guess, and clicks on after results
                while live.game.phase != "finished":
                    await page.wait_for_function(
                        "['result', 'finished'].includes(document.body.dataset.phase)",
                        timeout=30_000, polling=100)
                    if live.game.phase == "result":
                        await page.click("[data-qa=play-next-round]")
                    await asyncio.sleep(0.3)
                return live, me, await s.request_log(), shown
        live, me, sw_log, shown = run(main())
    assert re.match(r"^-?\d+\.\d{4},-?\d+\.\d{4}$", shown)  # the pin was shown
    assert all(r.guesses[me.id].timed_out for r in live.game.rounds)
    assert not [r for r in extension_requests(arena, live.game.id) if r["path"].endswith("/guess")]
    assert not [x for x in sw_log if "/guess" in x["url"]]


def test_backend_down_is_shown_and_play_resumes(predictor, arena, tmp_path):
    port = free_port()
    db = tmp_path / "s.sqlite"
    srv = backend(predictor, db, port=port)
    token = srv.token
    try:
        async def main():
            nonlocal srv
            async with extension_browser() as s:
                await s.pair(srv.url, token, mode="auto", delay_ms=(100, 200))
                await s.wait_connected()
                # the opponent never guesses: a round ends when the extension guesses
                live, me, ptoken = arena.call(lambda: arena.hub.create_game(
                    DuelRules(countdown_s=0.5, round_time_s=90, max_rounds=3), name="bot",
                    opponent=ScriptedPlayer([None]), seed=7))
                page = await open_game(s, arena, live, ptoken)
                await page.wait_for_function("document.body.dataset.round === '2'",
                                             timeout=30_000)
                srv.stop()                                   # the backend goes away
                overlay = "document.querySelector('pigeon-bot-overlay')?.dataset.state"
                await page.wait_for_function(f"{overlay} === 'down'", timeout=20_000)
                text = await page.evaluate(
                    "document.querySelector('pigeon-bot-overlay').shadowRoot")
                assert text is None  # closed shadow root: the page cannot read the overlay
                stuck_round = live.game.current.number
                await asyncio.sleep(1.0)
                assert live.game.current.number == stuck_round  # no guess without the backend
                srv = backend(predictor, db, port=port, token=token)   # it comes back
                await page.wait_for_function(f"{overlay} === 'connected'", timeout=30_000)
                await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                             timeout=60_000, polling=250)
                return live, me, stuck_round
        live, me, stuck = run(main())
    finally:
        srv.stop()
    assert live.game.phase == "finished"
    assert not live.game.rounds[stuck - 1].guesses[me.id].timed_out  # guessed after the return


def test_worker_stopped_by_force_recovers(predictor, arena, tmp_path):
    with backend(predictor, tmp_path / "s.sqlite") as srv:
        async def main():
            async with extension_browser() as s:
                await s.pair(srv.url, srv.token, mode="auto", delay_ms=(100, 200))
                first = await s.wait_connected()
                live, me, token = arena.call(lambda: arena.hub.create_game(
                    DuelRules(countdown_s=0.5, round_time_s=90, max_rounds=4), name="bot",
                    opponent=ScriptedPlayer([None]), seed=8))
                page = await open_game(s, arena, live, token)
                await page.wait_for_function("document.body.dataset.round === '2'",
                                             timeout=30_000)
                await s.stop_workers()
                await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                             timeout=90_000, polling=250)
                after = await s.wait_connected()
                return live, me, first, after
        live, me, first, after = run(main())
    assert after["workerStartedAt"] != first["workerStartedAt"], "the worker was not restarted"
    assert all(not r.guesses[me.id].timed_out for r in live.game.rounds)


def test_pairing_through_the_options_page(predictor, tmp_path):
    with backend(predictor, tmp_path / "s.sqlite") as srv:
        async def main():
            async with extension_browser() as s:
                page = await s.context.new_page()
                await page.goto(f"chrome-extension://{s.extension_id}/popup/popup.html")
                await page.wait_for_function("document.querySelector('[name=backendUrl]')?.value")
                assert await page.input_value("[name=backendUrl]") == "ws://127.0.0.1:8765/"
                # a bad URL is refused with a sentence, nothing saved
                await page.fill("[name=backendUrl]", "http://127.0.0.1:1/")
                await page.click("#save")
                await page.wait_for_selector("#errors:text('ws://')")
                await page.fill("[name=backendUrl]", srv.url)
                await page.fill("[name=token]", "wrong-token")
                await page.check("[name=mode][value=suggest]")
                await page.click("#save")
                await page.wait_for_selector("#status:text('auth_failed')", timeout=15_000)
                await page.fill("[name=token]", srv.token)
                await page.click("#save")
                await page.wait_for_selector("#status:text('connected')", timeout=15_000)
                settings = await s.evaluate("() => pigeon.settings")
                return settings, await page.inner_text("#detail")
        settings, detail = run(main())
    assert settings["mode"] == "suggest" and settings["backendUrl"] == srv.url
    assert "model bundle-" in detail
