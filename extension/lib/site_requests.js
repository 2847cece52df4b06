// Which URLs the service worker may call for a site adapter, and the site request builders.
// Pixels only: none of these reads a round's location before the guess is placed; the
// result URLs are called only after the round has ended (the adapters enforce the order).

const ARENA_HOSTS = ['127.0.0.1', 'localhost'];

export function isAllowedSiteUrl(url) {
  let u;
  try { u = new URL(url); } catch { return false; }
  if (u.protocol === 'http:' && ARENA_HOSTS.includes(u.hostname) && u.pathname.startsWith('/api/games/')) return true;
  if (u.protocol === 'https:' && (u.hostname === 'www.geoguessr.com' || u.hostname === 'game-server.geoguessr.com')) return true;
  return false;
}

/** GeoGuessr duels guess (game-server), with credentials and `x-client: web`; retried on 400. */
export function duelsGuessRequest(gameId, lat, lng, roundNumber) {
  return { url: `https://game-server.geoguessr.com/api/duels/${encodeURIComponent(gameId)}/guess`, method: 'POST',
    body: { lat, lng, roundNumber }, headers: { 'x-client': 'web' }, credentials: 'include', retryOn400: 3 };
}

/** GeoGuessr classic guess. */
export function classicGuessRequest(token, lat, lng) {
  return { url: `https://www.geoguessr.com/api/v3/games/${encodeURIComponent(token)}`, method: 'POST',
    body: { token, lat, lng, timedOut: false }, headers: { 'x-client': 'web' }, credentials: 'include', retryOn400: 1 };
}

/** The arena's guess (the arena's JSON game API). */
export function arenaGuessRequest(origin, gameId, token, lat, lng, roundNumber) {
  return { url: `${origin}/api/games/${encodeURIComponent(gameId)}/guess?t=${encodeURIComponent(token)}`, method: 'POST',
    body: { lat, lng, round: roundNumber } };
}

/** The arena's round truth: only after the round has ended. */
export function arenaResultRequest(origin, gameId, token, roundNumber) {
  return { url: `${origin}/api/games/${encodeURIComponent(gameId)}/rounds/${roundNumber}/result?t=${encodeURIComponent(token)}` };
}
