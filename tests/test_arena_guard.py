"""The arena's API against other web pages and bad bodies (issue 18, items 7 and 9): Host
allow list (DNS rebinding), Origin, Content-Type, bounded client rules, no client seed,
idle games evicted when the arena is full, and every bad body a 4xx, never a 500."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.arena import hub as hub_module
from bot.arena.app import ArenaConfig, make_app
from bot.arena.dataset import load_arena_dataset
from bot.arena.guard import host_name
from bot.arena.hub import ArenaHub
from bot.arena.sample_dataset import write_sample_dataset


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def dataset(tmp_path):
    return load_arena_dataset(write_sample_dataset(tmp_path / "data", n=4, size=64))


async def _client(dataset, tmp_path, clock=None) -> TestClient:
    hub = ArenaHub(dataset, log_dir=None, clock=clock or Clock())
    app = make_app(ArenaConfig(dataset=dataset, log_dir=None), hub=hub)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_other_sites_cannot_use_the_api(dataset, tmp_path):
    async def go():
        c = await _client(dataset, tmp_path)
        try:
            own = f"http://127.0.0.1:{c.port}"
            body = '{"mode": "classic", "rules": {"round_time_s": 0}}'
            # a "simple" cross-site POST (text/plain, no preflight): refused
            r = await c.post("/api/games", data=body, headers={
                "Origin": "https://evil.example", "Content-Type": "text/plain"})
            assert r.status == 403 and "evil.example" in (await r.json())["error"]
            r = await c.post("/api/games", data=body, headers={
                "Origin": "https://evil.example", "Content-Type": "application/json"})
            assert r.status == 403
            r = await c.post("/api/games", data=body, headers={"Origin": "null",
                                                                "Content-Type": "text/plain"})
            assert r.status == 403
            # same origin but not JSON: refused too
            r = await c.post("/api/games", data=body, headers={"Origin": own,
                                                                "Content-Type": "text/plain"})
            assert r.status == 415
            # DNS rebinding: the page's own name resolves to 127.0.0.1
            r = await c.post("/api/games", json={"mode": "classic"},
                             headers={"Host": f"evil.example:{c.port}",
                                      "Origin": f"http://evil.example:{c.port}"})
            assert r.status == 403 and "Host" in (await r.json())["error"]
            r = await c.get("/api/info", headers={"Host": "rebind.example"})
            assert r.status == 403
            assert len(c.server.app[hub_module_key()].games) == 0
            # the arena's own page, the extension and local programs are fine
            for headers in ({"Origin": own}, {"Origin": "chrome-extension://abcdef"}, {}):
                r = await c.post("/api/games", json={"mode": "classic"}, headers=headers)
                assert r.status == 201, await r.text()
            g = await r.json()
            # the page's sendBeacon on unload: text/plain, same origin
            r = await c.post(f"/api/games/{g['game_id']}/leave?t={g['token']}", data="{}",
                             headers={"Origin": own, "Content-Type": "text/plain"})
            assert r.status == 200
        finally:
            await c.close()

    run(go())


def hub_module_key():
    from bot.arena.api import HUB

    return HUB


@pytest.mark.parametrize("body,needle", [
    ({"mode": []}, "mode"), ({"mode": {}}, "mode"), ({"mode": 5}, "mode"),
    ({"mode": "duel", "opponent": []}, "opponent"),
    ({"mode": "duel", "opponent": {"x": 1}}, "opponent"),
    ({"mode": "duel", "rules": {"multipliers": "ab"}}, "multipliers"),
    ({"mode": "duel", "rules": {"multipliers": 5}}, "multipliers"),
    ({"mode": "duel", "rules": {"multipliers": [1, "x"]}}, "multiplier"),
    ({"mode": "duel", "rules": {"multipliers": [1] * 51}}, "multipliers"),
    ({"mode": "duel", "rules": {"multipliers": [1e9]}}, "multiplier"),
    ({"mode": "classic", "rules": {"rounds": 1000}}, "rounds"),
    ({"mode": "classic", "rules": {"round_time_s": 1e12}}, "round_time_s"),
    ({"mode": "duel", "rules": {"start_hp": 10**9}}, "start_hp"),
    ({"mode": "duel", "rules": {"max_rounds": True}}, "max_rounds"),
    ({"mode": "classic", "rules": []}, "rules"),
    ({"mode": "classic", "seed": 7}, "seed"),
])
def test_bad_bodies_get_a_400_not_a_500(dataset, tmp_path, body, needle):
    async def go():
        c = await _client(dataset, tmp_path)
        try:
            r = await c.post("/api/games", json=body)
            assert r.status == 400, await r.text()
            assert needle in (await r.json())["error"]
        finally:
            await c.close()

    run(go())


def test_a_full_arena_makes_room_from_idle_games_not_from_games_in_play(dataset, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr(hub_module, "MAX_GAMES", 20)
    clock = Clock()

    async def go():
        c = await _client(dataset, tmp_path, clock)
        try:
            flood = [await (await c.post("/api/games", json={
                "mode": "classic", "rules": {"round_time_s": 0}})).json() for _ in range(19)]
            mine = await (await c.post("/api/games", json={"mode": "classic"})).json()
            r = await c.post("/api/games", json={"mode": "classic"})
            assert r.status == 409      # all 20 were just made: none is idle yet
            clock.t += hub_module.EVICT_IDLE_S + 1
            # the player of `mine` is still playing: its page polls the state
            r = await c.get(f"/api/games/{mine['game_id']}/state?t={mine['token']}")
            assert r.status == 200
            for _ in range(19):         # the flood's idle games make room, one by one
                r = await c.post("/api/games", json={"mode": "classic"})
                assert r.status == 201
            games = c.server.app[hub_module_key()].games
            assert mine["game_id"] in games
            assert not any(g["game_id"] in games for g in flood)
        finally:
            await c.close()

    run(go())


def test_host_names():
    assert host_name("127.0.0.1:8080") == "127.0.0.1"
    assert host_name("[::1]:8080") == "::1"
    assert host_name("LocalHost") == "localhost"
    assert host_name("evil.example:80") == "evil.example"
