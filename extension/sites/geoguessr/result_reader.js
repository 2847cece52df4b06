// Reading the game's answers after our guess (never before): the requests and their order.
//
// - classic / challenge: GET /api/v3/games/<token> (challenge: /api/v3/challenges/<t>/game)
//   only once the game is over. Right after a guess that JSON already holds the NEXT round's
//   answer (the site appends it when the round is guessed), so mid-game it is never read.
// - duels / team duels / party duels: the phonebook names the live gs2 node; its state is read
//   right after our round was resolved (it holds only the rounds played so far: the next one is
//   announced seconds later). The old game-server archive only once the phonebook says the game
//   is finished (it stays stale during a live game).
// - battle royale: game-server /api/battle-royale/<id> right after our guess (the next round
//   opens seconds later and is in that JSON from then on).
// - who we are: the logged-in user id from Next.js' page JSON, or /api/v4/guest-users/id.
// Requests go from the content script (the page's origin and cookies, no header of ours),
// only to the URLs lib/site_requests.js allows.
import { GEOGUESSR_URLS, isAllowedGeoguessrRead } from '../../lib/site_requests.js';
import { battleRoyaleRoundResult, classicRoundResult, duelsRoundResult, phonebookRoute } from './results.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MAX_LOG = 100;

export class ResultReader {
  /** fetchImpl(url, init) → Response (the content script's fetch); nextDataText() → string|null */
  constructor({ fetchImpl = (...a) => fetch(...a), nextDataText = () => null, userIdFrom = () => null } = {}) {
    Object.assign(this, { fetchImpl, nextDataText, userIdFrom });
    this.log = [];          // {t, url, status}
    this.me = null;
  }

  async getJson(url) {
    if (!isAllowedGeoguessrRead(url)) throw new Error(`the extension does not read ${url}`);
    const entry = { t: Date.now(), url, status: null };
    this.log.push(entry);
    if (this.log.length > MAX_LOG) this.log.shift();
    const res = await this.fetchImpl(url, { credentials: 'include', cache: 'no-store' });
    entry.status = res.status;
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    return res.json();
  }

  /** Our player id (teams[].players[].playerId): the page's account JSON, else the guest id. */
  async myId() {
    if (this.me) return this.me;
    this.me = this.userIdFrom(this.nextDataText());
    if (!this.me) {
      const g = await this.getJson(GEOGUESSR_URLS.guestId()).catch(() => null);
      this.me = g && typeof g.id === 'string' ? g.id : null;
    }
    return this.me;
  }

  /** The duel's state: the live node (rediscovered through the phonebook), or the archive once finished. */
  async duelState(gameId) {
    let lastErr = null;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const route = phonebookRoute(await this.getJson(GEOGUESSR_URLS.phonebook(gameId)));
        if (route.node) return { source: 'gs2', state: await this.getJson(GEOGUESSR_URLS.liveDuel(route.node, gameId)) };
        if (route.finished) return { source: 'archive', state: await this.getJson(GEOGUESSR_URLS.duelArchive(gameId)) };
        lastErr = new Error('the phonebook named no live node and the game is not finished');
      } catch (err) {
        lastErr = err;
      }
      await sleep(400 * (attempt + 1));
    }
    throw lastErr;
  }

  /** Duels: round n's result from the state read now (the round must be resolved). */
  async duelRound(gameId, n) {
    const { state, source } = await this.duelState(gameId);
    const result = duelsRoundResult(state, n, await this.myId());
    return result ? { ...result, source } : null;
  }

  /** Duels at the end of the game: results of every round in `numbers`. */
  async duelRounds(gameId, numbers) {
    const { state, source } = await this.duelState(gameId);
    const me = await this.myId();
    return numbers.map((n) => {
      const r = duelsRoundResult(state, n, me);
      return r ? { ...r, source } : null;
    });
  }

  /** Battle royale: round n, read right after our guess (before the next round opens). */
  async battleRoyaleRound(gameId, n) {
    return battleRoyaleRoundResult(await this.getJson(GEOGUESSR_URLS.battleRoyale(gameId)), n, await this.myId());
  }

  /** Classic / challenge, once the game is over: results for our rounds.
   *  rounds: [{number, pin: {lat, lng} | null}] — a round we placed is found by its pin. */
  async classicRounds(kind, token, rounds) {
    const url = kind === 'challenge' ? GEOGUESSR_URLS.challengeGame(token) : GEOGUESSR_URLS.classicGame(token);
    const game = await this.getJson(url);
    const guesses = (game && game.player && game.player.guesses) || [];
    const same = (g, pin) => g && Math.abs(g.lat - pin.lat) < 1e-6 && Math.abs(g.lng - pin.lng) < 1e-6;
    const used = new Set();
    return rounds.map(({ number, pin }) => {
      let n = number;
      if (pin && !same(guesses[number - 1], pin)) {   // our own pin tells which round it was (a counter can be off)
        const i = guesses.findIndex((g, j) => !used.has(j + 1) && same(g, pin));
        if (i >= 0) n = i + 1;
      }
      used.add(n);
      return classicRoundResult(game, n);
    });
  }
}
