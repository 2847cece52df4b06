"""The arena page in Debian's Chromium (Playwright): a person plays through the UI.

- a classic round: lobby → viewer (turned with a key) → pin on the Leaflet map → guess →
  the result panel shows the distance and the score the server computed;
- a duel of a scripted person (this test clicking the UI) against the bot (the real backend
  on a tiny bundle, through protocol v1) ends with the HP the rules give, every round logged;
- closing the tab mid-round: that round is recorded as timed out and the log keeps it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.arena.launch import start_arena
from bot.arena.opponents import ScriptedPlayer
from bot.arena.rules import DuelRules
from bot.arena.sample_dataset import write_sample_dataset

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    data = write_sample_dataset(tmp_path_factory.mktemp("data"), n=6, size=96)
    with start_arena(data, log_dir=tmp_path_factory.mktemp("logs"),
                     baseline_delay_s=0.2) as a:
        yield a


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True,
                               args=["--disable-gpu", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def click_map(page, dx: int = 0, dy: int = 0) -> None:
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


def test_person_plays_a_classic_round_through_the_ui(arena, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(arena.url)
    page.wait_for_selector("#opponent option[value=none]", state="attached")
    page.select_option("#opponent", "none")
    page.click("[data-qa=start-game]")
    page.wait_for_url("**/play/**")
    page.wait_for_selector("[data-qa=panorama][data-view-ready=true]")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("[data-qa=panorama][data-view-index='1'][data-view-ready=true]")
    assert page.locator("#compass").inner_text() == "90°"
    assert page.locator("[data-qa=perform-guess]").is_disabled()
    page.hover("#map")
    click_map(page)
    page.click("[data-qa=perform-guess]")
    page.wait_for_selector("[data-qa=round-result]:not([hidden])")
    text = page.locator("#result-table").inner_text()
    gid = page.evaluate("document.body.dataset.gameId")
    game = arena.hub.games[gid].game
    g = next(iter(game.rounds[0].guesses.values()))
    assert not g.timed_out and f"{g.distance_km:.1f} km" in text and str(g.score) in text
    page.click("[data-qa=play-next-round]")
    page.wait_for_function("document.body.dataset.round === '2'")
    assert errors == []
    page.close()


@pytest.fixture(scope="module")
def bot_backend(tmp_path_factory):
    """The real bot: ``backend.server`` on a tiny random-init bundle (real open_clip model)."""
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread
    from tests.predict_fixtures import box_geocells

    tmp = tmp_path_factory.mktemp("bot")
    predictor = Predictor(load_bundle(make_tiny_bundle(tmp / "bundle", box_geocells())), geo=None)
    with run_server_in_thread(predictor, port=0, db_path=tmp / "scores.sqlite") as srv:
        yield srv, tmp / "scores.sqlite"


def test_duel_scripted_person_against_the_bot_ends_with_right_hp(arena, browser, bot_backend):
    from backend.scorelog import ScoreLog
    from bot.arena.opponents import BotPlayer

    srv, db = bot_backend
    rules = DuelRules(countdown_s=15)
    bot = BotPlayer(srv.url, srv.token)
    # the bot plays through the backend protocol; the person clicks near the map centre
    live, me, token = arena.call(lambda: arena.hub.create_game(
        rules, name="person", opponent=bot, seed=2))
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{arena.url}play/{live.game.id}?t={token}")
    for _ in range(40):
        page.wait_for_function("['guessing','result','finished'].includes(document.body.dataset.phase)")
        phase = page.evaluate("document.body.dataset.phase")
        if phase == "finished":
            break
        if phase == "guessing":
            page.hover("#map")
            click_map(page, dx=40, dy=-20)
            page.click("[data-qa=perform-guess]")
        page.wait_for_selector("[data-qa=round-result]:not([hidden])")
        if page.evaluate("document.body.dataset.phase") == "finished":
            break
        n = page.evaluate("document.body.dataset.round")
        page.click("[data-qa=play-next-round]")
        page.wait_for_function(f"document.body.dataset.round !== '{n}' || "
                               "document.body.dataset.phase === 'finished'")
    game = live.game
    assert game.phase == "finished"
    # recompute HP from the recorded scores with the rules' table
    hp = {p.id: rules.start_hp for p in game.players}
    for rnd in game.rounds:
        (a, ga), (b, gb) = rnd.guesses.items()
        dmg = rules.damage(ga.score, gb.score, round_number=rnd.number)
        loser = a if ga.score < gb.score else b if gb.score < ga.score else None
        if loser:
            hp[loser] = max(0, hp[loser] - dmg)
    assert {p.id: p.hp for p in game.players} == hp
    assert min(hp.values()) == 0
    title = page.locator("#result-title").inner_text()
    assert "Game over" in title
    page.close()
    # the bot's guesses are the backend's, and each round's result reached the score log
    bot_id = next(p.id for p in game.players if p.id != me.id)
    assert [(g["lat"], g["lng"]) for g in bot.guesses] == [
        (r.guesses[bot_id].lat, r.guesses[bot_id].lng) for r in game.rounds]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with ScoreLog(db) as log:
            rows = [r for r in log.rounds(source="arena") if r.game_id == f"arena-{game.id}"]
        if len(rows) == len(game.rounds) and all(r.truth_lat is not None for r in rows):
            break
        time.sleep(0.2)
    assert sorted(r.round_number for r in rows) == [r.number for r in game.rounds]
    assert all(r.truth_lat is not None for r in rows)


def test_closing_the_tab_mid_round_is_recorded_as_timed_out(arena, browser):
    rules = DuelRules(countdown_s=1.0)
    live, me, token = arena.call(lambda: arena.hub.create_game(
        rules, name="leaver", opponent=ScriptedPlayer([(0.0, 0.0, 0.3)]), seed=3))
    page = browser.new_page()
    page.goto(f"{arena.url}play/{live.game.id}?t={token}")
    page.wait_for_selector("[data-qa=panorama][data-view-ready=true]")
    page.close(run_before_unload=True)   # pagehide → sendBeacon(leave)
    # the countdown may end the round before the beacon lands, and the arena's thread writes
    # the log just after it changes the game: wait for all three
    log_path = Path(live.log_file.name)

    def settled() -> bool:
        return bool(live.game.rounds[0].ended_at and not live.game.player(me.id).connected
                    and "player_left" in log_path.read_text()
                    and "round_ended" in log_path.read_text())

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not settled():
        time.sleep(0.1)
    r1 = live.game.rounds[0]
    assert r1.ended_at is not None and r1.guesses[me.id].timed_out
    assert not live.game.player(me.id).connected
    log = [json.loads(x) for x in log_path.read_text().splitlines()]
    kinds = [e["event"] for e in log]
    assert "player_left" in kinds and "round_ended" in kinds
    ended = next(e for e in log if e["event"] == "round_ended")
    assert [g["timed_out"] for g in ended["guesses"] if g["player_id"] == me.id] == [True]


def test_missing_view_and_bad_rows_are_shown_on_the_page(tmp_path, browser):
    data = write_sample_dataset(tmp_path / "data", n=3, size=48)
    with open(data, "a") as fh:
        fh.write("broken,123,0,images/0000_1.jpg,,,,0,1\n")
    with start_arena(data, log_dir=tmp_path / "logs") as a:
        page = browser.new_page()
        page.goto(a.url)
        page.wait_for_selector("#opponent option", state="attached")
        assert "1 bad rows skipped" in page.locator("#dataset-info").inner_text()
        live, _me, token = a.call(lambda: a.hub.create_game(DuelRules(), name="p",
                                                           opponent=ScriptedPlayer([None])))
        live.game.current.location.images[0].unlink()   # a view vanished from disk
        page.goto(f"{a.url}play/{live.game.id}?t={token}")
        page.wait_for_selector("#view-missing:not([hidden])")
        assert "missing" in page.locator("#view-missing").inner_text()
        page.keyboard.press("ArrowRight")               # the other views still show
        page.wait_for_selector("[data-qa=panorama][data-view-index='1'][data-view-ready=true]")
        assert page.locator("#view-missing").is_hidden()
        page.close()


def test_study_flow_code_consent_blinded_game_and_question(tmp_path, browser):
    from bot.experiment.design import create_experiment
    from bot.experiment.report import read_games

    data = write_sample_dataset(tmp_path / "data", n=3, size=48)
    exp = create_experiment(tmp_path / "exp", participants=1, opponents=("baseline",),
                            rules={"start_hp": 50})
    code = next(iter(exp.participants))
    with start_arena(data, log_dir=tmp_path / "logs", baseline_delay_s=0.1,
                     experiment=tmp_path / "exp") as a:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(a.url)
        page.wait_for_selector("#study:not([hidden])")
        page.fill("input[name=code]", code)
        page.click("[data-qa=start-study-game]")
        page.wait_for_selector("#lobby-error:text('consent')")   # not ticked yet
        page.check("[data-qa=consent]")
        page.click("[data-qa=start-study-game]")
        page.wait_for_url("**/play/**")
        page.wait_for_selector("[data-qa=panorama][data-view-ready=true]")
        assert "opponent" in page.locator("#players").inner_text()
        assert "baseline" not in page.locator("#players").inner_text()   # blinded
        page.hover("#map")
        click_map(page)
        page.click("[data-qa=perform-guess]")
        for _ in range(30):
            if page.evaluate("document.body.dataset.phase") == "finished":
                break
            page.wait_for_selector("[data-qa=round-result]:not([hidden])")
            if page.evaluate("document.body.dataset.phase") == "result":
                page.click("[data-qa=play-next-round]")
                page.wait_for_function("document.body.dataset.phase !== 'result'")
                if page.evaluate("document.body.dataset.phase") == "guessing":
                    click_map(page, dx=30)
                    page.click("[data-qa=perform-guess]")
        page.wait_for_selector("[data-qa=question]:not([hidden])")
        page.click("[data-answer=no]")
        page.wait_for_selector("text=answer saved")
        page.close()
    games = read_games(exp, [tmp_path / "logs"])
    assert len(games) == 1 and games[0].answer == "no" and games[0].winner is not None
