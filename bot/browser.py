"""Launch Debian's Chromium with the pigeon-bot extension loaded and paired (Playwright, async).

Used by the end-to-end tests, the extension benchmark and the demo. The extension is loaded
unpacked from ``extension/`` (no build step); pairing writes the backend URL and token into
the extension's ``chrome.storage.local`` through its service worker, as the options page does.

Usage::

    import asyncio
    from bot.browser import play_arena_duel
    summary = play_arena_duel("http://127.0.0.1:8080/", backend_url, token, headless=True)

    # or, step by step (async):
    async with extension_browser(headless=False) as session:
        await session.pair(backend_url, token, mode="auto")
        page = await session.context.new_page()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.arena.opponents import BOT_SEAT_NAME

REPO = Path(__file__).resolve().parent.parent
EXTENSION_DIR = REPO / "extension"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
WORKER_TIMEOUT_S = 10.0


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing; the message says how to install it."""


def find_chromium() -> str:
    """Path of Debian's Chromium. Raises BrowserUnavailable."""
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    found = shutil.which("chromium")
    if found:
        return found
    raise BrowserUnavailable("Debian's chromium is not installed; run `make browser` "
                             "(or `sudo apt-get install chromium`)")


def chromium_args(extension_dir: Path) -> list[str]:
    return [f"--disable-extensions-except={extension_dir}", f"--load-extension={extension_dir}",
            "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows"]


@dataclass
class ExtensionSession:
    """A persistent Chromium context with the extension; ``worker()`` finds its service worker."""

    context: Any
    extension_id: str
    profile_dir: Path
    _tmp: bool = False
    pages: list[Any] = field(default_factory=list)

    async def worker(self, timeout_s: float = WORKER_TIMEOUT_S) -> Any:
        """The extension's live service worker (waits for a restarted one)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for w in self.context.service_workers:
                if self.extension_id in w.url:
                    try:
                        await asyncio.wait_for(w.evaluate("1"), 2.0)
                        return w
                    except Exception:  # noqa: BLE001, S110 - a stopped worker: wait for the new one
                        pass
            await asyncio.sleep(0.1)
        raise TimeoutError("the extension's service worker did not start")

    async def evaluate(self, expression: str, arg: Any = None,
                       timeout_s: float = WORKER_TIMEOUT_S) -> Any:
        """Evaluate in the service worker with a timeout (a stopped worker never answers)."""
        w = await self.worker()
        return await asyncio.wait_for(w.evaluate(expression, arg), timeout_s)

    async def pair(self, backend_url: str, token: str, *, mode: str = "auto",
                   delay_ms: tuple[int, int] = (300, 600), views: int = 4,
                   overlay: bool = True, grid_capture: bool = True,
                   capture: str = "page") -> dict[str, Any]:
        """Store the backend URL and token (and the mode) in the extension's settings.

        ``capture``: "page" (the panorama's own canvas where a site allows it, tab capture as
        the fallback) or "tab" (always ``captureVisibleTab``).
        """
        settings = {"backendUrl": backend_url, "token": token, "mode": mode,
                    "delayMinMs": delay_ms[0], "delayMaxMs": delay_ms[1], "views": views,
                    "overlay": overlay, "gridCapture": grid_capture, "capture": capture}
        return await self.evaluate("(s) => pigeon.handlers.saveSettings({settings: s})", settings)

    async def status(self) -> dict[str, Any]:
        return await self.evaluate("() => pigeon.status()")

    async def wait_connected(self, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        st: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                st = await self.status()
                if st.get("state") == "connected":
                    return st
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the extension did not connect to the backend: {st}")

    async def stop_workers(self) -> None:
        """Stop every service worker by force (CDP ``ServiceWorker.stopAllWorkers``)."""
        page = self.context.pages[0] if self.context.pages else await self.context.new_page()
        cdp = await self.context.new_cdp_session(page)
        await cdp.send("ServiceWorker.enable")
        await cdp.send("ServiceWorker.stopAllWorkers")
        await cdp.detach()

    async def request_log(self) -> list[dict[str, Any]]:
        return await self.evaluate("() => pigeon.requestLog.slice()")


@contextlib.asynccontextmanager
async def extension_browser(*, headless: bool = True, profile_dir: Path | None = None,
                            extension_dir: Path = EXTENSION_DIR,
                            viewport: tuple[int, int] = (1280, 800),
                            extra_args: list[str] | None = None
                            ) -> AsyncIterator[ExtensionSession]:
    """Chromium with the extension loaded (headless by default; ``headless=False``: a window).

    Raises:
        BrowserUnavailable: no Chromium / no Playwright.
    """
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise BrowserUnavailable("playwright is not installed: pip install playwright") from None
    exe = find_chromium()
    tmp = profile_dir is None
    profile = Path(tempfile.mkdtemp(prefix="pigeon-chromium-")) if tmp else Path(profile_dir)
    async with async_playwright() as pw:
        args = chromium_args(extension_dir.resolve()) + list(extra_args or [])
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=exe, headless=headless, args=args,
            viewport={"width": viewport[0], "height": viewport[1]})
        try:
            sw = context.service_workers[0] if context.service_workers else \
                await context.wait_for_event("serviceworker", timeout=20000)
            ext_id = sw.url.split("/")[2]
            yield ExtensionSession(context, ext_id, profile, tmp)
        finally:
            # on Ctrl-C the browser may already be gone: closing it then is not an error
            with contextlib.suppress(Exception):
                await context.close()
            if tmp:
                shutil.rmtree(profile, ignore_errors=True)


def create_arena_game(arena_url: str, *, mode: str = "duel", opponent: str = "baseline",
                      name: str = BOT_SEAT_NAME, rules: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
    """Create a game through the arena's API; returns its ids, token and play URL."""
    body = {"mode": mode, "opponent": opponent, "name": name, "rules": rules or {}}
    req = urllib.request.Request(arena_url.rstrip("/") + "/api/games", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


async def play_arena_game(session: ExtensionSession, arena_url: str, game: dict[str, Any], *,
                          timeout_s: float = 300.0) -> dict[str, Any]:
    """Open a created game in a tab and wait until it is finished (the extension plays it)."""
    page = await session.context.new_page()
    session.pages.append(page)
    await page.goto(arena_url.rstrip("/") + game["play_url"])
    await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                 timeout=timeout_s * 1000, polling=250)
    state = await page.evaluate(
        "async () => (await fetch(location.pathname.replace('/play/', '/api/games/') + "
        "'/state' + location.search)).json()")
    return state


def play_arena_duel(arena_url: str, backend_url: str, token: str, *, headless: bool = True,
                    opponent: str = "baseline", delay_ms: tuple[int, int] = (300, 600),
                    timeout_s: float = 300.0) -> dict[str, Any]:
    """Launch Chromium with the extension, pair it, play one arena duel in auto mode to the end.

    Returns:
        The final game state (players with HP, winner, rounds played).
    Raises:
        BrowserUnavailable, TimeoutError.
    """
    async def main() -> dict[str, Any]:
        async with extension_browser(headless=headless) as session:
            await session.pair(backend_url, token, mode="auto", delay_ms=delay_ms)
            await session.wait_connected()
            game = create_arena_game(arena_url, mode="duel", opponent=opponent)
            return await play_arena_game(session, arena_url, game, timeout_s=timeout_s)

    return asyncio.run(main())
