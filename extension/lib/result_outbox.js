// Round results the backend has not acknowledged yet. An ack means "stored in the score log";
// until one comes, a result stays here, persisted (chrome.storage.local), and is sent again
// when the connection comes back and every retryMs while the backend refuses it for a
// passing reason (storage_failed: disk full or locked; busy; shutting_down; no connection).
// A result the backend can never store (unknown_round: its guess was not logged;
// duplicate_round: a different result is stored; a malformed message) is dropped, and the
// reason kept in `dropped` for the popup and the tests.
//
// Storage and send are injected, so node tests drive it with a fake storage and a fake
// backend. Usage (the service worker):
//   const outbox = new ResultOutbox({ storage: chrome.storage.local, send: (m) => conn.request(m) });
//   await outbox.add(resultMessage);   // persisted first, then sent
//   outbox.flush();                    // on reconnect

export const OUTBOX_KEY = 'resultOutbox';
export const MAX_ITEMS = 500;            // beyond this the oldest result is dropped (and said so)
export const RETRY_MS = 15000;
export const PERMANENT = new Set(['unknown_round', 'duplicate_round', 'bad_message', 'bad_json',
  'unknown_type', 'unsupported_version']);

/** The protocol error code at the start of an Error's message ("storage_failed: ..."), or null. */
export function errorCode(err) {
  const m = /^([a-z_]+): /.exec(String(err && err.message ? err.message : err));
  return m ? m[1] : null;
}

export class ResultOutbox {
  /**
   * @param {object} o
   * @param {{get: Function, set: Function}} o.storage  chrome.storage.local (promise API)
   * @param {Function} o.send  (resultMessage) => Promise resolving with the ack
   * @param {object} [o.timers]  setTimeout/clearTimeout (fake clocks in tests)
   * @param {number} [o.retryMs]
   */
  constructor({ storage, send, timers = globalThis, retryMs = RETRY_MS, maxItems = MAX_ITEMS }) {
    Object.assign(this, { storage, send, timers, retryMs, maxItems });
    this.items = null;          // [{msg, addedAt, tries, lastError}], oldest first
    this.dropped = [];          // [{round_id, reason, at}] (the last 50)
    this.retryTimer = null;
    this.flushing = null;
    this.chain = Promise.resolve();
  }

  /** Run fn after every operation queued before it (load/modify/save never interleave). */
  serial(fn) {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  async load() {
    if (this.items === null) {
      const stored = await this.storage.get(OUTBOX_KEY);
      const list = stored && Array.isArray(stored[OUTBOX_KEY]) ? stored[OUTBOX_KEY] : [];
      this.items = list.filter((it) => it && it.msg && typeof it.msg.round_id === 'string');
    }
    return this.items;
  }

  async save() { await this.storage.set({ [OUTBOX_KEY]: this.items }); }

  get size() { return this.items ? this.items.length : 0; }

  has(roundId) { return !!this.items && this.items.some((it) => it.msg.round_id === roundId); }

  drop(roundId, reason) {
    this.dropped.push({ round_id: roundId, reason, at: Date.now() });
    if (this.dropped.length > 50) this.dropped.shift();
  }

  /** Keep a result (persisted before anything is sent), then try to send what is waiting. */
  async add(msg) {
    await this.serial(async () => {
      const items = await this.load();
      const same = items.findIndex((it) => it.msg.round_id === msg.round_id);
      if (same >= 0) items.splice(same, 1);          // the newer result of a round wins
      items.push({ msg, addedAt: Date.now(), tries: 0, lastError: null });
      while (items.length > this.maxItems) this.drop(items.shift().msg.round_id, 'outbox full');
      await this.save();
    });
    if (this.flushing) await this.flushing;   // a flush that began before this result
    return this.flush();
  }

  /**
   * Send the waiting results in order, each until its ack. Stops at the first passing
   * failure (the backend is down or cannot store now) and tries again after retryMs.
   * Resolves with {sent: [round ids acked], pending: count}.
   */
  flush() {
    if (this.flushing) return this.flushing;
    this.flushing = this.serial(async () => {
      const sent = [];
      const items = await this.load();
      while (items.length) {
        const it = items[0];
        try {
          await this.send(it.msg);
          items.shift();
          sent.push(it.msg.round_id);
        } catch (err) {
          const code = errorCode(err);
          if (PERMANENT.has(code)) {
            items.shift();
            this.drop(it.msg.round_id, String(err.message || err));
          } else {
            it.tries += 1;
            it.lastError = String(err && err.message ? err.message : err).slice(0, 300);
            this.scheduleRetry();
            break;
          }
        }
      }
      await this.save();
      return { sent, pending: items.length };
    }).finally(() => { this.flushing = null; });
    return this.flushing;
  }

  scheduleRetry() {
    if (this.retryTimer) return;
    this.retryTimer = this.timers.setTimeout(() => { this.retryTimer = null; this.flush(); }, this.retryMs);
  }

  stop() {
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
