// Read a finished round from GeoGuessr's own game answers — ONLY after our guess, when the
// round is over (the adapter calls these after the round result is on screen). Pure
// functions over the JSON, tested with hand-made fixtures that mirror the public fields.

/** Classic: GET /api/v3/games/{token} → {truth, score, distanceKm} of round n (1-based). */
export function classicRoundResult(game, n) {
  const r = game && game.rounds && game.rounds[n - 1];
  const g = game && game.player && game.player.guesses && game.player.guesses[n - 1];
  if (!r || typeof r.lat !== 'number' || typeof r.lng !== 'number') return null;
  return {
    truth: { lat: r.lat, lng: r.lng },
    score: g && g.roundScoreInPoints !== undefined ? Math.min(5000, Number(g.roundScoreInPoints)) : null,
    distanceKm: g && g.distanceInMeters !== undefined ? Number(g.distanceInMeters) / 1000 : null,
    opponent: null,
  };
}

/** Duels: GET game-server /api/duels/{id} → our and the opponent's guess of round n. */
export function duelsRoundResult(duel, n, myUserId = null) {
  const rounds = (duel && duel.rounds) || [];
  const r = rounds.find((x) => x.roundNumber === n) || rounds[n - 1];
  const pano = r && (r.panorama || r);
  if (!pano || typeof pano.lat !== 'number' || typeof pano.lng !== 'number') return null;
  const players = ((duel && duel.teams) || []).flatMap((t) => t.players || []);
  const guessOf = (p) => (p.guesses || []).find((g) => g.roundNumber === n) || null;
  const mine = players.find((p) => myUserId && p.playerId === myUserId) || null;
  const other = players.find((p) => p !== mine) || null;
  const gm = mine && guessOf(mine);
  const go = other && guessOf(other);
  return {
    truth: { lat: pano.lat, lng: pano.lng },
    score: gm && gm.score !== undefined ? Math.min(5000, gm.score) : null,
    distanceKm: gm && gm.distance !== undefined ? gm.distance / 1000 : null,
    opponent: go ? { lat: go.lat ?? null, lng: go.lng ?? null, score: go.score ?? null } : null,
  };
}
