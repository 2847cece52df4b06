"""Plain Chromium (no extension) on the mock, for the mock's own self-tests.

`HOOK_SCRIPT` is what a document_start main-world script of a maintained tool does
(miraclewhips geoguessr-compass-north.user.js, extenssr's injecter): watch for the Maps script
tag, and in its `onload` replace `google.maps.StreetViewPanorama` and `google.maps.Map` with
subclasses that remember their instances. It touches no answer itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

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


__all__ = ["FIND_CONTEXT", "HOOK_SCRIPT", "mock_page", "react_available"]
