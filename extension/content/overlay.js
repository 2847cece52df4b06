// The in-page overlay: connection state, the guess, projected score, top-3 countries, latency.
// A closed shadow root keeps the page's CSS out; data-* attributes on the host let tests read it.

const STATE_TEXT = {
  connected: 'connected', connecting: 'connecting…', down: 'backend down', unpaired: 'not paired',
  auth_failed: 'wrong token', error: 'error', off: 'off', idle: 'idle',
};

export class Overlay {
  constructor(doc = document) {
    this.host = doc.createElement('pigeon-bot-overlay');
    this.host.style.cssText = 'position:fixed;top:48px;left:12px;z-index:2147483647;pointer-events:none;';
    const root = this.host.attachShadow({ mode: 'closed' });
    root.innerHTML = `<style>
      .box{font:12px/1.35 system-ui,sans-serif;color:#eee;background:#000c;border-radius:6px;padding:6px 9px;min-width:190px}
      .state{font-weight:600}.down,.auth_failed,.error,.unpaired{color:#ff8a80}.connected{color:#9ccc65}
      .muted{color:#aaa}.miss{color:#ff8a80}
      .copy{pointer-events:auto;font:11px system-ui,sans-serif;margin-top:3px;cursor:pointer}</style>
      <div class="box"><div>pigeon-bot · <span class="state"></span> <span class="mode muted"></span></div>
      <div class="detail muted"></div><div class="guess"></div><div class="countries muted"></div>
      <div class="latency muted"></div>
      <div class="hooks muted"></div><button class="copy" type="button" hidden>copy hook report</button></div>`;
    this.el = (cls) => root.querySelector(`.${cls}`);
    this.el('copy').addEventListener('click', () => this.copyDiagnostics());
    (doc.body || doc.documentElement).append(this.host);
    this.setState('connecting', '');
  }

  setVisible(visible) { this.host.style.display = visible ? '' : 'none'; }

  setState(state, detail, mode) {
    this.host.dataset.state = state;
    const s = this.el('state');
    s.textContent = STATE_TEXT[state] || state;
    s.className = `state ${state}`;
    this.el('detail').textContent = state === 'connected' ? '' : (detail || '');
    if (mode) { this.el('mode').textContent = `(${mode})`; this.host.dataset.mode = mode; }
  }

  setNote(text) {
    this.el('detail').textContent = text;
    this.host.dataset.note = text;
  }

  showGuess(guess) {
    this.host.dataset.guess = `${guess.lat.toFixed(4)},${guess.lng.toFixed(4)}`;
    this.host.dataset.projectedScore = String(Math.round(guess.projected_score));
    this.el('guess').textContent = `guess ${guess.lat.toFixed(3)}, ${guess.lng.toFixed(3)} · projected ${Math.round(guess.projected_score)} pts`;
    const countries = [];
    for (const p of guess.top_k || []) if (p.country && !countries.includes(p.country)) countries.push(p.country);
    this.el('countries').textContent = countries.length ? `top: ${countries.slice(0, 3).join(', ')}` : '';
    this.el('latency').textContent = `model ${Math.round(guess.latency_ms)} ms · round trip ${guess.roundTripMs ?? '?'} ms`;
  }

  clearGuess() {
    delete this.host.dataset.guess;
    this.el('guess').textContent = '';
    this.el('countries').textContent = '';
    this.el('latency').textContent = '';
  }

  /** The hooks a site adapter found (one line here; the whole report is copied in one click). */
  setDiagnostics(report) {
    this.diagnostics = report;
    this.host.dataset.diagnostics = JSON.stringify(report);
    const p = report.pageScript || {};
    const essentials = [['panorama', report.dom && report.dom.panorama !== 'missing'], ['street view', p.streetView && p.streetView !== 'missing'],
      ['canvas', p.sceneCanvas], ['guess map', p.guessMapHooked || (report.dom && report.dom.guessMap !== 'missing')]];
    if (['duels', 'team-duels', 'party'].includes(report.page)) essentials.push(['game state', p.duelsContext]);
    const missing = essentials.filter(([, ok]) => !ok).map(([name]) => name);
    const line = this.el('hooks');
    line.textContent = `${report.page || '?'} · hooks ${essentials.length - missing.length}/${essentials.length}` +
      (missing.length ? ` · missing: ${missing.join(', ')}` : '') + (p.answering === false ? ' · page script not answering' : '');
    line.className = `hooks ${missing.length || p.answering === false ? 'miss' : 'muted'}`;
    this.el('copy').hidden = false;
  }

  async copyDiagnostics() {
    const text = JSON.stringify({ extension: 'pigeon-bot', at: new Date().toISOString(), ...this.diagnostics }, null, 1);
    try {
      await navigator.clipboard.writeText(text);
      this.el('copy').textContent = 'copied';
    } catch {
      this.el('copy').textContent = 'copy failed: open the popup';
    }
    setTimeout(() => { this.el('copy').textContent = 'copy hook report'; }, 1500);
  }

  remove() { this.host.remove(); }
}
