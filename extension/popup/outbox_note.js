// The popup's line about round results the backend has not stored (the service worker's
// status(): resultsWaiting = kept in the outbox and sent again; resultsDropped = refused for
// good since the worker started, lastDropped = why). Empty when nothing is kept or lost.

const count = (v) => (Number.isInteger(v) && v > 0 ? v : 0);
const results = (n) => `${n} result${n === 1 ? '' : 's'}`;

/** status() → one line of text ('' when every result was stored). */
export function outboxNote(status) {
  const s = status || {};
  const waiting = count(s.resultsWaiting);
  const dropped = count(s.resultsDropped);
  const parts = [];
  if (waiting) {
    parts.push(`${results(waiting)} waiting to be stored in the score log ` +
      `(kept here and sent again when the backend can store ${waiting === 1 ? 'it' : 'them'})`);
  }
  if (dropped) {
    const why = typeof s.lastDropped === 'string' && s.lastDropped ? `; last: ${s.lastDropped.slice(0, 160)}` : '';
    parts.push(`${results(dropped)} refused by the backend, not stored${why}`);
  }
  return parts.join('. ');
}
