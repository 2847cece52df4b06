// Popup and options page: the settings form, the connection state, results not yet stored.
import { outboxNote } from './outbox_note.js';

const form = document.querySelector('#settings');
const $ = (s) => document.querySelector(s);

async function ask(type, payload = {}) {
  const answer = await chrome.runtime.sendMessage({ type, ...payload });
  if (!answer || !answer.ok) throw new Error(answer ? answer.error : 'no answer from the worker');
  return answer.value;
}

function fill(s) {
  form.backendUrl.value = s.backendUrl;
  form.token.value = s.token;
  for (const r of form.querySelectorAll('[name=mode]')) r.checked = r.value === s.mode;
  form.delayMinMs.value = s.delayMinMs;
  form.delayMaxMs.value = s.delayMaxMs;
  form.views.value = String(s.views);
  form.overlay.checked = s.overlay;
  form.capture.value = s.capture;
}

function read() {
  const mode = form.querySelector('[name=mode]:checked');
  return { backendUrl: form.backendUrl.value.trim(), token: form.token.value.trim(), mode: mode ? mode.value : 'suggest',
    delayMinMs: Number(form.delayMinMs.value), delayMaxMs: Number(form.delayMaxMs.value),
    views: Number(form.views.value), overlay: form.overlay.checked, capture: form.capture.value };
}

async function refresh() {
  try {
    const st = await ask('status');
    $('#status').textContent = st.state;
    $('#status').className = st.state === 'connected' ? 'good' : 'bad';
    $('#detail').textContent = st.model ? `model ${st.model.id} (${st.model.device})` : st.detail;
    $('#outbox').textContent = outboxNote(st);
  } catch (err) { $('#status').textContent = err.message; }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#errors').textContent = '';
  const errors = await ask('checkSettings', { settings: read() });
  if (errors.length) { $('#errors').textContent = errors.join('\n'); return; }
  fill(await ask('saveSettings', { settings: read() }));
  $('#saved').textContent = 'saved';
  setTimeout(() => { $('#saved').textContent = ''; }, 1500);
  refresh();
});

/** The active tab's hook report (its content script answers; no tab permission needed). */
async function hookReport() {
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  if (!tab) return null;
  try {
    return await chrome.tabs.sendMessage(tab.id, { type: 'pigeonDiagnostics' });
  } catch {
    return null;
  }
}

async function refreshHooks() {
  const report = await hookReport();
  $('#report').textContent = report ? JSON.stringify(report, null, 1) : 'no game page in this tab (or the page was open before the extension: reload it)';
}

$('#copyReport').addEventListener('click', async () => {
  await navigator.clipboard.writeText($('#report').textContent);
  $('#copied').textContent = 'copied';
  setTimeout(() => { $('#copied').textContent = ''; }, 1500);
});

ask('getSettings').then(fill).catch((err) => { $('#errors').textContent = err.message; });
refreshHooks();
refresh();
setInterval(refresh, 1000);
