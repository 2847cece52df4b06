// Entry point of the content script: pick the site adapter for this page, run one controller
// while the page is a game page (GeoGuessr is a single-page app: re-checked as the URL changes).
// The popup asks the running controller for its hook diagnostics (`pigeonDiagnostics`).
import { checkAdapter } from '../sites/adapter.js';
import { arenaAdapter } from '../sites/arena/adapter.js';
import { geoguessrAdapter } from '../sites/geoguessr/adapter.js';
import { Controller } from './controller.js';
import { Overlay } from './overlay.js';
import { send } from './messaging.js';

const ADAPTERS = [arenaAdapter, geoguessrAdapter].map(checkAdapter);
let running = null;   // {adapter, abort, overlay, controller}

function check() {
  const adapter = ADAPTERS.find((a) => a.matches(location, document)) || null;
  if (running && running.adapter === adapter && running.href === location.pathname) return;
  if (running) { running.abort.abort(); running.overlay.remove(); running = null; }
  if (!adapter) return;
  const abort = new AbortController();
  const overlay = new Overlay(document);
  const controller = new Controller({ adapter, send, overlay, signal: abort.signal });
  running = { adapter, abort, overlay, controller, href: location.pathname };
  controller.start().catch((err) => {
    if (err.name !== 'AbortError') overlay.setNote(`stopped: ${err.message}`);
  });
}

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || msg.type !== 'pigeonDiagnostics') return false;
  sendResponse(running ? running.controller.diagnostics() : { site: null, page: 'not a game page' });
  return false;
});

// document_start: wait for the page's own markup before the first look; then look again on
// every in-page navigation (a single-page app changes the URL without a reload) and now and then
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', check, { once: true });
else check();
if (globalThis.navigation) globalThis.navigation.addEventListener('navigatesuccess', check);
setInterval(check, 250);
