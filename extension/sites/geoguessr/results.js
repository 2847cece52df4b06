// Read a finished round from GeoGuessr's own answers — ONLY after our guess of that round,
// once the round is over (the adapter calls these then). Pure functions over the JSON (node
// --test, with the fixtures under extension/tests/fixtures/geoguessr/).
//
// A score or distance the site leaves null (team duels: a player whose team-mate's guess
// counted) stays null: null is "unknown", never 0.

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const cap = (s) => (s === null ? null : Math.min(5000, s));
const latlng = (o) => (o && num(o.lat) !== null && num(o.lng) !== null ? { lat: o.lat, lng: o.lng } : null);

/** Classic and challenge: GET /api/v3/games/{token} (or /api/v3/challenges/{t}/game).
 *  n: our round number, or null to take the last round the player guessed. */
export function classicRoundResult(game, n = null) {
  const guesses = (game && game.player && Array.isArray(game.player.guesses)) ? game.player.guesses : [];
  const number = n || guesses.length || null;
  const r = number && game && Array.isArray(game.rounds) ? game.rounds[number - 1] : null;
  const truth = latlng(r);
  if (!truth) return null;
  const g = guesses[number - 1] || null;
  const score = g ? num(g.roundScoreInPoints) ?? num(g.roundScore && g.roundScore.amount) : null;
  const meters = g ? num(g.distanceInMeters) ?? num(g.distance && g.distance.meters && g.distance.meters.amount) : null;
  return { roundNumber: number, truth, score: cap(score), distanceKm: meters === null ? null : meters / 1000, opponent: null };
}

function guessOf(player, n) {
  return ((player && Array.isArray(player.guesses)) ? player.guesses : []).find((g) => g && g.roundNumber === n) || null;
}

/** Duels and team duels: the live gs2 state or the finished archive → round n of player `myId`. */
export function duelsRoundResult(duel, n, myId = null) {
  const rounds = (duel && Array.isArray(duel.rounds)) ? duel.rounds : [];
  const r = rounds.find((x) => x && x.roundNumber === n) || null;
  const truth = latlng(r && r.panorama);
  if (!truth) return null;
  const teams = (duel && Array.isArray(duel.teams)) ? duel.teams : [];
  const mineTeam = teams.find((t) => (t.players || []).some((p) => myId && p.playerId === myId)) || null;
  const me = mineTeam ? mineTeam.players.find((p) => p.playerId === myId) : null;
  const mine = guessOf(me, n);
  const other = teams.find((t) => t !== mineTeam) || null;
  let opponent = null;
  if (other) {
    // the opponent team's counted guess (team duels: the team's best), and its round score
    const gs = (other.players || []).map((p) => guessOf(p, n)).filter(Boolean);
    const best = gs.find((g) => g.isTeamsBestGuessOnRound) || gs[0] || null;
    const rr = (other.roundResults || []).find((x) => x && x.roundNumber === n) || null;
    const score = rr ? num(rr.score) : (best ? num(best.score) : null);
    opponent = best || rr ? { lat: best ? num(best.lat) : null, lng: best ? num(best.lng) : null, score: cap(score) } : null;
  }
  return {
    roundNumber: n, truth,
    score: mine ? cap(num(mine.score)) : null,
    distanceKm: mine && num(mine.distance) !== null ? mine.distance / 1000 : null,
    opponent,
  };
}

/** Whether the duel state already holds round n's outcome (the round was resolved). */
export function duelRoundSettled(duel, n) {
  const r = ((duel && duel.rounds) || []).find((x) => x && x.roundNumber === n);
  if (!r) return false;
  if (r.hasProcessedRoundTimeout === true) return true;
  return Boolean(duel && (duel.status === 'Finished' || (num(duel.currentRoundNumber) || 0) > n));
}

/** The phonebook answer → {node, finished}: the live node, or the archive once finished. */
export function phonebookRoute(entry) {
  const node = entry && typeof entry.gameServerNodeId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(entry.gameServerNodeId)
    ? entry.gameServerNodeId : null;
  const status = entry && typeof entry.status === 'string' ? entry.status : '';
  return { node, finished: /^(finished|inactive|archived?)$/i.test(status) };
}

/** Battle royale: GET game-server /api/battle-royale/{id} → round n (our guesses: top-level
 *  `guesses`, or `players[].guesses` of player `myId`). The shape is the mock's; the real one is
 *  not in the public evidence, so anything unexpected gives null (nothing logged, nothing made up). */
export function battleRoyaleRoundResult(state, n, myId = null) {
  const r = ((state && state.rounds) || []).find((x) => x && x.roundNumber === n) || null;
  const truth = latlng(r && (r.panorama || r));
  if (!truth) return null;
  const players = (state && Array.isArray(state.players)) ? state.players : [];
  const me = players.find((p) => myId && p.playerId === myId);
  const g = guessOf(me || { guesses: state.guesses }, n);
  return { roundNumber: n, truth, score: g ? cap(num(g.score)) : null,
    distanceKm: g && num(g.distance) !== null ? g.distance / 1000 : null, opponent: null };
}
