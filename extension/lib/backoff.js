// Reconnect delays: exponential with jitter, capped; reset after a good connection.
export class Backoff {
  constructor({ baseMs = 500, maxMs = 15000, factor = 2, jitter = 0.2, rand = Math.random } = {}) {
    Object.assign(this, { baseMs, maxMs, factor, jitter, rand, attempt: 0 });
  }

  /** The delay before the next attempt (ms), growing with every call. */
  next() {
    const raw = Math.min(this.maxMs, this.baseMs * this.factor ** this.attempt);
    this.attempt += 1;
    const j = 1 + this.jitter * (2 * this.rand() - 1);
    return Math.round(Math.min(this.maxMs, raw * j));
  }

  reset() { this.attempt = 0; }
}
