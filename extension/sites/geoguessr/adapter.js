// geoguessr.com as public 2026 tools show it (ARCHITECTURE §5): classic, challenge, duels,
// team duels, party-lobby duels, battle royale, live challenges, no-move games.
//
// - Round state: the duels React context (read in the main world, answer-free fields only)
//   and DOM facts (round_state.js); hooks in selectors.js only.
// - Turning: setPov through the main-world script (extension/page/), random start heading,
//   settled = no Street View frame or tile upload for a quiet window; no turning in no-move games.
// - Capture: the Street View canvas itself, read in the main world (no HUD, no tab quota); the
//   controller falls back to a tab capture when that reads back blank.
// - Guesses: the page's own mechanism: duels onPlacedPin + onGuess, else a click on the guess
//   map and the guess button. The extension never POSTs a guess and sends no header of its own.
// - Results: read after our guess only (result_reader.js).
import { waitFor } from '../adapter.js';
import { HOOKS, findHook, isMatchmakingPath, pageOf, parseRoundNumber, userIdFromNextData } from './selectors.js';
import { PageBridge, pageNonce } from './page_bridge.js';
import { RoundTracker } from './round_state.js';
import { ResultReader } from './result_reader.js';
import { pinFor } from './guess_point.js';

const POLL_MS = 100;
const STALE_MS = 1500;
const NO_CONTEXT_GRACE_MS = 4000;
const SETTLE = { quietMs: 100, capMs: 600 };
const GRAB = { maxWidth: 640, quality: 0.85 };
const DUELS_KINDS = ['duels', 'team-duels', 'party'];
const $ = (name) => findHook(document, name).el;
const textOf = (name) => { const el = $(name); return el ? el.textContent : ''; };

const st = {
  bridge: null, bridgeError: null, configured: null, snapshot: null, snapshotAt: 0,
  tracker: new RoundTracker(), reader: new ResultReader({ nextDataText: () => textOf('nextData') || null,
    userIdFrom: userIdFromNextData }),
  cameFromParty: false, hidden: [], startHeading: null, pending: [], pins: new Map(), lastCapture: null,
  noContextSince: null, startFor: null,
};

function bridge() {
  if (st.bridge) return st.bridge;
  const nonce = pageNonce();
  if (!nonce) { st.bridgeError = 'the page script did not start with this page (reload the tab)'; return null; }
  st.bridge = new PageBridge({ nonce });
  return st.bridge;
}

async function ask(type, args, timeoutMs) {
  const b = bridge();
  if (!b) throw new Error(st.bridgeError);
  if (!st.configured) {
    st.configured = b.request('configure', { selectors: { panorama: HOOKS.panorama, sceneCanvas: HOOKS.sceneCanvas,
      guessMap: HOOKS.guessMap, performGuess: HOOKS.performGuess, reactRoot: HOOKS.reactRoot } });
  }
  await st.configured;
  return b.request(type, args, timeoutMs ? { timeoutMs } : undefined);
}

/** The duels context from the last poll, if fresh. */
function ctxNow() {
  return st.snapshot && performance.now() - st.snapshotAt < STALE_MS ? st.snapshot.context : null;
}

function domFacts() {
  const splash = $('roundSplash');
  return {
    panorama: Boolean($('panorama')), guessMap: Boolean($('guessMap')), roundResult: Boolean($('roundResult')),
    resultNumber: parseRoundNumber(textOf('roundResultNumber')), splashNumber: splash ? parseRoundNumber(splash.textContent) : null,
    classicResult: Boolean($('classicResult')), playAgain: Boolean($('playAgain')), summary: Boolean($('gameSummary')),
    roundNumber: parseRoundNumber(textOf('roundNumber')), nmpz: Boolean($('nmpz')),
  };
}

const gameOver = (ctx, d) => Boolean(d.playAgain || d.summary || (ctx && ctx.status === 'Finished'));

async function duelResult(round, signal) {
  const when = await waitFor(() => {
    const c = ctxNow();
    if (c && c.gameId === round.gameId) {
      if (c.status === 'Finished') return 'end';
      if (c.roundNumber === round.number && c.timedOut) return 'now';
      if (c.roundNumber > round.number) return 'later';
    }
    const d = domFacts();
    if (d.roundResult && d.resultNumber === round.number) return 'now';
    return d.summary ? 'end' : null;
  }, { signal });
  // the next round is announced seconds after a result: read now, or after the game's end
  if (when === 'later') { st.pending.push(round); return null; }
  try {
    return await st.reader.duelRound(round.gameId, round.number);
  } catch {
    st.pending.push(round);
    return null;
  }
}

// Classic and challenge: the whole result (score, distance, truth) is sent ONCE, at the game's
// end, from the game's JSON. The result view's number is not read: it shows 0 first and is
// set a moment later, it is localised with thousands separators ("3,412", "3.412"), and the
// score log keeps the first value stored for a round (a later, right one is refused).
async function classicResult(round, signal) {
  await waitFor(() => { const d = domFacts(); return d.classicResult || d.playAgain; }, { signal });
  st.pending.push(round);
  return null;
}

export const geoguessrAdapter = {
  name: 'geoguessr',
  source: 'geoguessr',

  matches(loc = location) {
    const page = pageOf(loc.pathname);
    if (page.kind === 'party') st.cameFromParty = true;          // battle royale / live challenge from a party
    else if (isMatchmakingPath(loc.pathname)) st.cameFromParty = false;
    return loc.hostname === 'www.geoguessr.com' && page.kind !== null;
  },

  get mode() { return pageOf(location.pathname).mode || 'unknown'; },

  /** Poll the main world's answer-free state while the controller runs. */
  async start(signal) {
    while (!signal.aborted) {
      try {
        st.snapshot = await ask('state', {}, 2000);
        st.snapshotAt = performance.now();
        if (st.snapshot.context) st.noContextSince = null;
        else if (!st.noContextSince) st.noContextSince = st.snapshotAt;
        st.bridgeError = null;
      } catch (err) {
        st.bridgeError = err.message;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  },

  currentRound() {
    const page = pageOf(location.pathname);
    const ctx = ctxNow();
    if (DUELS_KINDS.includes(page.kind) && !ctx) {
      // the context comes with the page script's first answers: the DOM alone decides only once
      // the page script has answered for a while without finding it (a site change)
      if (!st.snapshot || !st.noContextSince || performance.now() - st.noContextSince < NO_CONTEXT_GRACE_MS) return null;
    }
    return st.tracker.update(page, ctx, domFacts(), Date.now(), { cameFromParty: st.cameFromParty });
  },

  hideUI() {
    const pano = $('panorama');
    st.hidden = [...document.querySelectorAll(HOOKS.hideForCapture.join(', '))]
      .filter((el) => !(pano && el.contains(pano)) && (!pano || !pano.contains(el) || el.matches('.gmnoprint, .gm-style-cc, .gm-iv-address')));
    for (const el of st.hidden) { el.dataset.pigeonVisibility = el.style.visibility; el.style.visibility = 'hidden'; }
  },

  restoreUI() {
    for (const el of st.hidden) { el.style.visibility = el.dataset.pigeonVisibility || ''; delete el.dataset.pigeonVisibility; }
    st.hidden = [];
  },

  viewCount(n, round) { return round && round.noMove ? 1 : n; },

  async turnTo(i, n, signal, round) {
    // one view: the view as it is (no-move games cannot turn); else n headings from a random
    // start (one start per round: a view taken again faces the same way)
    if (n === 1) return ask('turn', { heading: null, pitch: 0, ...SETTLE }, 8000);
    const key = round ? round.key : null;
    if (st.startHeading === null || st.startFor !== key) { st.startHeading = Math.random() * 360; st.startFor = key; }
    const heading = Math.round(((st.startHeading + (360 * i) / n) % 360) * 100) / 100;
    return ask('turn', { heading, pitch: 0, ...SETTLE }, 8000);
  },

  /** The Street View canvas as JPEG base64: {jpeg} or {jpeg: null, reason}. */
  async grabView({ afterDraw = false } = {}) {
    const g = await ask('grab', { ...GRAB, afterDraw }, 8000);
    st.lastCapture = g.dataUrl ? 'canvas' : `canvas failed: ${g.reason}`;
    return g.dataUrl ? { jpeg: g.dataUrl.slice(g.dataUrl.indexOf(',') + 1), width: g.width, height: g.height } : { jpeg: null, reason: g.reason };
  },

  async placeGuess(round, guess) {
    const pin = pinFor(guess, { countries: round.countries === true });
    const c = ctxNow();
    if (DUELS_KINDS.includes(round.kind) && c && c.canPin) await ask('placeDuels', pin, 10000);
    else await ask('placeMap', { ...pin, buttonTimeoutMs: 3000 }, 8000);
    st.tracker.markPlaced(round.key);
    st.pins.set(round.key, pin);
    return pin;
  },

  async waitForResult(round, signal) {
    if (DUELS_KINDS.includes(round.kind)) return duelResult(round, signal);
    if (round.kind === 'classic' || round.kind === 'challenge') return classicResult(round, signal);
    // battle royale: our guess is in once its guess map goes; the next round opens seconds later
    await waitFor(() => { const d = domFacts(); return !d.guessMap || d.roundResult || d.classicResult || d.playAgain || d.summary; }, { signal });
    if (round.kind !== 'battle-royale') return null;   // live challenge: no result reader yet
    return st.reader.battleRoyaleRound(round.gameId, round.number).catch(() => null);
  },

  /** Results that could only be read at the game's end: [{round, result}] (empty until then). */
  async lateResults() {
    if (!st.pending.length || !gameOver(ctxNow(), domFacts())) return [];
    const rounds = st.pending.splice(0);
    const out = [];
    for (const kind of new Set(rounds.map((r) => r.kind))) {
      const mine = rounds.filter((r) => r.kind === kind);
      const gameId = mine[0].gameId;
      const results = DUELS_KINDS.includes(kind)
        ? await st.reader.duelRounds(gameId, mine.map((r) => r.number))
        : await st.reader.classicRounds(kind, gameId, mine.map((r) => ({ number: r.number, pin: st.pins.get(r.key) || null })));
      mine.forEach((round, i) => { if (results[i]) out.push({ round, result: results[i] }); });
    }
    return out;
  },

  async nextRound() {
    const next = $('closeRoundResult');
    if (next) next.click();    // classic: the page's own "next" (duels move on by themselves)
  },

  onRoundChange(callback) {
    const obs = new MutationObserver(callback);
    obs.observe(document.body, { subtree: true, childList: true });
    return () => obs.disconnect();
  },

  /** Which hooks were found: one report a user can paste when the site changed. */
  diagnostics() {
    const page = pageOf(location.pathname);
    const dom = {};
    for (const name of Object.keys(HOOKS)) {
      if (name === 'hideForCapture') continue;
      const { index } = findHook(document, name);
      dom[name] = index < 0 ? 'missing' : index === 0 ? 'found' : `found (fallback ${index})`;
    }
    const s = st.snapshot;
    const round = this.currentRound();
    return {
      page: page.kind, mode: page.mode, path: location.pathname.replace(/[A-Za-z0-9_-]{12,}/g, '<id>'),
      round: round ? { number: round.number, open: round.open, via: round.via, noMove: round.noMove } : null,
      autoRefusal: round ? round.autoRefusal : null,
      pageScript: s ? {
        answering: !st.bridgeError, googleMaps: s.hooks.googleMaps, streetView: s.hooks.streetViewHook || 'missing',
        guessMapClass: s.hooks.mapHook || 'missing', webglCounting: s.hooks.webglHook, keepsDrawingBuffer: s.hooks.preserveBuffer,
        panorama: s.panorama, sceneCanvas: s.sceneCanvas, framesSeen: s.frames, tileUploads: s.uploads,
        guessMap: s.guessMap, guessMapHooked: s.guessMapHooked, duelsContext: Boolean(s.context),
      } : { answering: false, error: st.bridgeError || 'no answer yet' },
      dom, lastCapture: st.lastCapture,
      reads: st.reader.log.slice(-8).map((e) => `${e.status} ${e.url.replace(/[A-Za-z0-9_-]{12,}/g, '<id>')}`),
    };
  },
};
