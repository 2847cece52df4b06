// The round loop on a game page, one per tab, torn down by its AbortSignal:
// round opens → (mode off: nothing) → hide UI, turn to the headings, capture each settled
// frame → backend guess → overlay → (auto) human-like delay, place through the site →
// after the round: read the result, send it to the score log → (auto) next round.
import { humanDelay } from '../lib/settings.js';
import { safeId, stripDataUrl } from '../lib/protocol.js';
import { waitFor } from '../sites/adapter.js';

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
});

/** Two painted frames (or 100 ms when frames are throttled). */
const nextFrames = () => Promise.race([
  new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))), sleep(100)]);

export class Controller {
  constructor({ adapter, send, overlay, signal }) {
    Object.assign(this, { adapter, send, overlay, signal });
    this.settings = null;
    this.done = new Set();
    this.last = {};
  }

  async start() {
    this.pollStatus();
    while (!this.signal.aborted) {
      const round = await waitFor(() => {
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

  async pollStatus() {
    while (!this.signal.aborted) {
      try {
        const st = await this.send('status', {}, { timeoutMs: 3000, retries: 1 });
        this.status = st;
        this.settings = this.settings ? { ...this.settings, mode: st.mode, views: st.views, overlay: st.overlay } : await this.send('getSettings');
        this.overlay.setState(st.state, st.detail, st.mode);
        if (!this.capturing) this.overlay.setVisible(st.overlay);
      } catch (err) {
        this.overlay.setState('error', `extension worker: ${err.message}`);
      }
      await sleep(700, this.signal).catch(() => {});
    }
  }

  stillOpen(round) {
    const r = this.adapter.currentRound();
    return Boolean(r && r.key === round.key && r.open);
  }

  async capture(n) {
    const count = this.adapter.viewCount(n);
    const views = [];
    this.capturing = true;
    this.overlay.setVisible(false);
    this.adapter.hideUI();
    try {
      const grid = count > 1 && this.adapter.showGrid && this.settings.gridCapture !== false ? await this.adapter.showGrid(count, this.signal) : null;
      if (grid) {
        await nextFrames();
        const shot = await this.send('capture', { grid: { cols: grid.cols, rows: grid.rows } });
        shot.jpegs.forEach((jpeg, i) => views.push({ jpeg, heading: grid.headings[i] }));
        return views;
      }
      for (let i = 0; i < count; i += 1) {
        const { heading } = await this.adapter.turnTo(i, count, this.signal);
        await nextFrames();
        const shot = await this.send('capture');
        views.push({ jpeg: stripDataUrl(shot.dataUrl), heading: Number.isFinite(heading) ? ((heading % 360) + 360) % 360 : null });
      }
    } finally {
      if (this.adapter.endGrid) this.adapter.endGrid();
      this.adapter.restoreUI();
      this.capturing = false;
      this.overlay.setVisible(!this.settings || this.settings.overlay);
    }
    return views;
  }

  roundId(round) {
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
    // capture once; while the backend is away only the request is retried (no flicker)
    while (!guess && this.stillOpen(round) && !this.signal.aborted) {
      try {
        if (!views) {
          const tc = performance.now();
          views = await this.capture(s.views);
          timing.captureMs = Math.round(performance.now() - tc);
          timing.views = views.length;
        }
        guess = await this.send('predict', { round: { roundId: this.roundId(round), gameId: safeId(round.gameId), roundNumber: round.number,
          source: this.adapter.source, mode: this.adapter.mode || round.mode || 'unknown', map: 'world', views } });
      } catch (err) {
        if (err.name === 'AbortError') throw err;
        this.overlay.setNote(`${err.message}; retrying`);
        await sleep(1000, this.signal);
      }
    }
    if (!guess) return;
    timing.guessMs = Math.round(performance.now() - t0);
    this.overlay.showGuess(guess);
    let placed = false;
    if (s.mode === 'auto') {
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
    if (result) {
      try {
        await this.send('result', { result: { roundId: this.roundId(round), truth: result.truth, score: result.score,
          distanceKm: result.distanceKm, opponent: result.opponent } });
        this.overlay.host.dataset.resultsSent = String(Number(this.overlay.host.dataset.resultsSent || 0) + 1);
      } catch (err) {
        this.overlay.setNote(`result not logged: ${err.message}`);
      }
    }
    if (s.mode === 'auto' && placed) await this.adapter.nextRound(round);
  }
}
