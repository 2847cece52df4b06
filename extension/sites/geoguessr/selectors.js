// Every geoguessr.com hook, in ONE file: DOM selectors (each with its 2026 fallbacks, tried in
// order), the page kinds by URL, and the text parsers. When the site changes, this file and
// its fixtures (extension/tests/fixtures/geoguessr/, expected counts in hook_counts.json)
// change, nothing else. Sources: ../shared/design/ARCHITECTURE.md §5 (public 2025-2026 tools).
//
// Stable hooks are `data-qa` attributes. CSS-module class names carry a hash that changes on
// every deploy (`round-score_root__4Ye_r`), so they are matched by prefix: [class*="prefix__"].
// Texts are localised ("ROUND 3", "ラウンド 1"): only digits are read from them.

/** hook name → selectors, the first the primary one, then its fallbacks. */
export const HOOKS = Object.freeze({
  // the panorama and the Street View canvas (chatguessr panoramaCapture.ts, rendererApi.ts)
  panorama: ['[data-qa="panorama"]', '[class*="game_panorama__"]', '[class*="duels-panorama_panorama__"]',
    '[class*="game-panorama_panorama__"]'],
  sceneCanvas: ['canvas.widget-scene-canvas'],
  // the guess map and its button (OGGS core/maps.js)
  guessMap: ['[data-qa="guess-map"]', '[class*="guess-map_guessMap__"]', '[class*="game_guessMap__"]',
    '[class*="guess-map_canvas"]'],
  performGuess: ['[data-qa="perform-guess"]', 'button[class*="guess-map_guessButton"]'],
  // duels (rashinban2026-scripts player-dom.json, 2026-09): HUD without a round number, a
  // start splash, the round result card with its (localised) number, the game summary
  duelsHud: ['[class*="duels_hud__"]', '[class*="hud_healthBars__"]'],
  roundSplash: ['p[class*="new-round_roundNumber__"]', '[class*="new-round_roundNumber__"]'],
  roundResult: ['[data-qa="round-result"]', '[class*="round-score_root__"]'],
  roundResultNumber: ['[class*="round-score_roundNumber__"]'],
  gameSummary: ['[class*="game-summary-2_root__"]', '[class*="game-summary_"]'],
  // classic: the result view and its buttons (same data-qa in every language)
  classicResult: ['[data-qa="result-view-top"]', '[data-qa="result-view-bottom"]', '[class*="result-layout_root__"]'],
  closeRoundResult: ['[data-qa="close-round-result"]'],
  playAgain: ['[data-qa="play-again-button"]'],
  roundNumber: ['[data-qa="round-number"]'],            // gone in 2026 (OGGS game.js); read when there
  // no move / no pan / no zoom (rawblocky geoguessr-controller-support)
  nmpz: ['[class*="panorama_playingNmpz__"]'],
  // page data: the React root (the duels context hangs below it) and Next.js' page JSON
  reactRoot: ['#__next'],
  nextData: ['script#__NEXT_DATA__'],
  // what to hide for a clean TAB capture (the canvas capture has no HUD in its pixels)
  hideForCapture: ['[data-qa="guess-map"]', '[class*="guess-map_"]', '[class*="game_guessMap__"]',
    '[data-qa="compass"]', '[class*="panorama-compass_"]', '[class*="game_topHud__"]', '[class*="game_status__"]',
    '[class*="game_controls__"]', '[class*="game-panorama_controls__"]', '[class*="duels_hud__"]',
    '[class*="new-round_"]', '[class*="hud_"]', '.gmnoprint', '.gm-style-cc', '.gm-iv-address'],
});

/** Each hook as one selector list (what querySelectorAll takes). */
export const SELECTORS = Object.freeze(Object.fromEntries(Object.entries(HOOKS).map(([k, v]) => [k, v.join(', ')])));

/** The first element of a hook and which of its selectors found it: {el, index} (index 0 = primary). */
export function findHook(doc, name) {
  const list = HOOKS[name];
  if (!list) throw new Error(`no geoguessr hook named ${name}`);
  for (let i = 0; i < list.length; i += 1) {
    const el = doc.querySelector(list[i]);
    if (el) return { el, index: i };
  }
  return { el: null, index: -1 };
}

const LOCALE = '(?:/[a-z]{2}(?:-[A-Za-z]{2})?)?';
const ID = '([A-Za-z0-9_-]{1,64})';
// kind, URL pattern, protocol mode (backend/core/protocol_values.py GAME_MODES)
const PAGES = [
  ['team-duels', new RegExp(`^${LOCALE}/team-duels/${ID}`), 'duels'],
  ['duels', new RegExp(`^${LOCALE}/duels/${ID}`), 'duels'],
  ['classic', new RegExp(`^${LOCALE}/game/${ID}`), 'classic'],
  ['challenge', new RegExp(`^${LOCALE}/challenge/${ID}`), 'challenge'],
  ['battle-royale', new RegExp(`^${LOCALE}/battle-royale/${ID}`), 'battle-royale'],
  ['live-challenge', new RegExp(`^${LOCALE}/live-challenge/${ID}`), 'challenge'],
  // party games are played inside the lobby (no navigation to /duels/<id>): the id comes from the page
  ['party', new RegExp(`^${LOCALE}/party(?:/lobby)?(?:/([A-Za-z0-9_-]{1,64}))?/?$`), 'duels'],
];
const MATCHMAKING = new RegExp(`^${LOCALE}/(?:multiplayer|competitive|ranked|quick-play|matchmaking)(?:/|$)`);

/** The page kind from the URL: {kind, gameId, mode} (kind null: not a game page). */
export function pageOf(pathname) {
  for (const [kind, re, mode] of PAGES) {
    const m = String(pathname || '').match(re);
    if (m) return { kind, gameId: m[1] || null, mode };
  }
  return { kind: null, gameId: null, mode: null };
}

/** Whether a path is a matchmaking (rated) lobby page. */
export const isMatchmakingPath = (pathname) => MATCHMAKING.test(String(pathname || ''));

/** Round number from a localised text: "ROUND 3", "ラウンド 1", "2 / 5", "Runde 4" → the first integer. */
export function parseRoundNumber(text) {
  const m = String(text || '').match(/(\d{1,3})/);
  return m ? Number(m[1]) : null;
}

/** The logged-in user's id from Next.js' page JSON (`props.accountProps.account.user.userId`); null for guests. */
export function userIdFromNextData(text) {
  try {
    const id = JSON.parse(text).props.accountProps.account.user.userId;
    return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}
