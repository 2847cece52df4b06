"""The geoguessr.com mock's game logic without a browser: scoring and damage against the
numbers in the public captures, the duel clock, the classic game JSON, the trap log."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.geoguessr_site.classic_state import ClassicGame
from tests.geoguessr_site.config import SiteConfig
from tests.geoguessr_site.duel_state import DuelConfig, DuelGame
from tests.geoguessr_site.rules import DuelRules, resolve_round, score
from tests.geoguessr_site.tiles import expected_hue, hue_distance, tile_png
from tests.geoguessr_site.traps import TrapLog


def test_damage_matches_the_captured_duels():
    rules = DuelRules()
    # automated-test-players.md: 4766 vs 3489 at x1.5 "produced 1916 damage, reducing Red to 4084"
    out = resolve_round(rules, 2, (4766, 3489), (6000, 6000), (1.5, 1.5))
    assert (out.damage, out.winner, out.health_after) == (1916, 0, (6000, 4084))
    # player-tie-range README: "2470-0 at 1.5x. Damage is 3705"
    assert resolve_round(rules, 2, (2470, 0), (6000, 6000), (1.5, 1.5)).damage == 3705
    # a win steps the winner's multiplier by 0.5; a tie steps both; no damage on a tie
    assert resolve_round(rules, 1, (3000, 1000), (6000, 6000), (1.0, 1.0)).multipliers_after == (1.5, 1.0)
    tie = resolve_round(rules, 1, (2000, 2000), (6000, 6000), (1.0, 1.0))
    assert (tie.damage, tie.winner, tie.multipliers_after) == (0, None, (1.5, 1.5))


def test_score_formula():
    # gs2-ws-DuelRoundTimedOut.json: maxErrorDistance 18540198; 2066247.46 m -> 1640, 2044103.71 m -> 1660
    assert score(2066247.455297334, 18540198) == 1640
    assert score(2044103.7099697993, 18540198) == 1660
    assert resolve_round(DuelRules(), 1, (1640, 1660), (6000, 6000), (1.0, 1.0)).health_after == (5980, 6000)
    assert score(0) == score(24.9) == 5000
    assert score(26) == 5000          # still rounds to 5000
    assert score(14_999_250 / 10) == round(5000 / 2.718281828459045)
    assert score(20_000_000) < 10


def _duel(now: float = 1000.0, **kw) -> DuelGame:
    cfg = DuelConfig(game_id="6aa29d5f364a2fb2ff228fd3", node_id="n" * 32,
                     players=[("me", 0), ("them", 1)], truths=[(10.0, 10.0), (20.0, 20.0)],
                     max_rounds=2, countdown_s=2.0, result_s=3.0, **kw)
    return DuelGame(cfg, now)


def test_duel_round_clock_guesses_and_the_15_second_rule():
    g = _duel()
    assert g.phase(1001.0) == "countdown" and g.phase(1002.0) == "guessing"
    with pytest.raises(ValueError, match="not active"):
        g.guess("me", 0, 0, 1001.0)                        # still the countdown
    assert g.guess("them", 10.0, 11.0, 1003.0) == ["DuelPlayerGuessed"]
    r = g.current
    assert (r.timer_start, r.end) == (1003.0, 1018.0)    # first guess: 15 s for the other side
    g.pin("me", 10.0, 10.5, 1004.0)
    assert g.tick(1017.9) == []
    assert g.tick(1018.0) == ["DuelRoundTimedOut"]       # the pin was auto-submitted
    assert g.guessed_at("me", 1) == 1018.0
    assert g.phase(1018.0) == "result"
    assert g.tick(1021.0) == ["DuelNewRound"] and g.current.number == 2
    events = g.guess("me", 20.0, 20.0, g.current.start) + g.guess("them", 0, 0, g.current.start + 1)
    assert events == ["DuelPlayerGuessed", "DuelPlayerGuessed", "DuelRoundTimedOut"]
    assert g.status == "Ongoing"                           # DuelFinished comes a moment later
    assert g.tick(g.current.resolved_at + 3.0) == ["DuelFinished"]
    assert g.status == "Finished" and g.result["winningTeamId"] == g.team_id(0)


def test_duel_state_shape_and_the_stale_archive_copy():
    g = _duel(rated=True, nmpz=True)
    s = g.state()
    assert set(s) >= {"gameId", "gameServerNodeId", "teams", "rounds", "currentRoundNumber", "status",
                      "version", "options", "context", "movementOptions", "isPaused", "result"}
    assert s["rounds"][0]["panorama"]["lat"] == 10.0 and s["options"]["isRated"] is True
    assert s["movementOptions"]["forbidRotating"] is True
    assert all(not k.startswith("_") for t in s["teams"] for p in t["players"] for gg in p["guesses"] for k in gg)
    stale = g.state(upto_round=1, version=0)
    assert (stale["status"], stale["version"], stale["result"]) == ("Created", 0, None)


def test_classic_game_reveals_the_next_round_on_guess_or_on_next():
    g = ClassicGame("Gabc", [(1.0, 1.0), (2.0, 2.0)], 2, now=0.0)
    assert g.state()["round"] == 1 and len(g.state()["rounds"]) == 1
    g.guess(1.0, 1.0, 5.0, "page")
    assert g.state()["round"] == 2                        # on_guess: round 2's answer is out
    g.guess(3.0, 3.0, 5.5, "page")
    with pytest.raises(ValueError, match="finished"):
        g.guess(3.0, 3.0, 5.6, "page")
    assert g.finished and g.state()["state"] == "finished"
    g.play_again(9.0)
    assert (g.round, g.generation, g.guesses) == (1, 1, [])
    h = ClassicGame("Gdef", [(1.0, 1.0)], 2, now=0.0, next_round_revealed="on_next")
    h.guess(0.0, 0.0, 1.0, "external")
    assert h.round == 1
    h.next_round(2.0)
    assert h.round == 2


def test_trap_log_marks_reads_before_our_guess():
    guessed = {1: 10.0}
    log = TrapLog(guessed.get)
    log.page_read("currentRound.panorama", 1, 9.0, "x", False)
    log.page_read("currentRound.panorama", 1, 11.0, "x", False)
    log.server_read("api.v3.games", [1, 2], 12.0, "GET", planted=True)
    assert [(r.round, r.before_guess, r.planted) for r in log.reads()] == [
        (1, True, False), (1, False, False), (1, False, True), (2, True, True)]
    assert len(log.violations()) == 2


def test_config_rejects_bad_input_with_the_choices():
    with pytest.raises(ValueError, match="mode 'solo'"):
        SiteConfig(mode="solo")
    with pytest.raises(ValueError, match="plantable"):
        SiteConfig(plant_reads=("nonsense",))
    with pytest.raises(ValueError, match="rounds"):
        SiteConfig(rounds=0)
    assert SiteConfig(mode="classic", locale="de").path.startswith("/de/game/G")
    assert len(SiteConfig().game_id) == 24 and len(SiteConfig(mode="classic").game_id) == 16


def test_tiles_sharpen_with_zoom_and_depend_on_pano_and_heading():
    sizes = [Image.open(io.BytesIO(tile_png("P1", z, 0, 0))).size for z in (0, 1, 2)]
    assert sizes == [(1024, 512), (512, 512), (256, 256)]
    with pytest.raises(ValueError):
        tile_png("P1", 2, 4, 0)
    assert hue_distance(expected_hue("P1", 0), expected_hue("P1", 90)) == pytest.approx(90)
    assert expected_hue("P1", 0) != expected_hue("P2", 0)
