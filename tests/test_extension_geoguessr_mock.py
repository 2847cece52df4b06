"""The real extension plays the geoguessr.com MOCK (tests/geoguessr_site: the 2026 site as public
evidence shows it; nobody here can reach geoguessr.com) in real Chromium against the real backend
(``backend.server`` on a tiny bundle), in auto mode, game after game.

Checked for each mode (duels, a guest's Japanese party-lobby duel, team duels, classic,
challenge, no-move classic and duels, battle royale): every round guessed through the page's own
client (no POST of ours), every round in the score log with its truth and the score and distance
the game gave our guess (sent once: the backend refused nothing), 4 views turned to with
``setPov`` 90 degrees apart at pitch 0 (one view and no turn in no-move games), and ZERO trap reads
before our guess of a round (answer getters in the page, answer-bearing requests at the server).
That check is shown to fail on an adapter that reads one answer field. Auto mode refuses a
rated duel (the pin is still suggested); a panorama that draws nothing is refused, not sent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backend.scorelog import ScoreLog
from bot.browser import EXTENSION_DIR, extension_browser
from tests.predict_fixtures import box_geocells

pytestmark = pytest.mark.browser
FAST = {"countdown_s": 1.0, "result_s": 2.0, "opponent_s": 0.5, "party_wait_s": 1.0}
OVERLAY = "document.querySelector('pigeon-bot-overlay')"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor

    path = make_tiny_bundle(tmp_path_factory.mktemp("ggmock") / "bundle", box_geocells(), seed=0)
    return Predictor(load_bundle(path), geo=None)


def mock_site(tmp_path, **kw):
    """The mock, or a skip that says why (its React build comes from `make js-deps`)."""
    from tests.geoguessr_site import MockGeoGuessr, MockSiteUnavailable, Timing

    timing = Timing(**{**FAST, **kw.pop("timing", {})})
    try:
        return MockGeoGuessr(timing=timing, workdir=tmp_path / "site", **kw)
    except MockSiteUnavailable as e:
        pytest.skip(str(e))


@dataclass
class Played:
    overlay: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    report: dict = field(default_factory=dict)     # the hook report the popup shows for the tab
    server_errors: dict = field(default_factory=dict)   # protocol error code -> count (backend metrics)
    outbox: dict = field(default_factory=dict)     # the extension's results not stored: waiting, dropped


def play(site, predictor, tmp_path, *, mode="auto", until=None, timeout_s=120.0,
         extension_dir: Path = EXTENSION_DIR, init_script: str | None = None,
         expect_results: int | None = None, from_party: bool = False) -> Played:
    """Open the mock's game in Chromium with the extension paired to a real backend and wait
    until ``until(site, overlay)`` (default: the game is finished and every round's truth is in
    the score log). ``from_party``: open the party lobby first and go on to the game within the
    page (as the site's own navigation does). Returns the overlay's data and the score log's rows."""
    from backend.server import run_server_in_thread

    db = tmp_path / "scores.sqlite"
    rounds = site.config.rounds if expect_results is None else expect_results

    def done(overlay):
        if until is not None:
            return until(site, overlay)
        return site.finished and truths_logged(db) >= min(rounds, len(site.guesses()))

    with site, run_server_in_thread(predictor, port=0, db_path=db) as srv:
        async def main():
            async with extension_browser(extra_args=site.chromium_args, extension_dir=extension_dir) as s:
                await s.context.add_cookies(site.cookies)
                await s.pair(srv.url, srv.token, mode=mode, delay_ms=(100, 200))
                await s.wait_connected()
                page = await s.context.new_page()
                if init_script:
                    await page.add_init_script(init_script)
                if from_party:
                    await page.goto(f"{site.base_url}/party/lobby/{site.config.party_code}")
                    await page.wait_for_function(f"!!{OVERLAY}", timeout=20_000)   # the extension saw the lobby
                    await page.evaluate("(p) => history.pushState({}, '', p)", site.config.path)
                else:
                    await page.goto(site.url)
                overlay = {}
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    overlay = await page.evaluate(f"({{...({OVERLAY}?.dataset || {{}})}})")
                    if await asyncio.to_thread(done, overlay):
                        # what the popup asks the game tab's content script for
                        report = await s.evaluate(
                            "async () => { const [t] = await chrome.tabs.query({url: 'https://www.geoguessr.com/*'});"
                            " return chrome.tabs.sendMessage(t.id, {type: 'pigeonDiagnostics'}); }")
                        outbox = await s.evaluate("() => pigeon.handlers.outbox()")
                        return overlay, report, outbox
                    await asyncio.sleep(0.3)
                raise AssertionError(f"timed out: site {site.round_state()}; overlay {overlay}")
        overlay, report, outbox = asyncio.run(asyncio.wait_for(main(), timeout_s + 60))
        errors = srv.metrics()["errors"]
    rows = []
    if db.exists():
        with ScoreLog(db) as log:
            rows = sorted(log.rounds(source="geoguessr"), key=lambda r: r.round_number)
    return Played(overlay, rows, report, errors,
                  {"waiting": len(outbox["waiting"]), "dropped": [d["reason"] for d in outbox["dropped"]]})


def truths_logged(db: Path) -> int:
    if not db.exists():
        return 0
    with ScoreLog(db) as log:
        return sum(r.truth_lat is not None for r in log.rounds(source="geoguessr"))


def pixels_only_failures(site) -> list[str]:
    """What breaks "pixels only": answer reads before our guess of that round, guesses that did
    not go through the page's own client, POSTs by anyone but the page."""
    bad = [f"read {r.trap} of round {r.round} before our guess ({r.source}: {r.tag[:160]})"
           for r in site.violations()]
    bad += [f"guess of round {g.round} sent from outside the page" for g in site.guesses() if g.via != "page"]
    bad += [f"{r['method']} {r['host']}{r['path']} not from the page" for r in site.requests()
            if r["method"] == "POST" and not r["own"] and not r["path"].startswith("/__mock/")]
    return bad


def turns_by_round(site) -> dict[int, list[dict]]:
    """The views the extension set (the site's own telemetry: by='other')."""
    out: dict[int, list[dict]] = {}
    for p in site.pov_log():
        if p.get("by") == "other":
            out.setdefault(p["round"], []).append(p)
    return out


CASES = {
    "duels": {"mode": "duels", "rounds": 2, "truths": [(48.85, 2.35), (-33.87, 151.21)]},
    "party-guest-ja": {"mode": "party", "rounds": 2, "guest": True, "locale": "ja"},
    "team-duels": {"mode": "team-duels", "rounds": 2},
    "classic": {"mode": "classic", "rounds": 3},
    "challenge": {"mode": "challenge", "rounds": 2, "locale": "de"},
    "classic-nmpz": {"mode": "classic", "rounds": 2, "nmpz": True},
    "duels-nmpz": {"mode": "duels", "rounds": 2, "nmpz": True},
}


@pytest.mark.parametrize("case", [*CASES, "battle-royale"])
def test_full_auto_game_pixels_only_every_round_logged(chromium_path, predictor, tmp_path, case):
    kw = dict(CASES.get(case, {"mode": "battle-royale", "rounds": 2}))
    site = mock_site(tmp_path, **kw)
    # a battle royale is auto-played only when it was started from the party lobby
    played = play(site, predictor, tmp_path, from_party=case == "battle-royale")
    assert pixels_only_failures(site) == []
    guessed = sorted({g.round for g in site.guesses() if g.accepted})
    n = len(guessed)
    assert guessed == list(range(1, n + 1)) and n >= min(2, kw["rounds"]), site.round_state()
    # every round we played is in the score log, with the site's truth and our pin
    rows = played.rows
    assert [r.round_number for r in rows] == guessed, [(r.round_id, r.truth_lat) for r in rows]
    truths = site.truths
    ours = {g.round: g for g in site.guesses()}
    nmpz = kw.get("nmpz", False)
    # ... with the score and distance the game gave that guess, each sent once: the backend
    # never had to refuse a contradicting second result (duplicate_round) or any other
    game = site.our_results()
    assert [(r.round_number, r.score, r.distance_km) for r in rows] == [
        (n, game[n][0], pytest.approx(game[n][1] / 1000, rel=1e-9)) for n in guessed]
    assert played.server_errors == {} and played.outbox == {"waiting": 0, "dropped": []}, \
        (played.server_errors, played.outbox)
    for r in rows:
        assert (r.truth_lat, r.truth_lng) == pytest.approx(truths[r.round_number - 1], abs=1e-6)
        assert (r.guess_lat, r.guess_lng) == pytest.approx((ours[r.round_number].lat, ours[r.round_number].lng), abs=1e-6)
        assert r.n_views == (1 if nmpz else 4)
        assert r.mode == {"classic": "classic", "challenge": "challenge",
                          "battle-royale": "battle-royale"}.get(kw["mode"], "duels")
    # the views: setPov to 4 headings 90 degrees apart, level; none at all in no-move games
    turns = turns_by_round(site)
    for rnd in guessed:
        if nmpz:
            assert rnd not in turns, turns.get(rnd)
            continue
        hs = sorted({round(p["heading"] % 360, 1) for p in turns[rnd]})
        assert len(hs) == 4 and all(p["pitch"] == 0 for p in turns[rnd]), turns[rnd]
        gaps = {round((b - a) % 360) for a, b in zip(hs, hs[1:] + hs[:1])}
        assert gaps == {90}, hs
    history = json.loads(played.overlay.get("timingsHistory", "[]"))
    assert all(h["via"] == "page" for h in history), history     # the canvas, not the tab
    diag = json.loads(played.overlay["diagnostics"])
    assert diag["pageScript"]["streetView"] == "constructor" and diag["pageScript"]["sceneCanvas"]
    assert played.report["site"] == "geoguessr" and played.report["page"] == diag["page"]   # the popup's copy
    assert played.report["dom"]["panorama"] == "found"


def test_an_adapter_that_reads_an_answer_fails_the_check(chromium_path, predictor, tmp_path):
    """Plant one read in a copy of the extension (the context reader touches
    currentRound.panorama): the same check as above must report it."""
    ext = tmp_path / "extension"
    shutil.copytree(EXTENSION_DIR, ext)
    script = ext / "page" / "main_actions.js"
    src = script.read_text()
    anchor = "const n = r.roundNumber;"
    assert anchor in src
    script.write_text(src.replace(anchor, anchor + " void (isObj(r.panorama) && r.panorama.lat);  // PLANTED"))
    site = mock_site(tmp_path, mode="duels", rounds=1)
    play(site, predictor, tmp_path, extension_dir=ext,
         until=lambda s, o: bool(s.violations()) and bool(s.guesses()), timeout_s=90)
    failures = pixels_only_failures(site)
    assert failures, "the planted read went unnoticed"
    assert all("currentRound.panorama" in f for f in failures), failures
    assert not any(r.planted for r in site.violations())      # made by the adapter, not the page


def test_rated_duel_auto_refused_pin_still_suggested(chromium_path, predictor, tmp_path):
    site = mock_site(tmp_path, mode="duels", rounds=1, rated=True)
    played = play(site, predictor, tmp_path, timeout_s=60,
                  until=lambda s, o: "guess" in o and "rated" in o.get("note", ""))
    assert site.guesses() == []                                  # nothing placed
    assert "suggest mode still shows the pin" in played.overlay["note"]
    assert pixels_only_failures(site) == []


BLANK_PANORAMA = """
for (const C of [WebGLRenderingContext, WebGL2RenderingContext]) {
  C.prototype.drawArrays = function () {};      // the panorama never draws: a blank canvas
  C.prototype.drawElements = function () {};
}"""


def test_a_blank_panorama_is_refused_not_sent(chromium_path, predictor, tmp_path):
    site = mock_site(tmp_path, mode="classic", rounds=1)
    played = play(site, predictor, tmp_path, init_script=BLANK_PANORAMA, timeout_s=60,
                  until=lambda s, o: int(o.get("refused", 0)) >= 1)
    assert "capture refused, round not sent" in played.overlay["note"]
    assert "tab capture" in played.overlay["note"]               # the fallback was tried too
    assert played.rows == [] and site.guesses() == []
    assert pixels_only_failures(site) == []
