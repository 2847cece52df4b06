"""The geoguessr.com adapter (duels and classic) in real Chromium against a MOCK of the site (this machine cannot
reach geoguessr.com).

The mock is test scaffolding, not the site: an HTTPS server (self-signed certificate, Chromium
told to map www.geoguessr.com and game-server.geoguessr.com to it) serving a duels page built
from the public facts (the same `data-qa` hooks and CSS-module class prefixes as the fixtures),
with a compass that turns with the arrow keys and animates (so "settled" matters), the duels
guess endpoint (answers HTTP 400 once, to exercise the retry) and the duel's JSON answer.
The real extension plays two rounds in auto mode against the real backend (tiny bundle).

Checked: the adapter finds the round, turns to four headings and captures them, posts
`{lat, lng, roundNumber}` with `x-client: web` and the site's cookie, retries after the 400,
reads the duel JSON (the truth) only after its guess of that round, and logs both rounds.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from backend.scorelog import ScoreLog
from bot.arena.launch import free_port
from bot.browser import extension_browser
from tests.predict_fixtures import box_geocells

pytestmark = pytest.mark.browser
GAME = "MockGame123"
ROUNDS = 2
TRUTH = {1: (48.85, 2.35), 2: (-33.87, 151.21)}

PAGE = """<!doctype html><html><head><title>Duels - GeoGuessr (mock)</title>
<style>body{margin:0} [data-qa=panorama]{position:fixed;inset:0} canvas{width:100%;height:100%}
.game-layout_top-hud__Mk1{position:fixed;top:0;left:0;right:0;height:40px;background:#000;color:#fff}
[data-qa=guess-map]{position:fixed;right:10px;bottom:10px;width:300px;height:200px;background:#eee}
[data-qa=compass]{position:fixed;left:10px;bottom:10px;width:60px;height:60px;background:#333}
.overlay_backdrop__Rh1{position:fixed;inset:0;background:#0008;color:#fff;font-size:40px}</style>
</head><body>
<main class="game-layout_root__3hP">
 <div class="game-layout_top-hud__Mk1"><div class="hud_root__RY5"><span data-qa="round-number">Round 1</span></div></div>
 <div class="game-layout_canvas__7Yy" data-qa="panorama" tabindex="0"><canvas id="pano" width="640" height="400"></canvas></div>
 <div class="game-layout_controls__Pq0"><div class="compass_compass__Rr2" data-qa="compass">
   <div class="compass__indicator__1a2" style="transform: rotate(-37deg)"></div></div></div>
 <div class="game-layout_guess-map__Lm3" data-qa="guess-map"><div data-qa="guess-map-canvas"></div>
   <button data-qa="perform-guess">Guess</button></div>
 <div id="slot"></div>
</main>
<script>
const MODE = '__MODE__';
const roundText = (n) => (MODE === 'duels' ? `Round ${n}` : `${n} / 2`);
let heading = 37, target = 37, round = 1, phase = 'guessing';
const needle = document.querySelector('[class*="compass__indicator"]');
const ctx = document.getElementById('pano').getContext('2d');
function draw() {
  ctx.fillStyle = `hsl(${heading}, 60%, ${30 + 10 * round}%)`; ctx.fillRect(0, 0, 640, 400);
  ctx.fillStyle = '#fff'; ctx.font = '40px sans-serif'; ctx.fillText(`${Math.round(heading)}°`, 20, 380);
  needle.style.transform = `rotate(${-heading}deg)`;
}
function step() {   // the view turns over about 150 ms, like a panorama does
  const d = ((target - heading + 540) % 360) - 180;
  if (Math.abs(d) > 0.01) { heading = (heading + Math.sign(d) * Math.min(Math.abs(d), 6) + 360) % 360; draw(); }
  requestAnimationFrame(step);
}
document.querySelector('[data-qa=compass]').addEventListener('click', () => { target = 0; });
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'ArrowRight') target = (target + 30) % 360;
  if (ev.key === 'ArrowLeft') target = (target + 330) % 360;
});
async function poll() {
  const s = await (await fetch('/mock/state')).json();
  if (s.round !== round && s.phase === 'guessing') {
    round = s.round; document.querySelector('[data-qa=round-number]').textContent = roundText(round);
    document.getElementById('slot').replaceChildren(); draw();
  }
  if (s.phase !== 'guessing' && phase === 'guessing') {
    document.getElementById('slot').innerHTML = MODE === 'duels'
      ? '<div class="overlay_backdrop__Rh1"><div class="round-score_container__s6q">Round result</div></div>'
      : '<div class="result-layout_content__jAH" data-qa="round-result"><button data-qa="play-next-round">Play next round</button></div>';
    const next = document.querySelector('[data-qa=play-next-round]');
    if (next) next.addEventListener('click', () => fetch('/mock/next', { method: 'POST' }));
  }
  phase = s.phase;
}
document.querySelector('[data-qa=round-number]').textContent = roundText(1);
draw(); step(); setInterval(poll, 150);
</script></body></html>"""


class MockSite:
    """State and request log of the mock geoguessr.com."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.round = 1
        self.phase = "guessing"
        self.guessed: dict[int, dict] = {}
        self.requests: list[dict] = []
        self.bad_once = True

    def app(self) -> web.Application:
        app = web.Application()

        @web.middleware
        async def record(request, handler):
            self.requests.append({"t": time.monotonic(), "host": request.host.split(":")[0],
                                  "method": request.method, "path": request.path,
                                  "round": self.round, "phase": self.phase,
                                  "x_client": request.headers.get("x-client"),
                                  "cookie": request.headers.get("Cookie", "")})
            return await handler(request)
        app.middlewares.append(record)

        async def page(request):
            return web.Response(text=PAGE.replace("__MODE__", self.mode), content_type="text/html")

        async def next_round(request):
            if self.phase == "result":
                self._next()
            return web.json_response({"ok": True})

        async def classic_guess(request):
            body = await request.json()
            if self.bad_once:
                self.bad_once = False
                return web.json_response({"message": "try again"}, status=400)
            if body.get("token") != GAME or body.get("timedOut") is not False:
                return web.json_response({"message": "bad body"}, status=422)
            if self.phase != "guessing":
                return web.json_response({"message": "round closed"}, status=400)
            self.guessed[self.round] = {**body, "roundNumber": self.round}
            self.phase = "result"          # classic: the person clicks "next" (the extension does)
            return web.json_response({"ok": True})

        async def classic_game(request):
            rounds = [{"lat": TRUTH[n][0], "lng": TRUTH[n][1], "panoId": f"p{n}"}
                      for n in range(1, self.round + 1)]
            guesses = [{"lat": g["lat"], "lng": g["lng"], "timedOut": False,
                        "roundScoreInPoints": 1000, "distanceInMeters": 1_000_000.0}
                       for n, g in sorted(self.guessed.items())]
            return web.json_response({"token": GAME, "round": self.round, "rounds": rounds,
                                      "player": {"guesses": guesses}})

        async def state(request):
            return web.json_response({"round": self.round, "phase": self.phase})

        async def guess(request):
            body = await request.json()
            if self.bad_once:   # the real game-server sometimes answers 400: the client retries
                self.bad_once = False
                return web.json_response({"message": "try again"}, status=400)
            n = body["roundNumber"]
            if n != self.round or self.phase != "guessing":
                return web.json_response({"message": "round closed"}, status=400)
            self.guessed[n] = body
            self.phase = "result"
            asyncio.get_running_loop().call_later(1.0, self._next)
            return web.json_response({"ok": True})

        async def duel(request):
            rounds = [{"roundNumber": n, "panorama": {"panoId": f"p{n}", "lat": TRUTH[n][0],
                                                       "lng": TRUTH[n][1]}}
                      for n in range(1, self.round + 1)]
            mine = [{"roundNumber": n, "lat": g["lat"], "lng": g["lng"], "score": 1000,
                     "distance": 1_000_000.0} for n, g in self.guessed.items()]
            theirs = [{"roundNumber": n, "lat": 0.0, "lng": 0.0, "score": 500,
                       "distance": 4_000_000.0} for n in self.guessed]
            return web.json_response({"gameId": GAME, "rounds": rounds, "teams": [
                {"players": [{"playerId": "me-123", "guesses": mine}]},
                {"players": [{"playerId": "them-456", "guesses": theirs}]}]})

        async def profile(request):
            return web.json_response({"user": {"id": "me-123", "nick": "pigeon"}})

        app.router.add_get(f"/duels/{GAME}", page)
        app.router.add_get(f"/game/{GAME}", page)
        app.router.add_post("/mock/next", next_round)
        app.router.add_post(f"/api/v3/games/{GAME}", classic_guess)
        app.router.add_get(f"/api/v3/games/{GAME}", classic_game)
        app.router.add_get("/mock/state", state)
        app.router.add_post(f"/api/duels/{GAME}/guess", guess)
        app.router.add_get(f"/api/duels/{GAME}", duel)
        app.router.add_get("/api/v3/profiles", profile)
        return app

    def _next(self) -> None:
        if self.round < ROUNDS:
            self.round += 1
            self.phase = "guessing"
        else:
            self.phase = "finished"


def _cert(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed for the mock site's certificate)")
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=www.geoguessr.com", "-keyout", str(key), "-out", str(crt),
                    "-addext", "subjectAltName=DNS:www.geoguessr.com,DNS:game-server.geoguessr.com"],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    return ctx


def _truths_logged(db: Path, n: int) -> bool:
    """Whether the score log holds ``n`` geoguessr rounds with their truth filled in."""
    if not Path(db).exists():
        return False
    with ScoreLog(db) as log:
        return sum(r.truth_lat is not None for r in log.rounds(source="geoguessr")) >= n


@pytest.mark.parametrize("mode", ["duels", "classic"])
def test_geoguessr_game_on_a_mock_site(chromium_path, tmp_path, mode):
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread

    site = MockSite(mode)
    port = free_port()
    ssl_ctx = _cert(tmp_path)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(site.app(), access_log=None)

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_ctx).start())
        loop.run_forever()
    threading.Thread(target=serve, daemon=True).start()
    predictor = Predictor(load_bundle(make_tiny_bundle(tmp_path / "bundle", box_geocells())),
                          geo=None)
    db = tmp_path / "scores.sqlite"
    args = [(f"--host-resolver-rules=MAP www.geoguessr.com 127.0.0.1:{port}, "
            f"MAP game-server.geoguessr.com 127.0.0.1:{port}"), "--ignore-certificate-errors"]
    try:
        with run_server_in_thread(predictor, port=0, db_path=db) as srv:
            async def main():
                async with extension_browser(extra_args=args) as s:
                    await s.context.add_cookies([{
                        "name": "_ncfa", "value": "session-cookie", "domain": ".geoguessr.com",
                        "path": "/", "secure": True, "httpOnly": True, "sameSite": "Lax"}])
                    await s.pair(srv.url, srv.token, mode="auto", delay_ms=(100, 200))
                    await s.wait_connected()
                    page = await s.context.new_page()
                    path = "duels" if mode == "duels" else "game"
                    await page.goto(f"https://www.geoguessr.com/{path}/{GAME}")
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline and site.phase != "finished":
                        await asyncio.sleep(0.2)
                    # the last result reaches the score log a moment later: wait for both truths
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and not _truths_logged(db, 2):
                        await asyncio.sleep(0.2)
                    overlay = await page.evaluate(
                        "document.querySelector('pigeon-bot-overlay')?.dataset.timings")
                    return overlay, await s.request_log()
            overlay, sw_log = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        loop.call_soon_threadsafe(loop.stop)
    assert site.phase == "finished", f"the extension did not finish the mock duel: {overlay}"
    assert sorted(site.guessed) == [1, 2]
    want = {"lat", "lng", "roundNumber"} if mode == "duels" else {
        "token", "lat", "lng", "timedOut", "roundNumber"}   # (classic: roundNumber added by the mock)
    for n, body in site.guessed.items():
        assert set(body) == want and body["roundNumber"] == n
    posts = [r for r in site.requests if r["method"] == "POST" and r["path"] != "/mock/next"]
    assert len(posts) == 3                                   # one 400, retried
    guess_host = "game-server.geoguessr.com" if mode == "duels" else "www.geoguessr.com"
    assert all(r["host"] == guess_host and r["x_client"] == "web" for r in posts)
    assert all("_ncfa=session-cookie" in r["cookie"] for r in posts)
    # the game's JSON (which holds the truth) is read only once that round was guessed
    truth_path = f"/api/duels/{GAME}" if mode == "duels" else f"/api/v3/games/{GAME}"
    reads = [r for r in site.requests if r["path"] == truth_path and r["method"] == "GET"]
    assert reads and all(r["phase"] != "guessing" for r in reads)
    assert json.loads(overlay)["views"] == 4
    with ScoreLog(db) as log:
        rows = log.rounds(source="geoguessr")
    assert sorted(r.round_number for r in rows) == [1, 2]
    assert {(r.round_number, r.truth_lat) for r in rows} == {(1, 48.85), (2, -33.87)}
    assert all(r.mode == ("duels" if mode == "duels" else "classic") and r.game_id == GAME
               and r.n_views == 4 for r in rows)
    for r in rows:   # the pin placed on the site is the backend's guess
        assert (r.guess_lat, r.guess_lng) == pytest.approx(
            (site.guessed[r.round_number]["lat"], site.guessed[r.round_number]["lng"]))
    allowed = ({f"https://game-server.geoguessr.com/api/duels/{GAME}/guess",
                f"https://game-server.geoguessr.com/api/duels/{GAME}",
                "https://www.geoguessr.com/api/v3/profiles"} if mode == "duels"
               else {f"https://www.geoguessr.com/api/v3/games/{GAME}"})
    assert {x["url"].split("?")[0] for x in sw_log} <= allowed
