"""The arena's rules and game engine, driven by hand with a fake clock (pure, fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.geodesy import haversine_km
from backend.core.scoring import geoguessr_points
from bot.arena.dataset import DatasetError, Location, load_arena_dataset
from bot.arena.game import Game, GameError
from bot.arena.rules import ClassicRules, DuelRules, RulesError, parse_multipliers, rules_from_dict
from bot.arena.sample_dataset import write_sample_dataset

LOCS = [Location(f"l{i}", lat, lng, (Path("/nonexistent.jpg"),))
        for i, (lat, lng) in enumerate([(48.85, 2.35), (-33.87, 151.21), (40.71, -74.0),
                                        (35.68, 139.65), (-1.29, 36.82), (55.75, 37.62)])]


def points(loc: Location, lat: float, lng: float) -> int:
    return int(geoguessr_points(haversine_km(lat, lng, loc.lat, loc.lng)))


def test_multiplier_table_and_damage():
    r = DuelRules()
    assert [r.multiplier(i) for i in range(1, 10)] == [1, 1, 1, 1.5, 2, 2.5, 3, 3.5, 4]
    assert r.damage(5000, 4000, round_number=5) == 2000
    assert r.damage(100, 100, round_number=9) == 0
    assert DuelRules(multipliers=(2.0,), multiplier_step=0).multiplier(5) == 2.0
    with pytest.raises(RulesError):
        r.multiplier(0)


@pytest.mark.parametrize("bad", [{"start_hp": 0}, {"multipliers": ()}, {"countdown_s": -1},
                                 {"multipliers": (1.0, float("nan"))}, {"max_rounds": 0}])
def test_bad_duel_rules_are_refused(bad):
    with pytest.raises(RulesError):
        DuelRules(**bad).check()


def test_rules_round_trip_and_parse():
    r = DuelRules(multipliers=(1.0, 2.0), countdown_s=5)
    assert rules_from_dict(r.to_dict()) == r
    assert rules_from_dict({"mode": "classic", "rounds": 3}) == ClassicRules(rounds=3)
    assert parse_multipliers("1, 1,1.5 ,2") == (1.0, 1.0, 1.5, 2.0)
    for bad in ("", "1,x", "1,-2"):
        with pytest.raises(RulesError):
            parse_multipliers(bad)
    with pytest.raises(RulesError, match="unknown game mode"):
        rules_from_dict({"mode": "battle"})
    with pytest.raises(RulesError, match="unknown rule"):
        rules_from_dict({"mode": "duel", "hp": 3})


def test_classic_single_player_five_rounds():
    g = Game("g", ClassicRules(rounds=5, round_time_s=60), LOCS, seed=1)
    assert g.phase == "lobby"
    p = g.add_player("ana", kind="human", now=0.0)
    assert g.phase == "guessing"
    total = 0
    t = 0.0
    seen = set()
    for n in range(1, 6):
        loc = g.current.location
        seen.add(loc.id)
        state = g.state_for(p.id, now=t)
        assert state["round"]["number"] == n and "truth" not in str(state)
        ev = g.guess(p.id, loc.lat + 1, loc.lng, now=t + 5)
        total += points(loc, loc.lat + 1, loc.lng)
        assert ev[-1]["event"] in ("round_ended", "game_ended")
        res = g.result_for(p.id, n)
        assert res["truth"]["lat"] == loc.lat and res["guesses"][0]["score"] == points(
            loc, loc.lat + 1, loc.lng)
        t += 10
        if n < 5:
            g.ready(p.id, now=t)
    assert g.phase == "finished" and p.total_score == total and g.winner == p.id
    assert len(seen) == 5  # drawn without replacement


def test_round_timeout_scores_zero_and_result_hidden_while_open():
    g = Game("g", ClassicRules(rounds=2, round_time_s=30), LOCS)
    p = g.add_player("ana", kind="human", now=100.0)
    with pytest.raises(GameError, match="still open"):
        g.result_for(p.id, 1)
    assert g.tick(129.9) == []
    ev = g.tick(130.5)
    assert ev[0]["event"] == "round_ended" and ev[0]["guesses"][0]["timed_out"] is True
    assert ev[0]["guesses"][0]["score"] == 0
    with pytest.raises(GameError, match="no round is open"):
        g.guess(p.id, 0, 0, now=131)


def test_duel_hp_countdown_and_end():
    rules = DuelRules(start_hp=6000, countdown_s=15, round_time_s=0)
    g = Game("d", rules, LOCS, seed=3)
    a = g.add_player("person", kind="human", now=0.0)
    assert g.phase == "lobby"
    b = g.add_player("bot", kind="scripted", now=0.0)
    assert g.phase == "guessing" and g.deadline() is None
    hp = {a.id: 6000, b.id: 6000}
    t = 0.0
    while g.phase != "finished":
        rnd = g.current
        loc = rnd.location
        g.guess(b.id, loc.lat, loc.lng, now=t + 1)           # bot: perfect
        assert g.deadline() == pytest.approx(t + 16)
        g.guess(a.id, loc.lat + 20, loc.lng + 20, now=t + 3)  # person: far
        sa, sb = points(loc, loc.lat + 20, loc.lng + 20), 5000
        dmg = min(hp[a.id], round((sb - sa) * rules.multiplier(rnd.number)))
        hp[a.id] -= dmg
        assert a.hp == hp[a.id] and b.hp == 6000
        t += 10
        g.ready(a.id, now=t)
    assert a.hp == 0 and g.winner == b.id


def test_duel_countdown_times_out_the_slow_player():
    g = Game("d", DuelRules(countdown_s=15), LOCS)
    a = g.add_player("a", kind="human", now=0)
    b = g.add_player("b", kind="human", now=0)
    g.guess(a.id, g.current.location.lat, g.current.location.lng, now=2)
    assert g.tick(16.9) == []
    ev = g.tick(17.0)
    ended = ev[0]
    assert ended["event"] == "round_ended"
    gb = next(x for x in ended["guesses"] if x["player_id"] == b.id)
    assert gb["timed_out"] and b.hp < 6000


def test_player_leaving_mid_round_is_timed_out_and_not_waited_for():
    g = Game("d", DuelRules(countdown_s=15), LOCS)
    a = g.add_player("a", kind="human", now=0)
    b = g.add_player("bot", kind="scripted", now=0)
    g.leave(a.id, now=1)
    g.guess(b.id, g.current.location.lat, g.current.location.lng, now=2)
    g.tick(17.5)
    assert g.phase == "guessing" and g.current.number == 2  # nobody waited on the result screen
    r1 = g.result_for(b.id, 1)
    assert [x["timed_out"] for x in r1["guesses"] if x["player_id"] == a.id] == [True]
    events = g.drain()
    assert [e["event"] for e in events].count("player_left") == 1
    assert [e["event"] for e in events].count("round_ended") == 1


def test_bad_moves_are_refused():
    g = Game("d", DuelRules(), LOCS)
    a = g.add_player("a", kind="human", now=0)
    with pytest.raises(GameError):
        g.add_player("x", kind="robot", now=0)
    g.add_player("b", kind="human", now=0)
    with pytest.raises(GameError, match="full"):
        g.add_player("c", kind="human", now=0)
    with pytest.raises(GameError, match="latitude"):
        g.guess(a.id, 95, 0, now=1)
    with pytest.raises(GameError, match="round 2 is not open"):
        g.guess(a.id, 0, 0, now=1, round_number=2)
    g.guess(a.id, 0, 0, now=1)
    with pytest.raises(GameError, match="already guessed"):
        g.guess(a.id, 0, 0, now=2)
    with pytest.raises(GameError, match="no player"):
        g.guess("zz", 0, 0, now=2)


def test_sample_dataset_loads_and_bad_rows_are_reported(tmp_path):
    csv_path = write_sample_dataset(tmp_path, n=5)
    ds = load_arena_dataset(csv_path)
    assert len(ds) == 5 and ds.problems == [] and len(ds.locations[0].images) == 4
    text = csv_path.read_text().splitlines()
    text.append("bad1,91,0,images/0000_1.jpg,,,,0,1")
    text.append("bad2,10,10,images/missing.jpg,,,,0,1")
    text.append("s0000,1,1,images/0000_1.jpg,,,,0,1")
    text.append("bad3,notanumber,1,images/0000_1.jpg,,,,0,1")
    text.append("bad4,1,1,images/0000_1.jpg,,,,0,13")
    csv_path.write_text("\n".join(text) + "\n")
    ds = load_arena_dataset(tmp_path)
    assert len(ds) == 5 and len(ds.problems) == 5
    joined = " | ".join(ds.problems)
    assert "latitude" in joined and "missing.jpg" in joined and "duplicate id" in joined
    assert "month" in joined and "5 rows skipped" in ds.summary()


def test_unusable_datasets_say_why(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset"):
        load_arena_dataset(tmp_path / "nope.csv")
    (tmp_path / "a.csv").write_text("id,x,y\n1,2,3\n")
    with pytest.raises(DatasetError, match="missing column"):
        load_arena_dataset(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("id,lat,lng,image_1\n1,2,3,nothere.jpg\n")
    with pytest.raises(DatasetError, match="no usable location.*nothere"):
        load_arena_dataset(tmp_path / "b.csv")
