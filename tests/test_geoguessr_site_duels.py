"""The geoguessr.com mock's own checks, duels side, in real Chromium WITHOUT the extension:
it must behave as the public 2026 evidence says (tests/geoguessr_site/EVIDENCE.md), so the
extension's e2e tests against it mean something.
"""

from __future__ import annotations

import asyncio
import time

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
from tests.geoguessr_site.tiles import expected_hue, hue_distance, hue_of

pytestmark = [pytest.mark.browser, needs_react]
FAST = Timing(countdown_s=0.5, result_s=1.0, after_first_guess_s=15.0, opponent_s=0.3)



# reads the panorama canvas right after a frame (the drawing buffer is not preserved)
CENTRE_PIXEL = """
() => new Promise((resolve) => requestAnimationFrame(() => {
  const c = document.querySelector('[data-qa=panorama] canvas.widget-scene-canvas');
  const o = document.createElement('canvas'); o.width = c.width; o.height = c.height;
  window.__hook.panos[0].setPov(window.__hook.panos[0].getPov());
  requestAnimationFrame(() => {
    const ctx = o.getContext('2d'); ctx.drawImage(c, 0, 0);
    const d = ctx.getImageData(Math.floor(c.width / 2), Math.floor(c.height / 4), 1, 1).data;
    resolve([d[0], d[1], d[2]]);
  });
}))
"""


def test_street_view_turns_only_through_setpov_and_a_late_google_is_hooked(chromium_path, tmp_path):
    turned_at = []
    with MockGeoGuessr(mode="duels", rounds=2, timing=FAST, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, "window.__hook.panos.length === 1 && window.__hook.installedAt !== null")
            before = await page.evaluate("window.__hook.panos[0].getPov().heading")
            # synthetic keys on the focused panorama: nothing turns
            await page.evaluate("""() => { const c = document.querySelector('canvas.widget-scene-canvas'); c.focus();
              for (const type of ['keydown', 'keyup']) for (let i = 0; i < 5; i++)
                c.dispatchEvent(new KeyboardEvent(type, { key: 'ArrowRight', code: 'ArrowRight', bubbles: true })); }""")
            await asyncio.sleep(0.3)
            after_keys = await page.evaluate("window.__hook.panos[0].getPov().heading")
            await asyncio.sleep(1.0)                       # the start view's tiles are all in
            turned_at.append(time.time())
            await page.evaluate("(h) => window.__hook.panos[0].setPov({heading: h, pitch: 0})", (before + 180) % 360)
            await asyncio.sleep(1.0)                       # tiles stream in after the turn
            pixel = await page.evaluate(CENTRE_PIXEL)
            # a real (trusted) key press turns it: what a script cannot do
            await page.click("canvas.widget-scene-canvas")
            await page.keyboard.press("ArrowRight")
            trusted = await page.evaluate("window.__hook.panos[0].getPov().heading")
            return before, after_keys, pixel, trusted
        before, after_keys, pixel, trusted = run_on_page(site, chromium_path, body)
        pano = site.rt.duel.game.rounds[0].pano_id
        assert after_keys == before
        # the turn made new tiles stream in, spread over a while, each URL naming the pano
        tiles = [r["t"] for r in site.requests() if r["host"] == "streetviewpixels-pa.googleapis.com"
                 and turned_at[0] <= r["t"] <= turned_at[0] + 1.0]
        assert len(tiles) >= 3 and max(tiles) - min(tiles) > 0.2, tiles
        assert trusted == pytest.approx((before + 190) % 360)
        target = (before + 180) % 360
        assert hue_distance(hue_of(pixel), expected_hue(pano, target)) < 15, (pixel, expected_hue(pano, target))
        assert eventually(lambda: any(abs(p["heading"] - target) < 1e-6 and p["by"] == "other"
                                      for p in site.pov_log()))      # the site saw the turn
        assert any(p["by"] == "page" and p["round"] == 1 for p in site.pov_log())  # its start view
        assert site.violations() == []


def test_fiber_walk_finds_the_context_and_its_callbacks_guess(chromium_path, tmp_path):
    with MockGeoGuessr(mode="duels", rounds=2, timing=FAST, workdir=tmp_path) as site:
        async def body(page):
            splash = await wait_text(page, "[class*=new-round_roundNumber__]")
            hud_round = await page.evaluate("!!document.querySelector('[class*=duels_hud__] [data-qa=round-number]')")
            await wait_js(page, "!document.querySelector('[class*=new-round_roundNumber__]')")
            found = await page.evaluate(FIND_CONTEXT)
            await page.evaluate("window.__ctx.onPlacedPin({lat: 10, lng: 20})")
            await page.evaluate("window.__ctx.onGuess()")
            await wait_js(page, "!!document.querySelector('[data-qa=round-result]')")
            card = await page.inner_text("[class*=round-score_roundNumber__]")
            splash2 = await wait_text(page, "[class*=new-round_roundNumber__]")
            return splash, hud_round, found, card, splash2
        splash, hud_round, found, card, splash2 = run_on_page(site, chromium_path, body)
        assert splash == "ROUND 1" and splash2 == "ROUND 2"
        assert hud_round is False                               # no round number in the 2026 HUD
        assert found["gameId"] == site.game_id and found["status"] == "Ongoing"
        assert found["isRated"] is False and found["isPaused"] is False
        assert found["round"] == 1 and found["processed"] is False and found["guessed"] is False
        assert isinstance(found["startTime"], (int, float)) and found["team"] == "blue"
        assert card == "Round 1"
        g = site.guesses()
        assert [(x.round, x.lat, x.lng, x.via, x.accepted) for x in g] == [(1, 10.0, 20.0, "page", True)]
        assert site.violations() == [], site.violations()       # the walk itself reads no answer


def test_every_trap_records_its_read_before_the_guess(chromium_path, tmp_path):
    with MockGeoGuessr(mode="duels", rounds=2, timing=FAST, workdir=tmp_path) as site:
        async def body(page):
            await wait_js(page, "window.__hook.panos.length === 1")
            await wait_js(page, "!document.querySelector('[class*=new-round_roundNumber__]')")
            await page.evaluate(FIND_CONTEXT)
            await asyncio.sleep(1.0)                             # let some tiles load
            await page.evaluate("""async () => {
              const c = window.__ctx, sv = window.__hook.panos[0];
              void c.currentRound.panorama; void c.gameState.rounds[0]; void c.gameState.teams;
              sv.getPosition(); sv.getPano(); sv.getLocation(); sv.getLinks(); sv.get('position');
              performance.getEntriesByType('resource');
              await new google.maps.StreetViewService().getPanorama({ location: { lat: 0, lng: 0 } });
              const pb = await (await fetch('/api/v4/game-server/phonebook/' + c.gameState.gameId)).json();
              await fetch(`https://gs2.geoguessr.com/${pb.gameServerNodeId}/${c.gameState.gameId}`, { credentials: 'include' });
              await fetch(`https://game-server.geoguessr.com/api/duels/${c.gameState.gameId}`, { credentials: 'include' });
              await new Promise((resolve) => {      // a socket of its own on the game node
                const ws = new WebSocket(`wss://gs2.geoguessr.com/${pb.gameServerNodeId}/${c.gameState.gameId}/ws`);
                ws.onopen = () => ws.send(JSON.stringify({ code: 'SubscribeToLobby', gameId: c.gameState.gameId }));
                ws.onmessage = () => { ws.close(); resolve(); };
              });
            }""")
            # a tile upload hook (OGGS tiles.js style) reading the image URL
            await page.evaluate("""() => { const P = WebGLRenderingContext.prototype, orig = P.texSubImage2D;
              P.texSubImage2D = function (...a) { const img = a[a.length - 1]; if (img instanceof HTMLImageElement) window.__seen = img.currentSrc || img.src; return orig.apply(this, a); };
              window.__hook.panos[0].setPov({ heading: 200, pitch: 0 }); }""")
            await asyncio.sleep(1.5)
            seen = await page.evaluate("window.__seen || null")
            # a hook on setOptions reads the next round's panorama options
            await page.evaluate("""() => { const P = Object.getPrototypeOf(window.__hook.panos[0]), orig = P.setOptions;
              P.setOptions = function (o) { if (o && 'pano' in o) window.__pano = o.pano; return orig.call(this, o); };
              return window.__ctx.onPlacedPin({ lat: 1, lng: 1 }).then(() => window.__ctx.onGuess()); }""")
            await wait_js(page, "!!window.__pano")
            return seen
        seen = run_on_page(site, chromium_path, body)
        assert seen and "panoid=" in seen
        await_traps = {"currentRound.panorama", "gameState.rounds", "gameState.teams", "sv.getPosition",
                       "sv.getPano", "sv.getLocation", "sv.getLinks", "sv.service", "resource-timing",
                       "gs2.state", "gs2.ws", "archive.duels", "tile.src"}
        def got():
            return {r.trap for r in site.trap_reads() if r.round == 1 and r.before_guess}
        eventually(lambda: await_traps <= got())
        assert await_traps <= got(), await_traps - got()
        assert eventually(lambda: any(r.trap == "sv.options" and r.round == 2 and r.before_guess
                                      for r in site.trap_reads()))
        assert all(not r.planted for r in site.trap_reads())
