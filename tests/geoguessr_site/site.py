"""`MockGeoGuessr`: the mock site as a context manager for tests (see README.md for the API).

Usage::

    with MockGeoGuessr(mode="duels", rounds=2, workdir=tmp_path) as site:
        ...launch Chromium with site.chromium_args, open site.url...
        site.wait_finished(timeout_s=60)
        assert site.violations() == []
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from tests.geoguessr_site import hosts
from tests.geoguessr_site.cert import server_ssl_context
from tests.geoguessr_site.config import PLANTABLE, MockSiteUnavailable, SiteConfig, Timing
from tests.geoguessr_site.pages import react_available
from tests.geoguessr_site.runtime import GuessRecord, Runtime
from tests.geoguessr_site.server import ServerThread
from tests.geoguessr_site.traps import Exposure, TrapRead


class MockGeoGuessr:
    """The geoguessr.com mock, serving one game. Keyword arguments: see SiteConfig / README."""

    def __init__(self, *, mode: str = "duels", rounds: int = 3,
                 truths: list[tuple[float, float]] | None = None, locale: str | None = None,
                 rated: bool = False, nmpz: bool = False, br_variant: str = "distance",
                 opponent: str = "after_us", timing: Timing | None = None, guest: bool = False,
                 plant_reads: tuple[str, ...] | list[str] = (), next_round_revealed: str = "on_guess",
                 workdir: Path | None = None, seed: str = "mock") -> None:
        kwargs = {"timing": timing} if timing is not None else {}
        if truths is not None:
            kwargs["truths"] = tuple((float(a), float(b)) for a, b in truths)
        self.config = SiteConfig(mode=mode, rounds=rounds, locale=locale, rated=rated, nmpz=nmpz,
                                 br_variant=br_variant, opponent=opponent, guest=guest,
                                 plant_reads=tuple(plant_reads),
                                 next_round_revealed=next_round_revealed, seed=seed, **kwargs)
        self._tmp = None if workdir is not None else tempfile.TemporaryDirectory(prefix="mock-gg-")
        self.workdir = Path(workdir) if workdir is not None else Path(self._tmp.name)
        self.rt = Runtime(self.config)
        self.server: ServerThread | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        if not react_available():
            raise MockSiteUnavailable("the mock site's React build is not installed: run "
                                      "`make js-deps` (npm ci in tests/geoguessr_site)")
        self.server = ServerThread(self.rt, server_ssl_context(self.workdir / "cert"))
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # --- where things are ------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def base_url(self) -> str:
        return f"https://{hosts.WWW}"

    @property
    def url(self) -> str:
        return self.base_url + self.config.path

    @property
    def chromium_args(self) -> list[str]:
        return hosts.chromium_args(self.port)

    @property
    def cookies(self) -> list[dict]:
        return [{"name": "_ncfa", "value": "mock-session", "domain": ".geoguessr.com", "path": "/",
                 "secure": True, "httpOnly": True, "sameSite": "Lax"}]

    @property
    def game_id(self) -> str:
        return self.config.challenge_token if self.config.mode == "challenge" else self.config.game_id

    @property
    def truths(self) -> list[tuple[float, float]]:
        n = self.config.rounds
        return [self.config.truths[i % len(self.config.truths)] for i in range(n)]

    # --- what happened ---------------------------------------------------------------------
    def trap_reads(self) -> list[TrapRead]:
        return self.rt.traps.reads()

    def violations(self) -> list[TrapRead]:
        return self.rt.traps.violations()

    def exposures(self) -> list[Exposure]:
        return self.rt.traps.exposures()

    def guesses(self) -> list[GuessRecord]:
        with self.rt.lock:
            return list(self.rt.guess_log)

    def page_guesses(self) -> list[int]:
        """Rounds whose guess the page itself made (and so knows about)."""
        with self.rt.lock:
            return list(self.rt.page_guess_rounds)

    def requests(self) -> list[dict]:
        with self.rt.lock:
            return [dict(e) for e in self.rt.request_log]

    def pov_log(self) -> list[dict]:
        with self.rt.lock:
            return [dict(e) for e in self.rt.pov_log]

    def our_results(self) -> dict[int, tuple[int, float]]:
        """What the game gave OUR guess of each round, from the mock's own record (not from
        a JSON the extension could also read): round -> (score, distance in metres)."""
        return self.server.call(self._our_results)

    def _our_results(self) -> dict[int, tuple[int, float]]:
        if self.rt.classic is not None:
            return {g.round: (g.score, g.distance) for g in self.rt.classic.guesses}
        d = self.rt.duel
        if d is None or d.game is None:
            return {}
        me = d.game.players[d.me]
        return {g["roundNumber"]: (g["score"], g["distance"]) for g in me.guesses}

    def round_state(self) -> dict:
        return self.server.call(self._round_state)

    def _round_state(self) -> dict:
        now = time.time()
        if self.rt.classic is not None:
            g = self.rt.classic
            return {"mode": self.config.mode, "round": g.round, "rounds": g.round_count,
                    "phase": "finished" if g.finished else (
                        "result" if g.guessed_at(g.round) is not None else "guessing"),
                    "status": "finished" if g.finished else "started",
                    "guessed": [x.round for x in g.guesses], "generation": g.generation}
        d = self.rt.duel
        if d is None or d.game is None:
            return {"mode": self.config.mode, "round": 0, "phase": "waiting", "status": "Created",
                    "guessed": [], "hp": None}
        g = d.game
        return {"mode": self.config.mode, "round": g.current.number, "phase": g.phase(now),
                "status": g.status, "hp": list(g.health), "multipliers": list(g.multipliers),
                "version": g.version,
                "guessed": [r.number for r in g.rounds if g.guessed_at(d.me, r.number) is not None]}

    @property
    def finished(self) -> bool:
        return self.round_state()["phase"] == "finished"

    # --- controls --------------------------------------------------------------------------
    def advance(self) -> None:
        """Duels: end the current round now (pins are auto-submitted, as at the deadline)."""
        if self.rt.duel is not None:
            self.server.call(self.rt.duel.force_timeout)

    def opponent_guess(self, lat: float | None = None, lng: float | None = None) -> None:
        if self.rt.duel is not None:
            self.server.call(self.rt.duel.others_guess, lat, lng)

    def plant_read(self, trap: str) -> None:
        """Arm a planted read of ``trap`` for the page's next round start."""
        if trap not in PLANTABLE:
            raise ValueError(f"cannot plant {trap!r}; plantable traps: {PLANTABLE}")
        self.server.call(self.rt.plant_queue.append, trap)

    def wait_until(self, predicate: Callable[[dict], bool], timeout_s: float = 30.0,
                   poll_s: float = 0.1) -> dict:
        """Poll `round_state()` until ``predicate(state)``; TimeoutError with the last state."""
        deadline = time.monotonic() + timeout_s
        state = self.round_state()
        while not predicate(state):
            if time.monotonic() > deadline:
                raise TimeoutError(f"mock site: condition not met in {timeout_s} s; state {state}")
            time.sleep(poll_s)
            state = self.round_state()
        return state

    def wait_finished(self, timeout_s: float = 60.0) -> dict:
        return self.wait_until(lambda s: s["phase"] == "finished", timeout_s)
