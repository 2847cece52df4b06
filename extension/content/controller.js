// The round loop on a game page, one per tab, torn down by its AbortSignal:
// round opens → (mode off: nothing) → capture the views (content/capture.js) → backend guess →
// overlay → (auto, unless the adapter says this game must not be auto-played) human-like
// delay, place through the site → after the round: read the result, send it to the score log
// → (auto) next round. Results a site gives only at the game's end are sent then.
import { humanDelay } from '../lib/settings.js';
import { safeId } from '../lib/protocol.js';
import { waitFor } from '../sites/adapter.js';
import { CaptureRefused, captureViews } from './capture.js';

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
});

export class Controller {
  constructor({ adapter, send, overlay, signal }) {
    Object.assign(this, { adapter, send, overlay, signal });
    this.path = location.pathname;
    this.settings = null;
    this.done = new Set();
    this.last = {};
  }

  async start() {
    this.pollStatus();
    if (this.adapter.start) this.adapter.start(this.signal).catch(() => {});
    if (this.adapter.lateResults) this.flushLateResults();
    while (!this.signal.aborted) {
      const round = await waitFor(() => {
        if (location.pathname !== this.path) return null;   // the page moved on: a new controller takes over
        const r = this.adapter.currentRound();
        return r && r.open && !this.done.has(r.key) ? r : null;
      }, { signal: this.signal });
      this.done.add(round.key);
      try {
        await this.playRound(round);
      } catch (err) {
        if (err.name === 'AbortError') return;
        this.overlay.setNote(`round ${round.number}: ${err.message}`);
      }
    }
  }

  diagnostics() {
    const report = this.adapter.diagnostics ? this.adapter.diagnostics() : { page: this.adapter.name };
    return { site: this.adapter.name, ...report, lastRound: this.last };
  }

  async pollStatus() {
    while (!this.signal.aborted) {
      try {
        const st = await this.send('status', {}, { timeoutMs: 3000, retries: 1 });
        this.status = st;
        this.settings = this.settings ? { ...this.settings, mode: st.mode, views: st.views, overlay: st.overlay } : await this.send('getSettings');
        this.overlay.setState(st.state, st.detail, st.mode);
        if (!this.capturing) this.overlay.setVisible(st.overlay);
        if (this.adapter.diagnostics) this.overlay.setDiagnostics(this.adapter.diagnostics());
      } catch (err) {
        this.overlay.setState('error', `extension worker: ${err.message}`);
      }
      await sleep(700, this.signal).catch(() => {});
    }
  }

  /** Results the site gives only at the game's end (the adapter says when). */
  async flushLateResults() {
    while (!this.signal.aborted) {
      try {
        for (const { round, result } of await this.adapter.lateResults()) await this.sendResult(round, result);
      } catch (err) {
        this.overlay.setNote(`results not read: ${err.message}`);
      }
      await sleep(500, this.signal).catch(() => {});
    }
  }

  async sendResult(round, result) {
    try {
      await this.send('result', { result: { roundId: this.roundId(round), truth: result.truth, score: result.score,
        distanceKm: result.distanceKm, opponent: result.opponent } });
      this.overlay.host.dataset.resultsSent = String(Number(this.overlay.host.dataset.resultsSent || 0) + 1);
    } catch (err) {
      this.overlay.setNote(`result not logged: ${err.message}`);
    }
  }

  stillOpen(round) {
    if (this.signal.aborted || location.pathname !== this.path) return false;
    const r = this.adapter.currentRound();
    return Boolean(r && r.key === round.key && r.open);
  }

  roundId(round) {
    if (round.roundId) return round.roundId;
    const gid = safeId(round.gameId);
    return this.adapter.source === 'geoguessr' ? `${gid}:${round.number}` : `ext-${this.adapter.source}-${gid}:${round.number}`.slice(0, 128);
  }

  async playRound(round) {
    const t0 = performance.now();
    this.settings = await this.send('getSettings');
    const s = this.settings;
    if (s.mode === 'off') return;
    this.overlay.clearGuess();
    let guess = null;
    let views = null;
    const timing = { round: round.number };
    const autoRefused = s.mode === 'auto' && round.autoRefusal ? round.autoRefusal : null;
    if (autoRefused) this.overlay.setNote(autoRefused);
    // capture once; while the backend is away only the request is retried (no flicker)
    while (!guess && this.stillOpen(round) && !this.signal.aborted) {
      try {
        if (!views) {
          const tc = performance.now();
          this.capturing = true;
          const shot = await captureViews({ adapter: this.adapter, send: this.send, settings: s, overlay: this.overlay,
            signal: this.signal, round }).finally(() => { this.capturing = false; });
          views = shot.views;
          timing.captureMs = Math.round(performance.now() - tc);
          timing.views = views.length;
          timing.via = shot.via;
          if (shot.settles && shot.settles.length) timing.settles = shot.settles;
        }
        guess = await this.send('predict', { round: { roundId: this.roundId(round), gameId: safeId(round.gameId), roundNumber: round.number,
          source: this.adapter.source, mode: this.adapter.mode || round.mode || 'unknown', map: 'world', views } });
      } catch (err) {
        if (err.name === 'AbortError') throw err;
        if (err instanceof CaptureRefused) {   // never send a blank view: say so, skip the round
          this.overlay.setNote(`capture refused, round not sent: ${err.message}. See the hooks below.`);
          this.overlay.host.dataset.refused = String(Number(this.overlay.host.dataset.refused || 0) + 1);
          return;
        }
        this.overlay.setNote(`${err.message}; retrying`);
        await sleep(1000, this.signal);
      }
    }
    if (!guess || this.signal.aborted) return;
    timing.guessMs = Math.round(performance.now() - t0);
    timing.backendMs = guess.roundTripMs;
    this.overlay.showGuess(guess);
    let placed = false;
    if (s.mode === 'auto' && !autoRefused) {
      const delay = humanDelay(s);
      await sleep(delay, this.signal);
      const r = this.adapter.currentRound();
      if (this.stillOpen(round) && r && !r.guessed) {
        await this.adapter.placeGuess(round, guess, this.send);
        placed = true;
        timing.placedMs = Math.round(performance.now() - t0);
        timing.delayMs = delay;
      }
    }
    this.last = timing;
    this.history = [...(this.history || []), timing].slice(-50);
    this.overlay.host.dataset.timings = JSON.stringify(timing);
    this.overlay.host.dataset.timingsHistory = JSON.stringify(this.history);
    // the result is read only now, after the round's guess (ours in auto mode, the person's in suggest)
    const result = await this.adapter.waitForResult(round, this.signal, this.send);
    if (result) await this.sendResult(round, result);
    if (s.mode === 'auto' && placed) await this.adapter.nextRound(round);
  }
}
