"""Server-side opponents for the arena: the baseline, scripted and recorded players, the bot.

Each opponent answers :meth:`Opponent.play_round` with a ``(lat, lng)`` guess (or None: it
lets the round time out) and hears :meth:`Opponent.round_ended`. The arena's hub runs them as
asyncio tasks and hands their guesses to the game engine, exactly like a browser's guess.

- :class:`ConstantGuessPlayer` — the documented baseline: always the same point (by default
  the spherical mean of the dataset's locations, a prior the bot could also know).
- :class:`ScriptedPlayer` — a fixed list of guesses and delays (tests: "a scripted person").
- :class:`ReplayPlayer` — a recorded person: replays the guesses a human made on the same
  locations in earlier arena games (from the arena's game logs).
- :class:`BotPlayer` — the bot through the backend protocol (``pigeon serve``): sends the
  round's views as JPEGs, places the returned pin, and reports the result for the score log.

Usage::

    bot = BotPlayer("ws://127.0.0.1:8765/", token="...")
    hub.create_game(mode="duel", opponent=bot)
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.geodesy import spherical_mean, validate_latlng

log = logging.getLogger("pigeon.arena.opponents")

RESULT_RETRY_S = (1.0, 3.0, 10.0, 30.0)
"""Waits before sending a result again that the backend could not store yet."""
RETRYABLE_CODES = ("storage_failed", "busy", "shutting_down")

BOT_SEAT_NAME = "pigeon-bot"
"""The name the extension's seat takes in arena games it plays (``bot.browser``)."""


@dataclass
class RoundContext:
    """What an opponent may know of a round: its views (JPEG bytes) and ids — no truth.

    ``location_id`` is given only to :class:`ReplayPlayer` (a recording is keyed by it)."""

    game_id: str
    round_number: int
    mode: str
    views: list[bytes]
    location_id: str | None = None


class Opponent:
    """Base class: a named server-side player."""

    name = "opponent"
    kind = "scripted"

    async def play_round(self, ctx: RoundContext) -> tuple[float, float] | None:
        """Return this round's guess, or None to let the round time out."""
        raise NotImplementedError

    async def round_ended(self, ctx: RoundContext, result: dict[str, Any], player_id: str) -> None:
        """Hear the round's result (truth included); default: nothing."""

    async def close(self) -> None:
        """Release connections; default: nothing."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": type(self).__name__}


class ConstantGuessPlayer(Opponent):
    """The baseline: the same guess every round after ``delay_s``."""

    def __init__(self, lat: float, lng: float, *, delay_s: float = 1.0,
                 name: str = "baseline") -> None:
        la, lo = validate_latlng(lat, lng)
        self.lat, self.lng, self.delay_s, self.name = float(la), float(lo), delay_s, name

    @classmethod
    def dataset_mean(cls, lats: Sequence[float], lngs: Sequence[float], **kw: Any
                     ) -> ConstantGuessPlayer:
        """The baseline that always guesses the spherical mean of the dataset's places."""
        lat, lng = spherical_mean(list(lats), list(lngs))
        return cls(lat, lng, **kw)

    async def play_round(self, ctx: RoundContext) -> tuple[float, float] | None:
        await asyncio.sleep(self.delay_s)
        return self.lat, self.lng

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "lat": self.lat, "lng": self.lng, "delay_s": self.delay_s}


class ScriptedPlayer(Opponent):
    """Plays a fixed script: ``[(lat, lng, delay_s) or None, ...]`` (None: time out)."""

    def __init__(self, script: Sequence[tuple[float, float, float] | None], *,
                 name: str = "scripted") -> None:
        self.script = list(script)
        self.name = name

    async def play_round(self, ctx: RoundContext) -> tuple[float, float] | None:
        step = self.script[(ctx.round_number - 1) % len(self.script)] if self.script else None
        if step is None:
            return None
        lat, lng, delay = step
        await asyncio.sleep(delay)
        return lat, lng


@dataclass
class Recording:
    """One recorded human guess: where, after how many seconds."""

    lat: float
    lng: float
    seconds: float


class ReplayPlayer(Opponent):
    """A recorded person: replays a human's earlier guess on the same location.

    Rounds on locations the person never played time out (no guess), which the log says.
    """

    needs_location_id = True

    def __init__(self, recordings: dict[str, Recording], *, name: str = "recorded person",
                 speed: float = 1.0) -> None:
        self.recordings = recordings
        self.name = name
        self.speed = speed

    @classmethod
    def from_logs(cls, paths: Sequence[str | Path], *, player_name: str | None = None,
                  exclude_names: Sequence[str] = (BOT_SEAT_NAME,), **kw: Any) -> ReplayPlayer:
        """Read human guesses from arena game logs (``*.jsonl``); latest guess per location.

        Seats named in ``exclude_names`` are left out: by default the seat the extension
        plays under (``pigeon-bot``), so the bot is never replayed as a "recorded person".

        Raises:
            ValueError: no log has a human guess (message names the files read).
        """
        recs: dict[str, Recording] = {}
        for path in paths:
            humans: set[str] = set()
            round_loc: dict[int, str] = {}
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue  # a torn last line of a crashed game
                kind = ev.get("event")
                if kind == "player_joined" and ev.get("kind") == "human" and (
                        player_name is None or ev.get("name") == player_name) and \
                        ev.get("name") not in exclude_names:
                    humans.add(ev["id"])
                elif kind == "round_started":
                    round_loc[ev["round"]] = ev["location_id"]
                elif kind == "guess" and ev.get("player") in humans and ev["round"] in round_loc:
                    recs[round_loc[ev["round"]]] = Recording(ev["lat"], ev["lng"], ev["seconds"])
        if not recs:
            raise ValueError(f"no recorded human guess in {[str(p) for p in paths]}; play "
                             "some arena games first (their logs are in the arena's --log-dir)")
        return cls(recs, **kw)

    async def play_round(self, ctx: RoundContext) -> tuple[float, float] | None:
        rec = self.recordings.get(ctx.location_id or "")
        if rec is None:
            log.info("replay: no recording for location %s; letting round %d time out",
                     ctx.location_id, ctx.round_number)
            return None
        await asyncio.sleep(rec.seconds / self.speed)
        return rec.lat, rec.lng


def to_jpeg(data: bytes, *, quality: int = 90) -> bytes:
    """The bytes as JPEG (re-encoded with PIL when they are another format)."""
    if data[:3] == b"\xff\xd8\xff":
        return data
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass
class BotPlayer(Opponent):
    """The bot through the backend's websocket protocol v1 (``pigeon serve``).

    One connection per game (``backend.client.BackendClient``: opened lazily, re-opened once
    if it dropped). Every guess the server returns is kept in :attr:`guesses` (projected
    score, latency) for the game log.
    """

    url: str
    token: str
    name: str = "pigeon-bot"
    timeout_s: float = 30.0
    guesses: list[dict[str, Any]] = field(default_factory=list)
    _client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from backend.client import BackendClient

            self._client = BackendClient(self.url, self.token, kind="arena",
                                         name="pigeon arena", timeout_s=self.timeout_s)
        return self._client

    async def play_round(self, ctx: RoundContext) -> tuple[float, float] | None:
        from backend.client import BackendError
        from backend.core.protocol import Round, View

        rid = f"arena-{ctx.game_id}:{ctx.round_number}"
        views = tuple(View(jpeg=to_jpeg(v), heading=float(90 * i % 360))
                      for i, v in enumerate(ctx.views[:4]))
        msg = Round(round_id=rid, source="arena", mode="arena", map="arena", views=views,
                    game_id=f"arena-{ctx.game_id}", round_number=ctx.round_number)
        try:
            reply = await self.client.guess(msg)
        except BackendError as exc:
            raise ConnectionError(str(exc)) from exc
        self.guesses.append({"round": ctx.round_number, "lat": reply.lat, "lng": reply.lng,
                             "projected_score": reply.projected_score,
                             "latency_ms": reply.latency_ms, "model_id": reply.model_id})
        return reply.lat, reply.lng

    async def round_ended(self, ctx: RoundContext, result: dict[str, Any], player_id: str) -> None:
        from backend.core.protocol import Opponent as Opp
        from backend.core.protocol import Place, Result

        mine = [g for g in result["guesses"] if g["player_id"] == player_id]
        other = [g for g in result["guesses"] if g["player_id"] != player_id]
        if not mine or mine[0]["timed_out"]:
            return  # the server never answered this round: nothing to complete
        o = other[0] if other else None
        msg = Result(round_id=f"arena-{ctx.game_id}:{ctx.round_number}",
                     truth=Place(result["truth"]["lat"], result["truth"]["lng"]),
                     score=float(mine[0]["score"]), distance_km=mine[0]["distance_km"],
                     opponent=None if o is None or o["timed_out"] else
                     Opp(o["lat"], o["lng"], float(o["score"])))
        for delay in (*RESULT_RETRY_S, None):   # an ack means stored; else try again later
            try:
                await self.client.send_result(msg)
                return
            except ConnectionError as exc:
                code = getattr(exc, "code", None)
                if delay is None or code not in (None, *RETRYABLE_CODES):
                    log.warning("the result of %s was not stored by the backend: %s",
                                msg.round_id, exc)
                    return
            await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": "BotPlayer", "url": self.url}
