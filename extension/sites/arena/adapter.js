// The local arena (bot/arena): the page exposes its state as data-* attributes on <body> and
// on the viewer ([data-qa=panorama]: data-view-index, data-view-ready); guesses and results
// go through the arena's JSON game API (by the service worker).
import { waitFor } from '../adapter.js';
import { arenaGuessRequest, arenaResultRequest } from '../../lib/site_requests.js';

function game() {
  const gameId = location.pathname.split('/').pop();
  const token = new URLSearchParams(location.search).get('t') || '';
  return { gameId, token, origin: location.origin };
}

export const arenaAdapter = {
  name: 'arena',
  source: 'arena',
  mode: 'arena',

  matches(loc = location, doc = document) {
    return Boolean(doc.querySelector('meta[name="generator"][content="pigeon-arena"]')) && loc.pathname.startsWith('/play/');
  },

  currentRound() {
    const b = document.body.dataset;
    if (!b.round || !['guessing', 'result', 'finished'].includes(b.phase)) return null;
    const { gameId } = game();
    return { key: `${gameId}:${b.round}`, gameId, number: Number(b.round), mode: b.mode,
      open: b.phase === 'guessing', guessed: b.guessed === 'true', phase: b.phase };
  },

  hideUI() { document.body.classList.add('pigeon-capturing'); },
  restoreUI() { document.body.classList.remove('pigeon-capturing'); },
  viewCount(n) {
    const available = Number(document.querySelector('[data-qa=panorama]').dataset.views || 4);
    return Math.min(n, available);
  },

  async turnTo(i, n, signal) {
    const viewer = document.querySelector('[data-qa=panorama]');
    const available = Number(viewer.dataset.views || 4);
    const target = Math.round((i * available) / n) % available;
    // turn with the page's own control, as a person would
    for (let k = 0; k < available && Number(viewer.dataset.viewIndex) !== target; k += 1) {
      document.querySelector('#turn-right').click();
    }
    await waitFor(() => viewer.dataset.viewIndex === String(target) && viewer.dataset.viewReady === 'true', { signal, timeoutMs: 10000 });
    return { heading: Number(viewer.dataset.heading || 0) };
  },

  // All headings at once: the page's own 2 x 2 grid layout, one capture cropped in four
  // (Chrome allows only about 2 tab captures per second; turning needs 4).
  async showGrid(n, signal) {
    const viewer = document.querySelector('[data-qa=panorama]');
    const available = Number(viewer.dataset.views || 4);
    const toggle = document.querySelector('#toggle-grid');
    if (n !== 4 || available !== 4 || !toggle) return null;
    if (viewer.dataset.layout !== 'grid') toggle.click();
    await waitFor(() => viewer.dataset.layout === 'grid' && viewer.dataset.viewReady === 'true', { signal, timeoutMs: 10000 });
    return { cols: 2, rows: 2, headings: [0, 90, 180, 270] };
  },

  endGrid() {
    const viewer = document.querySelector('[data-qa=panorama]');
    if (viewer && viewer.dataset.layout === 'grid') document.querySelector('#toggle-grid').click();
  },

  async placeGuess(round, guess, send) {
    const { gameId, token, origin } = game();
    const res = await send('siteFetch', { request: arenaGuessRequest(origin, gameId, token, guess.lat, guess.lng, round.number) });
    if (!res.ok) throw new Error(`the arena refused the guess: ${res.json ? res.json.error : res.status}`);
    return res.json;
  },

  async waitForResult(round, signal, send) {
    await waitFor(() => {
      const b = document.body.dataset;
      return (b.phase === 'result' || b.phase === 'finished') && b.round === String(round.number);
    }, { signal });
    const { gameId, token, origin } = game();
    const res = await send('siteFetch', { request: arenaResultRequest(origin, gameId, token, round.number) });
    if (!res.ok) throw new Error(`the arena did not give the result: ${res.json ? res.json.error : res.status}`);
    const r = res.json;
    const you = document.body.dataset.you || null;
    const mine = r.guesses.find((g) => g.player_id === you) || null;
    const other = r.guesses.find((g) => g.player_id !== you) || null;
    return { truth: { lat: r.truth.lat, lng: r.truth.lng },
      score: mine && !mine.timed_out ? mine.score : null,
      distanceKm: mine && !mine.timed_out ? mine.distance_km : null,
      opponent: other ? (other.timed_out ? { lat: null, lng: null, score: other.score } : { lat: other.lat, lng: other.lng, score: other.score }) : null };
  },

  async nextRound() {
    const btn = document.querySelector('[data-qa=play-next-round]');
    if (btn && !btn.closest('[hidden]') && !btn.hidden && document.body.dataset.phase === 'result') btn.click();
  },

  onRoundChange(callback) {
    const obs = new MutationObserver(callback);
    obs.observe(document.body, { attributes: true, attributeFilter: ['data-phase', 'data-round', 'data-guessed'] });
    return () => obs.disconnect();
  },
};
