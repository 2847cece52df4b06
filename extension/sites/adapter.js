// The one interface every site adapter implements (geoguessr.com, the local arena).
//
//   name, source ('geoguessr' | 'arena'), matches(location, document) -> bool
//   currentRound() -> null | {key, gameId, number, mode, open, guessed}
//        key identifies the round uniquely; open: guesses are taken now; guessed: we (or the
//        person) have guessed this round
//   hideUI() / restoreUI()             hide the game's own UI for a clean capture
//   viewCount(n) -> headings to capture (n = 1 or 4)
//   async turnTo(i, n, signal)         face heading i of n and resolve once the frame settled
//   async placeGuess(round, guess, send)   through the site's own guess mechanism
//   async waitForResult(round, signal, send) -> {truth, score, distanceKm, opponent} | null
//        called only after the round's guess; reads the result the site shows
//   async nextRound(round)             go on to the next round (auto mode)
//   onRoundChange(callback) -> unsubscribe   called when the page's round state changes

export const ADAPTER_METHODS = ['matches', 'currentRound', 'hideUI', 'restoreUI', 'viewCount', 'turnTo',
  'placeGuess', 'waitForResult', 'nextRound', 'onRoundChange'];

/** Throw if an adapter misses part of the interface (tests call it on every adapter). */
export function checkAdapter(adapter) {
  const missing = ADAPTER_METHODS.filter((m) => typeof adapter[m] !== 'function');
  if (!adapter.name || !adapter.source) missing.push('name/source');
  if (missing.length) throw new Error(`adapter ${adapter.name || '?'} lacks ${missing.join(', ')}`);
  return adapter;
}

/** Resolve when predicate() is truthy; checked on DOM mutations and every pollMs. */
export function waitFor(predicate, { signal, pollMs = 50, timeoutMs = 0, root = document } = {}) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, v) => { if (done) return; done = true; obs.disconnect(); clearInterval(iv); clearTimeout(to); signal && signal.removeEventListener('abort', onAbort); fn(v); };
    const check = () => { let v; try { v = predicate(); } catch (err) { finish(reject, err); return; } if (v) finish(resolve, v); };
    const onAbort = () => finish(reject, new DOMException('aborted', 'AbortError'));
    const obs = new MutationObserver(check);
    obs.observe(root.documentElement || root, { subtree: true, attributes: true, childList: true });
    const iv = setInterval(check, pollMs);
    const to = timeoutMs ? setTimeout(() => finish(reject, new Error(`timed out after ${timeoutMs} ms`)), timeoutMs) : null;
    if (signal) { if (signal.aborted) { onAbort(); return; } signal.addEventListener('abort', onAbort); }
    check();
  });
}
