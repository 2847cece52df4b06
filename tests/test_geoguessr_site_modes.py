"""The geoguessr.com mock's own checks for the live-duel transport and the other modes, in real
Chromium WITHOUT the extension: phonebook -> gs2 node, the legacy archive stale until the game
is finished, party duels inside /party/lobby without navigation, localised texts, NMPZ, rated
games, team duels, the opponent's 15 s rule, planted reads.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.geoguessr_site import MockGeoGuessr, Timing
from tests.geoguessr_site.harness import (
    FIND_CONTEXT,
    eventually,
    needs_react,
    run_on_page,
    wait_js,
    wait_text,
)

pytestmark = [pytest.mark.browser, needs_react]
FAST = Timing(countdown_s=0.4, result_s=0.8, after_first_guess_s=15.0, opponent_s=0.3, party_wait_s=0.5)
PLAYING = "!!document.querySelector('[data-qa=perform-guess]')"



async def _guess(page, lat: float, lng: float) -> None:
    await wait_js(page, PLAYING)
    await page.evaluate(FIND_CONTEXT)
    await page.evaluate("async ([a, b]) => { await window.__ctx.onPlacedPin({lat: a, lng: b}); await window.__ctx.onGuess(); }",
                        [lat, lng])


def test_phonebook_gs2_and_the_legacy_archive_stale_until_finished(chromium_path, tmp_path):
    with MockGeoGuessr(mode="duels", rounds=2, timing=FAST, workdir=tmp_path) as site:
        async def body(page):
            archive = "async (id) => (await fetch('https://game-server.geoguessr.com/api/duels/' + id, {credentials: 'include'})).json()"
            phone = "async (id) => (await fetch('/api/v4/game-server/phonebook/' + id)).json()"
            await _guess(page, 1.0, 1.0)
            live_pb = await page.evaluate(phone, site.game_id)
            live = await page.evaluate(archive, site.game_id)
            await wait_js(page, "!!document.querySelector('[class*=new-round_roundNumber__]')")
            await _guess(page, 2.0, 2.0)
            await wait_js(page, "!!document.querySelector('[class*=game-summary-2_root__]')")
            return live_pb, live, await page.evaluate(phone, site.game_id), await page.evaluate(archive, site.game_id)
        live_pb, live, done_pb, done = run_on_page(site, chromium_path, body)
        assert live_pb == {"gameId": site.game_id, "gameServerNodeId": site.config.node_id, "status": "Active"}
        assert (live["status"], live["version"], len(live["rounds"])) == ("Created", 0, 1)
        assert done_pb == {"gameId": site.game_id, "gameServerNodeId": None, "status": "Finished"}
        assert done["status"] == "Finished" and done["version"] > 0 and len(done["rounds"]) == 2
        paths = [(r["host"], r["path"].split("/")[-1], r["own"]) for r in site.requests() if r["host"] == "gs2.geoguessr.com"]
        assert ("gs2.geoguessr.com", "reconnect", True) in paths and ("gs2.geoguessr.com", "ws", True) in paths
        assert ("gs2.geoguessr.com", "guess", True) in paths and ("gs2.geoguessr.com", "pin", True) in paths
        # the archive read during round 1 came after our guess of round 1: not a violation
        assert [r.round for r in site.trap_reads() if r.trap == "archive.duels" and r.before_guess] == []
        hp = site.round_state()["hp"]
        assert hp[0] < 6000 or hp[1] < 6000


def test_party_duel_runs_inside_the_lobby_without_navigation(chromium_path, tmp_path):
    with MockGeoGuessr(mode="party", rounds=1, timing=FAST, locale="ja", guest=True, workdir=tmp_path) as site:
        async def body(page):
            url = page.url
            splash = await wait_text(page, "#party-duel-portal [class*=new-round_roundNumber__]")
            outside_main = await page.evaluate("!document.querySelector('main [class*=duels_root__]')")
            await _guess(page, 3.0, 3.0)
            found = await page.evaluate(FIND_CONTEXT)
            await wait_js(page, "!!document.querySelector('[data-qa=round-result]')")
            card = await page.inner_text("[class*=round-score_roundNumber__]")
            account = await page.evaluate("JSON.parse(document.getElementById('__NEXT_DATA__').textContent).props.accountProps")
            return url, page.url, splash, outside_main, found, card, account
        url, url_after, splash, outside_main, found, card, account = run_on_page(site, chromium_path, body)
        assert account == {}                                     # a guest: no user id in __NEXT_DATA__
        assert any(r["path"] == "/api/v4/guest-users/id" and r["own"] for r in site.requests())
        players = [p["playerId"] for t in site.rt.duel.game.state()["teams"] for p in t["players"]]
        assert site.config.guest_id in players
        assert url == url_after == site.url and "/ja/party/lobby/" in url
        assert splash == "ラウンド 1" and card == "ラウンド 1"
        assert outside_main is True
        assert found["context"] == {"type": "Party", "id": site.config.party_id}
        assert [(g.round, g.via) for g in site.guesses()] == [(1, "page")]


def test_nmpz_rated_flags_and_no_user_turning(chromium_path, tmp_path):
    with MockGeoGuessr(mode="duels", rounds=1, nmpz=True, rated=True, timing=FAST, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, PLAYING + " && window.__hook.panos.length === 1")
            found = await page.evaluate(FIND_CONTEXT)
            nmpz = await page.evaluate("!!document.querySelector('[class*=panorama_playingNmpz__]')")
            opts = await page.evaluate("window.__ctx.gameState.options.movementOptions")
            before = await page.evaluate("window.__hook.panos[0].getPov().heading")
            await page.click("canvas.widget-scene-canvas")
            await page.keyboard.press("ArrowRight")             # even real input cannot turn it
            await asyncio.sleep(0.2)
            return found, nmpz, opts, before, await page.evaluate("window.__hook.panos[0].getPov().heading")
        found, nmpz, opts, before, after = run_on_page(site, chromium_path, body)
        assert found["isRated"] is True and found["context"] is None
        assert nmpz is True and opts["forbidRotating"] is True and opts["forbidMoving"] is True
        assert after == before


def test_opponent_first_then_the_15_second_rule(chromium_path, tmp_path):
    timing = Timing(countdown_s=0.4, result_s=0.8, after_first_guess_s=2.0, opponent_s=0.3)
    with MockGeoGuessr(mode="team-duels", rounds=1, opponent="first", timing=timing, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, PLAYING)
            await wait_js(page, "!!document.querySelector('[data-qa=round-result]')", timeout_s=10)
            return await page.evaluate(FIND_CONTEXT)
        found = run_on_page(site, chromium_path, body)
        state = site.rt.duel.game.state()
        assert state["options"]["isTeamDuels"] is True and found["team"] == "blue"
        r = state["rounds"][0]
        assert r["timerStartTime"] is not None and r["hasProcessedRoundTimeout"] is True
        blue, red = state["teams"]
        assert len(blue["players"]) == len(red["players"]) == 2
        assert blue["roundResults"][0]["bestGuess"] is not None    # the teammate guessed
        assert site.guesses() == []                                 # we never did: timed out


def test_a_planted_read_is_recorded_as_planted(chromium_path, tmp_path):
    with MockGeoGuessr(mode="duels", rounds=1, timing=FAST, workdir=tmp_path,
                       plant_reads=("currentRound.panorama", "gs2.state")) as site:
        async def body(page):
            await wait_js(page, PLAYING)
            await asyncio.sleep(1.0)
        run_on_page(site, chromium_path, body)
        assert eventually(lambda: {r.trap for r in site.violations()} == {"currentRound.panorama", "gs2.state"})
        assert all(r.planted for r in site.violations())


def test_battle_royale_countries_rounds_follow_each_guess(chromium_path, tmp_path):
    with MockGeoGuessr(mode="battle-royale", br_variant="countries", rounds=2, timing=FAST,
                       workdir=tmp_path) as site:
        async def body(page):
            for n in (1, 2):
                await wait_js(page, PLAYING + " && window.__hook.maps.length >= 1")
                await page.evaluate("""([lat, lng]) => {
                  const map = window.__hook.maps[window.__hook.maps.length - 1];
                  google.maps.event.trigger(map, 'click', { latLng: new google.maps.LatLng(lat, lng) });
                }""", [10.0 * n, 5.0])
                await page.click("[data-qa=perform-guess]")
                await wait_js(page, "!document.querySelector('[data-qa=perform-guess]')")
            return await page.evaluate(
                "async (id) => (await fetch('https://game-server.geoguessr.com/api/battle-royale/' + id, {credentials: 'include'})).json()",
                site.game_id)
        state = run_on_page(site, chromium_path, body)
        assert state["isCountries"] is True
        assert [(g.round, g.lat, g.via) for g in site.guesses()] == [(1, 10.0, "page"), (2, 20.0, "page")]
        assert {(r.trap, r.before_guess) for r in site.trap_reads()} == {("api.battle-royale", False)}
