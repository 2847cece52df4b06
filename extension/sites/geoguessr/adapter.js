// geoguessr.com: duels first, classic too. Selectors live in ./selectors.js only.
// Turning: click the compass (faces north), then arrow keys on the panorama until the compass
// shows the wanted heading, and wait until the compass stops moving (the frame has settled).
// Placing: the site's own guess endpoints, through the service worker with the cookies.
// Results: the game's own answer, read only after the guess, once the round result is shown.
import { waitFor } from '../adapter.js';
import { classicGuessRequest, duelsGuessRequest } from '../../lib/site_requests.js';
import { SELECTORS, pageOf, parseCompassRotation, parseRoundNumber } from './selectors.js';
import { classicRoundResult, duelsRoundResult } from './results.js';

const $ = (sel) => document.querySelector(sel);
const placed = new Set();
let hiddenEls = [];

function heading() {
  const needle = $(SELECTORS.compassNeedle);
  return needle ? parseCompassRotation(needle.style.transform || getComputedStyle(needle).transform) : null;
}

/** Resolve once the compass heading has not changed for `frames` animation frames. */
async function settled(signal, frames = 4, timeoutMs = 4000) {
  let last = null;
  let still = 0;
  const t0 = performance.now();
  while (still < frames && performance.now() - t0 < timeoutMs) {
    if (signal && signal.aborted) throw new DOMException('aborted', 'AbortError');
    await new Promise((r) => requestAnimationFrame(r));
    const h = heading();
    still = h !== null && last !== null && Math.abs(h - last) < 0.5 ? still + 1 : 0;
    last = h;
  }
}

function pressKey(key) {
  const target = $(SELECTORS.panorama) || document.body;
  for (const type of ['keydown', 'keyup']) target.dispatchEvent(new KeyboardEvent(type, { key, code: key, bubbles: true }));
}

export const geoguessrAdapter = {
  name: 'geoguessr',
  source: 'geoguessr',

  matches(loc = location, doc = document) {
    return loc.hostname === 'www.geoguessr.com' && pageOf(loc.pathname).kind !== null && Boolean(doc.querySelector(SELECTORS.panorama));
  },

  currentRound() {
    const page = pageOf(location.pathname);
    if (!page.kind) return null;
    const number = parseRoundNumber(($(SELECTORS.roundNumber) || {}).textContent);
    if (!number) return null;
    const showingResult = Boolean($(SELECTORS.roundResult) || $(SELECTORS.duelsResult));
    const key = `${page.gameId}:${number}`;
    return { key, gameId: page.gameId, number, mode: page.kind, open: Boolean($(SELECTORS.panorama)) && !showingResult,
      guessed: placed.has(key) || showingResult };
  },

  get mode() { return pageOf(location.pathname).kind || 'unknown'; },

  hideUI() {
    hiddenEls = [...document.querySelectorAll(SELECTORS.hideForCapture)].filter((el) => !el.closest(SELECTORS.panorama) || el.matches('.gmnoprint, .gm-style-cc'));
    for (const el of hiddenEls) { el.dataset.pigeonVisibility = el.style.visibility; el.style.visibility = 'hidden'; }
  },

  restoreUI() {
    for (const el of hiddenEls) { el.style.visibility = el.dataset.pigeonVisibility || ''; delete el.dataset.pigeonVisibility; }
    hiddenEls = [];
  },

  viewCount(n) { return n; },

  async turnTo(i, n, signal) {
    const target = (360 / n) * i;
    if (i === 0) {
      const compass = $(SELECTORS.compass);
      if (compass) compass.click();           // faces north
      await settled(signal);
      return { heading: heading() ?? 0 };
    }
    for (let k = 0; k < 40; k += 1) {
      const h = heading();
      if (h === null) break;
      const diff = ((target - h + 540) % 360) - 180;
      if (Math.abs(diff) < 8) break;
      pressKey(diff > 0 ? 'ArrowRight' : 'ArrowLeft');
      await settled(signal, 2, 1000);
    }
    await settled(signal);
    return { heading: heading() ?? target };
  },

  async placeGuess(round, guess, send) {
    const req = round.mode === 'duels' ? duelsGuessRequest(round.gameId, guess.lat, guess.lng, round.number)
      : classicGuessRequest(round.gameId, guess.lat, guess.lng);
    const res = await send('siteFetch', { request: req });
    if (!res.ok) throw new Error(`GeoGuessr refused the guess (HTTP ${res.status})`);
    placed.add(round.key);
    return res.json;
  },

  async waitForResult(round, signal, send) {
    await waitFor(() => $(SELECTORS.roundResult) || $(SELECTORS.duelsResult) ||
      (parseRoundNumber(($(SELECTORS.roundNumber) || {}).textContent) || 0) > round.number, { signal });
    if (round.mode === 'duels') {
      const res = await send('siteFetch', { request: { url: `https://game-server.geoguessr.com/api/duels/${encodeURIComponent(round.gameId)}`, credentials: 'include', headers: { 'x-client': 'web' } } });
      const me = await send('siteFetch', { request: { url: 'https://www.geoguessr.com/api/v3/profiles', credentials: 'include' } }).catch(() => null);
      const myId = me && me.json && me.json.user ? me.json.user.id : null;
      return res.ok ? duelsRoundResult(res.json, round.number, myId) : null;
    }
    const res = await send('siteFetch', { request: { url: `https://www.geoguessr.com/api/v3/games/${encodeURIComponent(round.gameId)}`, credentials: 'include' } });
    return res.ok ? classicRoundResult(res.json, round.number) : null;
  },

  async nextRound() {
    const btn = $(SELECTORS.playNextRound) || $(SELECTORS.closeRoundResult);
    if (btn) btn.click();
  },

  onRoundChange(callback) {
    const obs = new MutationObserver(callback);
    obs.observe(document.body, { subtree: true, childList: true });
    return () => obs.disconnect();
  },
};
