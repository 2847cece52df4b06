"""Plain Chromium (no extension) on the mock, for the mock's own self-tests.

`HOOK_SCRIPT` is what a document_start main-world script of a maintained tool does
(miraclewhips geoguessr-compass-north.user.js, extenssr's injecter): watch for the Maps script
tag, and in its `onload` replace `google.maps.StreetViewPanorama` and `google.maps.Map` with
subclasses that remember their instances. It touches no answer itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.geoguessr_site.pages import react_available

HOOK_SCRIPT = """
(() => {
  const hook = window.__hook = { panos: [], maps: [], installedAt: null };
  const install = () => {
    const gm = window.google.maps;
    const SV = gm.StreetViewPanorama, M = gm.Map;
    gm.StreetViewPanorama = class extends SV { constructor(...a) { super(...a); hook.panos.push(this); } };
    gm.Map = class extends M { constructor(...a) { super(...a); hook.maps.push(this); } };
    hook.installedAt = performance.now();
  };
  new MutationObserver((mutations, observer) => {
    for (const m of mutations) for (const n of m.addedNodes) {
      if (n.tagName === 'SCRIPT' && n.src && n.src.startsWith('https://maps.googleapis.com/')) {
        const old = n.onload;
        n.onload = (ev) => { install(); observer.disconnect(); if (old) old.call(n, ev); };
      }
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""

# The fiber walk of rashinban2026-scripts automation/auto-duel.js: from #__next's React container
# through child/sibling links, the first context value with a gameState.gameId and an onGuess.
FIND_CONTEXT = """
() => {
  const el = document.querySelector('#__next');
  const root = el?.[Object.keys(el).find(k => k.startsWith('__reactContainer'))];
  const seen = new Set(); let result;
  function visit(f) {
    if (!f || result || seen.has(f)) return;
    seen.add(f);
    for (let d = f.dependencies?.firstContext; d; d = d.next) {
      const p = d.memoizedValue;
      if (p?.gameState?.gameId && typeof p.onGuess === 'function') { result = p; break; }
    }
    visit(f.child); visit(f.sibling);
  }
  visit(root); if (!result) visit(root?.alternate);
  window.__ctx = result;
  return result ? { gameId: result.gameState.gameId, status: result.gameState.status,
    isPaused: result.gameState.isPaused, isRated: result.gameState.options.isRated,
    context: result.gameState.context, round: result.currentRound.roundNumber,
    startTime: result.currentRound.startTime, processed: result.currentRound.hasProcessedRoundTimeout,
    guessed: result.currentPlayerHasGuessed, isGuessing: result.isGuessing,
    team: result.playerTeam && result.playerTeam.name } : null;
}
"""

needs_react = pytest.mark.skipif(not react_available(),
                                 reason="the mock's React build is not installed: run `make js-deps`")

CHROMIUM_FLAGS = ["--disable-gpu", "--no-first-run", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-background-timer-throttling", "--disable-renderer-backgrounding"]


@contextlib.asynccontextmanager
async def mock_page(site, chromium_path: str, *, hook: bool = True) -> AsyncIterator:
    """A Playwright page in plain headless Chromium mapped onto ``site`` (no extension)."""
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, headless=True,
                                           args=site.chromium_args + CHROMIUM_FLAGS)
        try:
            context = await browser.new_context(viewport={"width": 1024, "height": 700})
            if hook:
                await context.add_init_script(HOOK_SCRIPT)
            page = await context.new_page()
            yield page
        finally:
            await browser.close()


def run_on_page(site, chromium_path: str, body: Callable[..., Awaitable], *,
                timeout_s: float = 90.0, hook: bool = True):
    """Open ``site.url`` in a fresh browser and return ``await body(page)``."""
    async def main():
        async with mock_page(site, chromium_path, hook=hook) as page:
            await page.goto(site.url)
            return await body(page)
    return asyncio.run(asyncio.wait_for(main(), timeout_s))


async def wait_js(page, expression: str, timeout_s: float = 15.0) -> None:
    await page.wait_for_function(expression, timeout=timeout_s * 1000, polling=100)


async def wait_text(page, selector: str, timeout_s: float = 15.0) -> str:
    """The text of the first match of ``selector`` as soon as it shows (splashes are brief)."""
    handle = await page.wait_for_function(
        "(sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; }",
        arg=selector, timeout=timeout_s * 1000, polling=50)
    return await handle.json_value()


def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Page reports travel as beacons: give them a moment to arrive."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


__all__ = ["FIND_CONTEXT", "HOOK_SCRIPT", "eventually", "mock_page", "needs_react", "react_available",
           "run_on_page", "wait_js", "wait_text"]
