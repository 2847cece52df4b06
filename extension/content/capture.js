// Capturing a round's views: turn to each heading (the adapter waits until the frame has
// settled), then take the view from the page itself when the adapter can (the panorama's own
// canvas: no HUD, no capture quota), else with a tab capture (chrome.tabs.captureVisibleTab in
// the worker, with the game's UI hidden). Every view is judged (lib/capture_check.js): a blank,
// uniform or broken view is retried once from the next drawn frame, then by tab capture, and
// if still bad the round is refused: never sent (a black screen would get a confident guess).
import { judgeJpeg } from '../lib/capture_check.js';
import { stripDataUrl } from '../lib/protocol.js';

export class CaptureRefused extends Error {}

/** Two painted frames (or 100 ms when frames are throttled). */
export const nextFrames = () => Promise.race([
  new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))), new Promise((r) => setTimeout(r, 100))]);

const normHeading = (h) => (Number.isFinite(h) ? Math.round((((h % 360) + 360) % 360) * 100) / 100 : null);

/**
 * Capture the views of `round`. Returns {views: [{jpeg, heading}], via: 'page'|'tab'|'grid'|mixed}.
 * Throws CaptureRefused (with the reason) when a view stays blank.
 */
export async function captureViews({ adapter, send, settings, overlay, signal, round }) {
  const count = adapter.viewCount(settings.views, round);
  const views = [];
  const vias = new Set();
  const settles = [];   // how each turn settled: quiet / cap / fixed, and after how many ms
  let hidden = false;
  const hide = () => {
    if (hidden) return;
    hidden = true;
    overlay.setVisible(false);
    adapter.hideUI();
  };
  const tabShot = async () => {
    hide();
    await nextFrames();
    return stripDataUrl((await send('capture')).dataUrl);
  };
  try {
    const wantGrid = count > 1 && adapter.showGrid && settings.gridCapture !== false;
    if (wantGrid) hide();
    const grid = wantGrid ? await adapter.showGrid(count, signal) : null;
    if (grid) {
      await nextFrames();
      const shot = await send('capture', { grid: { cols: grid.cols, rows: grid.rows } });
      for (const [i, jpeg] of shot.jpegs.entries()) {
        await judgeOrRefuse(jpeg, i, count);
        views.push({ jpeg, heading: grid.headings[i] });
      }
      return { views, via: 'grid' };
    }
    const fromPage = Boolean(adapter.grabView) && settings.capture !== 'tab';
    if (!fromPage) hide();
    // turn, take the frame, turn on: a page grab copies the frame at once and encodes it while
    // the next turn settles; the views are judged when all are taken
    const taken = [];
    for (let i = 0; i < count; i += 1) {
      const turned = await adapter.turnTo(i, count, signal, round);
      if (turned && turned.settled) settles.push(`${turned.settled}:${turned.waitedMs}`);
      const heading = normHeading(turned && turned.heading);
      if (fromPage) {
        taken.push(adapter.grabView({}).then(async (g) => ({ heading, g, verdict: g.jpeg ? await judgeJpeg(g.jpeg) : { ok: false, reason: g.reason } })));
      } else {
        taken.push(Promise.resolve({ heading, g: { jpeg: await tabShot() }, verdict: null }));
      }
    }
    const shots = await Promise.all(taken);
    for (const [i, { heading, g, verdict }] of shots.entries()) {
      let jpeg = verdict && verdict.ok ? g.jpeg : null;
      let failed = verdict;
      if (!jpeg && fromPage) {   // blank canvas: that view again, read right after its next frame
        await adapter.turnTo(i, count, signal, round);
        const again = await adapter.grabView({ afterDraw: true });
        failed = again.jpeg ? await judgeJpeg(again.jpeg) : { ok: false, reason: again.reason };
        if (failed.ok) jpeg = again.jpeg;
      }
      let via = 'page';
      if (!jpeg) {               // then a tab capture (UI hidden), judged the same way
        if (fromPage) await adapter.turnTo(i, count, signal, round);
        const shot = fromPage ? await tabShot() : g.jpeg;
        const v = await judgeJpeg(shot);
        if (!v.ok) {
          const why = failed && !failed.ok ? `canvas: ${failed.reason}; tab capture: ${v.reason}` : v.reason;
          throw new CaptureRefused(`view ${i + 1} of ${count} is ${why}`);
        }
        jpeg = shot;
        via = 'tab';
      }
      vias.add(via);
      views.push({ jpeg, heading });
    }
    return { views, via: [...vias].join('+'), settles };
  } finally {
    if (adapter.endGrid) adapter.endGrid();
    if (hidden) {
      adapter.restoreUI();
      overlay.setVisible(!settings || settings.overlay);
    }
  }
}

async function judgeOrRefuse(jpeg, i, count) {
  const v = await judgeJpeg(jpeg);
  if (!v.ok) throw new CaptureRefused(`view ${i + 1} of ${count} is ${v.reason}`);
}
