"""The arena's JSON game API over real HTTP (aiohttp test server) with scripted opponents."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.arena.api import HUB
from bot.arena.app import ArenaConfig, make_app
from bot.arena.dataset import load_arena_dataset
from bot.arena.opponents import ReplayPlayer, ScriptedPlayer
from bot.arena.rules import DuelRules
from bot.arena.sample_dataset import write_sample_dataset
from bot.cli import main as pigeon


@pytest.fixture
def dataset(tmp_path):
    return load_arena_dataset(write_sample_dataset(tmp_path / "data", n=6, size=64))


def run(coro):
    return asyncio.run(coro)


async def _client(dataset, tmp_path, **kw) -> TestClient:
    app = make_app(ArenaConfig(dataset=dataset, log_dir=tmp_path / "logs",
                               baseline_delay_s=0.05, **kw))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def test_classic_round_through_the_api(dataset, tmp_path):
    async def go():
        c = await _client(dataset, tmp_path)
        try:
            info = await (await c.get("/api/info")).json()
            assert info["locations"] == 6 and "baseline" in info["opponents"]
            r = await c.post("/api/games", json={"mode": "classic", "name": "ana",
                                                 "rules": {"rounds": 2}})
            assert r.status == 201
            g = await r.json()
            hdr = {"X-Player-Token": g["token"]}
            base = f"/api/games/{g['game_id']}"
            st = await (await c.get(f"{base}/state", headers=hdr)).json()
            assert st["phase"] == "guessing" and st["round"]["views"] == 4
            assert "truth" not in json.dumps(st) and "lat" not in json.dumps(st["round"])
            img = await c.get(f"{base}/rounds/1/views/0?t={g['token']}")
            assert img.status == 200 and (await img.read())[:3] == b"\xff\xd8\xff"
            # the truth endpoint refuses while the round is open
            r = await c.get(f"{base}/rounds/1/result", headers=hdr)
            assert r.status == 409 and "still open" in (await r.json())["error"]
            r = await c.post(f"{base}/guess", headers=hdr, json={"lat": 10, "lng": 20, "round": 1})
            assert r.status == 200
            r = await c.post(f"{base}/guess", headers=hdr, json={"lat": 10, "lng": 20, "round": 1})
            assert r.status == 409
            res = await (await c.get(f"{base}/rounds/1/result", headers=hdr)).json()
            assert res["guesses"][0]["score"] >= 0 and "truth" in res
            # without the token: refused
            assert (await c.get(f"{base}/state")).status == 403
            assert (await c.get("/api/games/nope/state", headers=hdr)).status == 404
        finally:
            await c.close()
    run(go())


@pytest.mark.parametrize("body,status,needle", [
    ({"mode": "battle"}, 400, "unknown game mode"),
    ({"mode": "duel", "opponent": "none"}, 400, "needs an opponent"),
    ({"mode": "duel", "opponent": "alien"}, 400, "unknown opponent"),
    ({"mode": "duel", "opponent": "bot"}, 400, "unknown opponent"),  # no backend configured
    ({"mode": "duel", "rules": {"start_hp": -5}}, 400, "start_hp"),
    ({"mode": "classic", "rules": {"rounds": 0}}, 400, "rounds"),
])
def test_bad_game_requests(dataset, tmp_path, body, status, needle):
    async def go():
        c = await _client(dataset, tmp_path)
        try:
            r = await c.post("/api/games", json=body)
            assert r.status == status and needle in (await r.json())["error"]
            r = await c.post("/api/games", data="not json",
                             headers={"Content-Type": "application/json"})
            assert r.status == 400
            r = await c.post("/api/games", data="not json")   # text/plain: a "simple" POST
            assert r.status == 415
        finally:
            await c.close()
    run(go())


def test_bad_guesses(dataset, tmp_path):
    async def go():
        c = await _client(dataset, tmp_path)
        try:
            g = await (await c.post("/api/games", json={"mode": "classic"})).json()
            hdr = {"X-Player-Token": g["token"]}
            url = f"/api/games/{g['game_id']}/guess"
            for body, needle in [({"lat": "x", "lng": 0}, "lat must be a number"),
                                 ({"lat": 100, "lng": 0}, "latitude"),
                                 ({"lat": 1, "lng": 0, "round": 7}, "round 7 is not open"),
                                 ({"lat": True, "lng": 0}, "lat must be")]:
                r = await c.post(url, headers=hdr, json=body)
                assert r.status in (400, 409), body
                assert needle in (await r.json())["error"]
        finally:
            await c.close()
    run(go())


def test_duel_against_scripted_opponent_logs_everything(dataset, tmp_path):
    async def go():
        c = await _client(dataset, tmp_path)
        hub = c.server.app[HUB]
        try:
            live, me, token = hub.create_game(
                DuelRules(countdown_s=15), name="person",
                opponent=ScriptedPlayer([(0.0, 0.0, 0.01)]), seed=1)
            hdr = {"X-Player-Token": token}
            base = f"/api/games/{live.game.id}"
            for _ in range(40):
                st = await (await c.get(f"{base}/state", headers=hdr)).json()
                if st["phase"] == "finished":
                    break
                if st["phase"] == "guessing" and me.id not in st["round"]["guessed"]:
                    loc = live.game.current.location  # the test knows the truth: a perfect person
                    await c.post(f"{base}/guess", headers=hdr, json={"lat": loc.lat, "lng": loc.lng})
                elif st["phase"] == "result":
                    await c.post(f"{base}/next", headers=hdr)
                await asyncio.sleep(0.03)
            assert live.game.phase == "finished" and live.game.winner == me.id
            opp = next(p for p in live.game.players if p.id != me.id)
            assert opp.hp == 0 and me.hp == 6000
        finally:
            await c.close()
        lines = [json.loads(x) for x in (tmp_path / "logs" / f"{live.game.id}.jsonl").read_text()
                 .splitlines()]
        assert lines[0]["event"] == "game_created" and lines[0]["format"] == "pigeon-arena-log/1"
        assert lines[-1]["event"] == "game_ended"
        return live.game.id
    gid = run(go())
    # the person's guesses can be replayed as a recorded opponent
    rp = ReplayPlayer.from_logs([tmp_path / "logs" / f"{gid}.jsonl"])
    assert len(rp.recordings) >= 1


def test_replay_without_recordings_is_a_clear_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text('{"event": "game_created"}\n{"torn')
    with pytest.raises(ValueError, match="no recorded human guess"):
        ReplayPlayer.from_logs([tmp_path / "empty.jsonl"])


def test_cli_refuses_bad_input(tmp_path, capsys):
    assert pigeon(["arena", "--data", str(tmp_path / "missing.csv"), "--port", "0"]) == 2
    assert pigeon(["arena", "--data", str(tmp_path / "missing.csv"), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "no such dataset" in err and "--port 0" in err
    assert pigeon(["arena", "--data", "x.csv", "--bot-url", "ws://127.0.0.1:1/"]) == 2
    assert "go together" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        pigeon(["arena", "--help"])
    assert "example:" in capsys.readouterr().out


def test_missing_image_is_a_clear_404(dataset, tmp_path):
    async def go():
        c = await _client(dataset, tmp_path)
        hub = c.server.app[HUB]
        try:
            live, _me, token = hub.create_game(DuelRules(), opponent=ScriptedPlayer([None]))
            live.game.current.location.images[1].unlink()  # deleted after the arena loaded it
            r = await c.get(f"/api/games/{live.game.id}/rounds/1/views/1?t={token}")
            assert r.status == 404 and "missing" in (await r.json())["error"]
            r = await c.get(f"/api/games/{live.game.id}/rounds/1/views/9?t={token}")
            assert r.status == 404
        finally:
            await c.close()
    run(go())


def test_bot_with_the_backend_down_times_out_and_says_why(dataset, tmp_path):
    from bot.arena.launch import free_port
    from bot.arena.opponents import BotPlayer

    async def go():
        c = await _client(dataset, tmp_path)
        hub = c.server.app[HUB]
        try:
            bot = BotPlayer(f"ws://127.0.0.1:{free_port()}/", token="x", timeout_s=2)
            live, me, token = hub.create_game(DuelRules(countdown_s=0.3), opponent=bot)
            await c.post(f"/api/games/{live.game.id}/guess", headers={"X-Player-Token": token},
                         json={"lat": 0, "lng": 0})
            for _ in range(60):
                if live.game.rounds[0].ended_at:
                    break
                await asyncio.sleep(0.05)
            assert live.game.rounds[0].ended_at is not None
            bot_id = next(p.id for p in live.game.players if p.id != me.id)
            assert live.game.rounds[0].guesses[bot_id].timed_out
            for _ in range(60):
                if live.opponent_errors:
                    break
                await asyncio.sleep(0.05)
            assert "backend at ws://127.0.0.1" in live.opponent_errors[0]
        finally:
            await c.close()
        log = (tmp_path / "logs" / f"{live.game.id}.jsonl").read_text()
        assert '"opponent_error"' in log
    run(go())


def test_default_rules_from_the_command_line_and_bad_ones(dataset, tmp_path, capsys):
    async def go():
        c = await _client(dataset, tmp_path, rules={"duel": {"multipliers": [2.0, 3.0],
                                                             "start_hp": 1000}})
        try:
            info = await (await c.get("/api/info")).json()
            assert info["rules"]["duel"]["multipliers"] == [2.0, 3.0]
            g = await (await c.post("/api/games", json={"mode": "duel",
                                                        "rules": {"start_hp": 500}})).json()
            st = await (await c.get(f"/api/games/{g['game_id']}/state",
                                    headers={"X-Player-Token": g["token"]})).json()
            assert st["rules"]["start_hp"] == 500 and st["rules"]["multipliers"] == [2.0, 3.0]
        finally:
            await c.close()
    run(go())
    from bot.arena.rules import RulesError

    with pytest.raises(RulesError):
        make_app(ArenaConfig(dataset=dataset, log_dir=None, rules={"duel": {"start_hp": 0}}))
    data = str(dataset.path)
    assert pigeon(["arena", "--data", data, "--multipliers", "1,x"]) == 2
    assert "--multipliers" in capsys.readouterr().err
    assert pigeon(["arena", "--data", data, "--start-hp", "-3", "--port", "1"]) == 2
    assert "start_hp" in capsys.readouterr().err


def test_two_people_in_two_browsers_join_and_play(dataset, tmp_path):
    async def go():
        c = await _client(dataset, tmp_path)
        hub = c.server.app[HUB]
        try:
            a = await (await c.post("/api/games", json={"mode": "duel", "opponent": "human",
                                                        "name": "ana"})).json()
            assert a["join_url"] == f"/join/{a['game_id']}"
            st = await (await c.get(f"/api/games/{a['game_id']}/state",
                                    headers={"X-Player-Token": a["token"]})).json()
            assert st["phase"] == "lobby"
            b = (await c.post(f"/api/games/{a['game_id']}/join", json={"name": "bo"}))
            assert b.status == 201
            b = await b.json()
            r = await c.post(f"/api/games/{a['game_id']}/join", json={"name": "cy"})
            assert r.status == 409 and "full" in (await r.json())["error"]
            loc = hub.games[a["game_id"]].game.current.location
            for who, dlat in ((a, 0.0), (b, 5.0)):
                r = await c.post(f"/api/games/{a['game_id']}/guess",
                                 headers={"X-Player-Token": who["token"]},
                                 json={"lat": loc.lat + dlat, "lng": loc.lng})
                assert r.status == 200
            res = await (await c.get(f"/api/games/{a['game_id']}/rounds/1/result",
                                     headers={"X-Player-Token": b["token"]})).json()
            dmg = {g["player_id"]: g["damage"] for g in res["guesses"]}
            assert dmg[a["player_id"]] == 0 and dmg[b["player_id"]] > 0
        finally:
            await c.close()
    run(go())


def test_map_layers_are_served(dataset, tmp_path):
    from bot.arena.mapdata import map_layer

    async def go():
        c = await _client(dataset, tmp_path)
        try:
            r = await c.get("/api/map/admin0.geojson", headers={"Accept-Encoding": "gzip"})
            assert r.status == 200
            geo = await r.json(content_type=None)
            assert geo["type"] == "FeatureCollection"
            assert (await c.get("/api/map/admin9.geojson")).status == 404
            return geo
        finally:
            await c.close()
    geo = run(go())
    if not geo["features"]:
        pytest.skip(f"geo assets not built here: {geo['note']}")
    assert len(geo["features"]) > 150
    names = {f["properties"]["name"] for f in geo["features"]}
    assert "France" in names and geo == map_layer("admin0")
