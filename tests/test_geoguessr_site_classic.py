"""The geoguessr.com mock's own checks, classic side (classic and challenge), in real Chromium
WITHOUT the extension: the page guesses with a map click and its guess button and moves on;
a guess POSTed from outside the page is recorded but the page never learns of it.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.geoguessr_site import MockGeoGuessr
from tests.geoguessr_site.harness import needs_react, run_on_page, wait_js

pytestmark = [pytest.mark.browser, needs_react]



# what OGGS core/maps.js does: a click event on the guess map's Maps object, then the button
PLACE_AND_GUESS = """async ([lat, lng]) => {
  const map = window.__hook.maps.find((m) => document.querySelector('[data-qa=guess-map]').contains(m.getDiv()));
  google.maps.event.trigger(map, 'click', { latLng: new google.maps.LatLng(lat, lng) });
  await new Promise((r) => setTimeout(r, 50));
  document.querySelector('[data-qa=perform-guess]').click();
}"""


def test_classic_round_trip_result_view_next_and_play_again(chromium_path, tmp_path):
    with MockGeoGuessr(mode="classic", rounds=2, workdir=tmp_path) as site:
        async def body(page):
            seen = []
            for n in (1, 2):
                await wait_js(page, "window.__hook.maps.length >= 1 && !!document.querySelector('[data-qa=perform-guess]')")
                disabled = await page.get_attribute("[data-qa=perform-guess]", "disabled")
                await page.evaluate(PLACE_AND_GUESS, [10.0 * n, 20.0])
                await wait_js(page, "!!document.querySelector('[class*=result-layout_root__] [data-qa=result-view-bottom]')")
                top = await page.evaluate("!!document.querySelector('[data-qa=result-view-top]')")
                seen.append((disabled is not None, top))
                if n == 1:
                    await page.click("[data-qa=close-round-result]")
            await wait_js(page, "!!document.querySelector('[data-qa=play-again-button]')")
            url = page.url
            await page.click("[data-qa=play-again-button]")
            await wait_js(page, "!!document.querySelector('[data-qa=perform-guess]')")
            return seen, url, page.url
        seen, url_before, url_after = run_on_page(site, chromium_path, body)
        assert seen == [(True, True), (True, True)]          # button disabled until a pin
        assert url_before == url_after == site.url           # play again: same URL, round 1
        assert [(g.round, g.lat, g.via) for g in site.guesses()] == [(1, 10.0, "page"), (2, 20.0, "page")]
        state = site.round_state()
        assert state["generation"] == 1 and state["round"] == 1 and state["phase"] == "guessing"
        assert site.violations() == []


def test_an_external_classic_guess_leaves_the_page_on_the_round(chromium_path, tmp_path):
    with MockGeoGuessr(mode="classic", rounds=3, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, "!!document.querySelector('[data-qa=perform-guess]')")
            # a guess that does not come from the page's own client (like a service-worker POST)
            status = await page.evaluate("""async (token) => (await fetch('/api/v3/games/' + token, {
              method: 'POST', headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ token, lat: 1.5, lng: 2.5, timedOut: false }) })).status""", site.game_id)
            await asyncio.sleep(1.5)
            return status, await page.evaluate("""() => ({
              guessButton: !!document.querySelector('[data-qa=perform-guess]'),
              result: !!document.querySelector('[class*=result-layout_root__]') })""")
        status, ui = run_on_page(site, chromium_path, body)
        assert status == 200
        assert ui == {"guessButton": True, "result": False}  # the page never learnt of it
        assert [(g.round, g.via, g.accepted) for g in site.guesses()] == [(1, "external", True)]
        assert site.page_guesses() == []
        assert site.round_state()["guessed"] == [1]


def test_a_foreign_read_of_the_game_json_is_a_trap_read(chromium_path, tmp_path):
    with MockGeoGuessr(mode="classic", rounds=2, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, "window.__hook.panos.length === 1")
            await page.evaluate("async (t) => (await fetch('/api/v3/games/' + t)).json()", site.game_id)
            await page.evaluate(PLACE_AND_GUESS, [5.0, 5.0])
            await wait_js(page, "!!document.querySelector('[data-qa=close-round-result]')")
            # after the guess of round 1 the JSON already holds round 2's answer (on_guess)
            await page.evaluate("async (t) => (await fetch('/api/v3/games/' + t)).json()", site.game_id)
        run_on_page(site, chromium_path, body)
        reads = [(r.trap, r.round, r.before_guess) for r in site.trap_reads()]
        assert ("api.v3.games", 1, True) in reads              # read during round 1
        assert ("api.v3.games", 1, False) in reads             # round 1 again, after its guess
        assert ("api.v3.games", 2, True) in reads              # round 2 before its guess
        assert all(r.source == "server" for r in site.trap_reads())


def test_challenge_page_plays_its_game(chromium_path, tmp_path):
    with MockGeoGuessr(mode="challenge", rounds=1, locale="de", workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, "window.__hook.maps.length >= 1 && !!document.querySelector('[data-qa=perform-guess]')")
            label = await page.inner_text("[data-qa=perform-guess]")
            await page.evaluate("async (t) => (await fetch(`/api/v3/challenges/${t}/game`)).json()", site.game_id)
            await page.evaluate(PLACE_AND_GUESS, [3.0, 4.0])
            await wait_js(page, "!!document.querySelector('[data-qa=play-again-button]')")
            return label, page.url
        label, url = run_on_page(site, chromium_path, body)
        assert url == site.url and url.startswith("https://www.geoguessr.com/de/challenge/")
        assert label == "Setze deinen Pin auf die Karte"
        assert [(g.round, g.via) for g in site.guesses()] == [(1, "page")]
        own = [r for r in site.requests() if r["path"].startswith("/api/v3/challenges/")
               and not r["path"].endswith("/game")]
        assert own and all(r["own"] for r in own)
        assert [(r.trap, r.round) for r in site.violations()] == [("api.v3.challenges.game", 1)]


# every text the result view's points element shows, from the moment it appears
WATCH_POINTS = """() => {
  window.__points = [];
  const sel = '[class*=round-result_pointsIndicatorWrapper__] [class*=shadow-text_root__]';
  const note = () => { const e = document.querySelector(sel); const t = e && e.textContent;
    if (t && t !== window.__points[window.__points.length - 1]) window.__points.push(t); };
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


@pytest.mark.parametrize("locale, sep", [(None, ","), ("de", ".")])
def test_the_result_view_shows_0_points_first_then_the_score_with_separators(
        chromium_path, tmp_path, locale, sep):
    """As public tools found on the real site: the points read 0 when the result view appears
    (they wait before reading), and a score of 1000 or more has a thousands separator."""
    paris = (48.8566, 2.3522)
    with MockGeoGuessr(mode="classic", rounds=1, truths=[paris], locale=locale, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, "window.__hook.maps.length >= 1 && !!document.querySelector('[data-qa=perform-guess]')")
            await page.evaluate(WATCH_POINTS)
            await page.evaluate(PLACE_AND_GUESS, [48.4, 2.0])       # ~57 km off: over 4000 points
            await wait_js(page, "!!document.querySelector('[data-qa=play-again-button]')")
            await asyncio.sleep(1.5)                                  # the count-up ends
            return await page.evaluate("window.__points")
        shown = run_on_page(site, chromium_path, body)
    score = site.our_results()[1][0]
    assert score > 4000
    digits = [int("".join(c for c in t if c.isdigit())) for t in shown]
    assert digits[0] == 0 and digits == sorted(digits) and digits[-1] == score, shown
    assert f"{score // 1000}{sep}{score % 1000:03d}" in shown[-1]
