// Which round is on screen, from what carries no answer: the duels React context (status,
// isPaused, isRated, round number, startTime, the timeout flag, whether we guessed; read in
// the main world, field by field) and DOM facts (panorama, splash, result card, classic result
// view, play-again button). Pure: the adapter feeds it, node --test checks it.
//
// Round keys never collide: duels carry the game id of the context (a party's next game has a
// new one); a game that starts again on the same URL (play again, or the round number going
// back) opens a new epoch, and the key becomes `<game>.<epoch>:<round>`.

const RATED_REASON = 'a rated or competitive game: auto mode is off here (the community rules forbid scripts in rated play); suggest mode still shows the pin';

/** Why auto mode must not play this game, or null when it may. */
export function autoRefusal(kind, ctx, { cameFromParty = false } = {}) {
  if (kind === 'duels' || kind === 'team-duels' || kind === 'party') {
    if (!ctx) return 'the game state could not be read, so it may be rated: auto mode is off here; suggest mode still works';
    if (ctx.isRated !== false) return RATED_REASON;
    if (ctx.competitive && ctx.competitive !== 'None') return RATED_REASON;
    return null;
  }
  if (kind === 'battle-royale' || kind === 'live-challenge') {
    return cameFromParty ? null : `a ${kind} game not started from your party lobby (public lobbies are matchmaking): auto mode is off here; suggest mode still works`;
  }
  return null;
}

export class RoundTracker {
  constructor() {
    this.games = new Map();   // game key -> {epoch, count, wasOpen, sawEnd, lastNumber, splash}
    this.placed = new Set();  // round keys we guessed
  }

  game(key) {
    let g = this.games.get(key);
    if (!g) {
      g = { epoch: 0, count: 0, wasOpen: false, sawEnd: false, lastNumber: null, splash: null };
      this.games.set(key, g);
    }
    return g;
  }

  /**
   * The round on screen, or null when none.
   * @param page  {kind, gameId, mode} from selectors.pageOf
   * @param ctx   the checked duels context (page_bridge checkContext) or null
   * @param dom   {panorama, guessMap, roundResult, resultNumber, splashNumber, classicResult,
   *               playAgain, summary, roundNumber, nmpz} (booleans / numbers or null)
   * @param nowMs the browser clock (ms since epoch)
   * @param opts  {cameFromParty}
   */
  update(page, ctx, dom, nowMs, opts = {}) {
    if (!page || !page.kind) return null;
    const duelsKind = page.kind === 'duels' || page.kind === 'team-duels' || page.kind === 'party';
    const gameId = (duelsKind && ctx && ctx.gameId) || page.gameId;
    if (!gameId) return null;
    const g = this.game(`${page.kind}:${gameId}`);
    const ended = Boolean(dom.playAgain || dom.summary || (ctx && ctx.status === 'Finished'));
    let number;
    let open;
    let via;
    if (duelsKind && ctx) {
      via = 'context';
      number = ctx.roundNumber;
      const started = ctx.startMs === null || ctx.startMs <= nowMs + 500;
      const resultShown = dom.roundResult && (dom.resultNumber === null || dom.resultNumber === number);
      open = ctx.status === 'Ongoing' && !ctx.isPaused && Boolean(number) && started && !ctx.timedOut && !resultShown &&
        !dom.splashNumber;   // the "ROUND N" splash covers the start
    } else {
      via = 'dom';
      if (dom.splashNumber) g.splash = dom.splashNumber;
      // a round is on while its guess map is: between rounds (result view, battle royale's wait,
      // the splash, the summary) there is none
      const showing = Boolean(dom.panorama) && Boolean(dom.guessMap) && !dom.roundResult && !dom.classicResult && !ended &&
        !dom.splashNumber;
      if (showing && !g.wasOpen) {
        if (g.sawEnd) { g.epoch += 1; g.count = 0; g.sawEnd = false; }
        g.count += 1;
      }
      number = dom.roundNumber || (duelsKind ? g.splash : null) || g.count || null;
      open = showing && Boolean(number);
    }
    if (ended) g.sawEnd = true;
    if (number && g.lastNumber && number < g.lastNumber && via === 'context') g.epoch += 1;   // the game began again
    if (number) g.lastNumber = number;
    g.wasOpen = open;
    if (!number) return null;
    const key = g.epoch ? `${gameId}.${g.epoch}:${number}` : `${gameId}:${number}`;   // also the protocol's round_id
    const guessed = this.placed.has(key) || Boolean(ctx && via === 'context' && ctx.guessed) ||
      (!duelsKind && Boolean(dom.classicResult));
    return {
      key, roundId: key.slice(0, 128), gameId, number, epoch: g.epoch, kind: page.kind, mode: page.mode, open, guessed, via,
      noMove: Boolean(dom.nmpz) || Boolean(ctx && ctx.forbidRotating === true),
      teamDuels: page.kind === 'team-duels' || Boolean(ctx && ctx.teamDuels),
      autoRefusal: autoRefusal(page.kind, ctx, opts),
    };
  }

  markPlaced(key) { this.placed.add(key); }
}
