// The extension's settings: defaults, validation, storage (chrome.storage.local).
// Validation is pure (tested with node --test); load/save need chrome.storage.

export const MODES = ['off', 'suggest', 'auto'];
export const DEFAULTS = Object.freeze({
  backendUrl: 'ws://127.0.0.1:8765/',
  token: '',
  mode: 'suggest',        // off: do nothing; suggest: show the pin, never guess; auto: place it
  delayMinMs: 1500,       // human-like delay before an auto guess: uniform in [min, max]
  delayMaxMs: 4000,
  views: 4,               // 4 headings, or 1 (the quick one-view mode)
  overlay: true,
  gridCapture: true,      // on sites that can show every heading at once (the arena): one capture
  capture: 'page',        // page: the panorama's own canvas where the site allows (tab capture as fallback); tab: always the tab
});
export const CAPTURES = ['page', 'tab'];

/** Check and normalise settings; returns {settings, errors: [one sentence each]}. */
export function validateSettings(input) {
  const s = { ...DEFAULTS, ...(input || {}) };
  const errors = [];
  try {
    const u = new URL(String(s.backendUrl));
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') errors.push(`backend URL must start with ws:// or wss:// (got ${u.protocol})`);
    if (u.username || u.password || u.search.includes('token')) errors.push('put the token in the token field, not in the URL');
  } catch {
    errors.push(`backend URL ${JSON.stringify(String(s.backendUrl))} is not a URL; use e.g. ws://127.0.0.1:8765/`);
  }
  s.token = String(s.token || '').trim();
  if (s.token.length > 256) errors.push('the token is longer than 256 characters');
  if (!MODES.includes(s.mode)) errors.push(`mode must be one of ${MODES.join(', ')}`);
  s.delayMinMs = Number(s.delayMinMs);
  s.delayMaxMs = Number(s.delayMaxMs);
  if (!Number.isFinite(s.delayMinMs) || s.delayMinMs < 0 || s.delayMinMs > 120000) errors.push('minimum delay must be 0..120000 ms');
  if (!Number.isFinite(s.delayMaxMs) || s.delayMaxMs < s.delayMinMs || s.delayMaxMs > 120000) errors.push('maximum delay must be at least the minimum and at most 120000 ms');
  s.views = Number(s.views);
  if (s.views !== 1 && s.views !== 4) errors.push('views must be 1 or 4');
  s.overlay = Boolean(s.overlay);
  s.gridCapture = s.gridCapture !== false;
  if (!CAPTURES.includes(s.capture)) errors.push(`capture must be one of ${CAPTURES.join(', ')}`);
  return { settings: s, errors };
}

/** A delay in [min, max] ms; rand() in [0, 1) (injectable for tests). */
export function humanDelay(settings, rand = Math.random) {
  return Math.round(settings.delayMinMs + rand() * (settings.delayMaxMs - settings.delayMinMs));
}

export async function loadSettings() {
  const stored = await chrome.storage.local.get('settings');
  return validateSettings(stored.settings).settings;
}

export async function saveSettings(input) {
  const { settings, errors } = validateSettings(input);
  if (errors.length) throw new Error(errors.join('; '));
  await chrome.storage.local.set({ settings });
  return settings;
}
