// Which URLs the extension may call for a site adapter, and the site request builders.
// Pixels only: none of these reads a round's location before the guess is placed; the
// result URLs are called only after the round has ended (the adapters enforce the order).
//
// geoguessr.com: the extension never POSTs there (guesses go through the page's own client)
// and reads only the game answers below, from the content script (so with the page's own
// origin and cookies, and no header of ours); the service worker calls the arena only.

const ARENA_HOSTS = ['127.0.0.1', 'localhost'];
const ID = '[A-Za-z0-9_-]{1,64}';
const GEOGUESSR_READS = [
  ['www.geoguessr.com', new RegExp(`^/api/v3/games/${ID}$`)],
  ['www.geoguessr.com', new RegExp(`^/api/v3/challenges/${ID}/game$`)],
  ['www.geoguessr.com', new RegExp(`^/api/v4/game-server/phonebook/${ID}$`)],
  ['www.geoguessr.com', /^\/api\/v4\/guest-users\/id$/],
  ['gs2.geoguessr.com', new RegExp(`^/${ID}/${ID}$`)],
  ['game-server.geoguessr.com', new RegExp(`^/api/(?:duels|battle-royale)/${ID}$`)],
];

/** URLs the service worker's siteFetch may call: the local arena's game API only. */
export function isAllowedSiteUrl(url) {
  let u;
  try { u = new URL(url); } catch { return false; }
  return u.protocol === 'http:' && ARENA_HOSTS.includes(u.hostname) && u.pathname.startsWith('/api/games/');
}

/** geoguessr.com answers the content script may read (GET, after the round's guess). */
export function isAllowedGeoguessrRead(url) {
  let u;
  try { u = new URL(url); } catch { return false; }
  if (u.protocol !== 'https:' || u.search || u.hash || u.username || u.password || u.port) return false;
  return GEOGUESSR_READS.some(([host, re]) => u.hostname === host && re.test(u.pathname));
}

const enc = encodeURIComponent;
/** The read URLs, by what they answer. */
export const GEOGUESSR_URLS = {
  classicGame: (token) => `https://www.geoguessr.com/api/v3/games/${enc(token)}`,
  challengeGame: (token) => `https://www.geoguessr.com/api/v3/challenges/${enc(token)}/game`,
  phonebook: (gameId) => `https://www.geoguessr.com/api/v4/game-server/phonebook/${enc(gameId)}`,
  liveDuel: (node, gameId) => `https://gs2.geoguessr.com/${enc(node)}/${enc(gameId)}`,
  duelArchive: (gameId) => `https://game-server.geoguessr.com/api/duels/${enc(gameId)}`,
  battleRoyale: (gameId) => `https://game-server.geoguessr.com/api/battle-royale/${enc(gameId)}`,
  guestId: () => 'https://www.geoguessr.com/api/v4/guest-users/id',
};

/** The arena's guess (the arena's JSON game API). */
export function arenaGuessRequest(origin, gameId, token, lat, lng, roundNumber) {
  return { url: `${origin}/api/games/${encodeURIComponent(gameId)}/guess?t=${encodeURIComponent(token)}`, method: 'POST',
    body: { lat, lng, round: roundNumber } };
}

/** The arena's round truth: only after the round has ended. */
export function arenaResultRequest(origin, gameId, token, roundNumber) {
  return { url: `${origin}/api/games/${encodeURIComponent(gameId)}/rounds/${roundNumber}/result?t=${encodeURIComponent(token)}` };
}
