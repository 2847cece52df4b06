// Every geoguessr.com selector, in ONE file. When the site changes, this file and its
// fixtures (extension/tests/fixtures/geoguessr/*.html, with expected match counts in
// extension/tests/selectors.test.mjs) change, nothing else.
//
// Stable hooks are `data-qa` attributes. CSS-module class names carry a hash that changes on
// every deploy (`game-layout_root__3hPkX`), so they are matched by prefix: [class*="prefix_"].

export const SELECTORS = Object.freeze({
  // stable data-qa hooks
  guessMap: '[data-qa="guess-map"]',
  guessMapCanvas: '[data-qa="guess-map-canvas"]',
  performGuess: '[data-qa="perform-guess"]',
  roundResult: '[data-qa="round-result"]',
  closeRoundResult: '[data-qa="close-round-result"]',
  playNextRound: '[data-qa="play-next-round"]',
  compass: '[data-qa="compass"]',
  panorama: '[data-qa="panorama"]',
  roundNumber: '[data-qa="round-number"]',
  score: '[data-qa="score"]',
  // CSS modules, matched by prefix
  gameLayout: '[class*="game-layout_"]',
  compassNeedle: '[data-qa="compass"] [class*="compass__indicator"], [data-qa="compass"] svg',
  duelsResult: '[class*="round-score_"], [class*="overlay_backdrop__"]',
  // what to hide for a clean capture: the game's HUD and map, Google's own controls
  hideForCapture: [
    '[data-qa="guess-map"]', '[data-qa="compass"]', '[class*="game-layout_top-hud"]', '[class*="game-layout__top-hud"]',
    '[class*="game-layout_controls"]', '[class*="game-layout__controls"]', '[class*="game_status"]',
    '[class*="hud_root__"]', '[class*="duels-hud"]', '.gmnoprint', '.gm-style-cc', '.gm-iv-address',
  ].join(', '),
});

/** The page kind from the URL: {kind: 'duels'|'classic'|null, gameId}. */
export function pageOf(pathname) {
  let m = pathname.match(/^\/(?:[a-z]{2}\/)?(?:duels|team-duels)\/([A-Za-z0-9-]+)/);
  if (m) return { kind: 'duels', gameId: m[1] };
  m = pathname.match(/^\/(?:[a-z]{2}\/)?game\/([A-Za-z0-9]+)/);
  if (m) return { kind: 'classic', gameId: m[1] };
  return { kind: null, gameId: null };
}

/** Round number from the round-number element's text: "2 / 5", "Round 3", "ROUND 3". */
export function parseRoundNumber(text) {
  const m = String(text || '').match(/(\d+)/);
  return m ? Number(m[1]) : null;
}

/** Heading (degrees, 0 = north) that a compass's CSS transform shows, or null.
 *  Reads an inline `rotate(Xdeg)` or a computed `matrix(a, b, c, d, e, f)`. */
export function parseCompassRotation(transform) {
  const text = String(transform || '');
  let deg = null;
  const r = text.match(/rotate\((-?[\d.]+)deg\)/);
  if (r) deg = Number(r[1]);
  const m = text.match(/matrix\(\s*(-?[\d.e-]+)\s*,\s*(-?[\d.e-]+)/);
  if (deg === null && m) deg = (Math.atan2(Number(m[2]), Number(m[1])) * 180) / Math.PI;
  if (deg === null || !Number.isFinite(deg)) return null;
  return Math.round((((-deg % 360) + 360) % 360) * 1000) / 1000 % 360;
}
