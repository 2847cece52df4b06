// Entry point of the content script: pick the site adapter for this page, run one controller
// while the page is a game page (GeoGuessr is a single-page app: re-checked as the URL changes).
import { checkAdapter } from '../sites/adapter.js';
import { arenaAdapter } from '../sites/arena/adapter.js';
import { geoguessrAdapter } from '../sites/geoguessr/adapter.js';
import { Controller } from './controller.js';
import { Overlay } from './overlay.js';
import { send } from './messaging.js';

const ADAPTERS = [arenaAdapter, geoguessrAdapter].map(checkAdapter);
let running = null;   // {adapter, abort, overlay}

function check() {
  const adapter = ADAPTERS.find((a) => a.matches(location, document)) || null;
  if (running && running.adapter === adapter && running.href === location.pathname) return;
  if (running) { running.abort.abort(); running.overlay.remove(); running = null; }
  if (!adapter) return;
  const abort = new AbortController();
  const overlay = new Overlay(document);
  running = { adapter, abort, overlay, href: location.pathname };
  document.documentElement.dataset.pigeonBot = adapter.name;
  new Controller({ adapter, send, overlay, signal: abort.signal }).start().catch((err) => {
    if (err.name !== 'AbortError') overlay.setNote(`stopped: ${err.message}`);
  });
}

check();
setInterval(check, 1000);
