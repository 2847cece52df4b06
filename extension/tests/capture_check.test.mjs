// A captured view is judged before it is sent: blank, black, transparent, uniform or nearly
// one-colour views are refused (lib/capture_check.js); real-looking views pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLE_H, SAMPLE_W, judgePixels } from '../lib/capture_check.js';

function image(fn) {
  const a = new Uint8ClampedArray(SAMPLE_W * SAMPLE_H * 4);
  for (let y = 0; y < SAMPLE_H; y += 1) {
    for (let x = 0; x < SAMPLE_W; x += 1) {
      const [r, g, b, al = 255] = fn(x, y);
      a.set([r, g, b, al], 4 * (y * SAMPLE_W + x));
    }
  }
  return a;
}
const judge = (fn) => judgePixels(image(fn), SAMPLE_W, SAMPLE_H);

test('blank, black, transparent and uniform views are refused, each with its reason', () => {
  assert.match(judge(() => [0, 0, 0]).reason, /black/);
  assert.match(judge(() => [0, 0, 0, 0]).reason, /transparent/);
  assert.match(judge(() => [26, 20, 70]).reason, /uniform/);            // the site's loading colour
  assert.match(judge(() => [255, 255, 255]).reason, /uniform/);
  assert.match(judge((x, y) => [120 + ((x + y) % 2), 120, 120]).reason, /uniform/);   // JPEG noise only
  // a loading screen with a small spinner: almost one colour
  assert.match(judge((x, y) => (x > 14 && x < 17 && y > 7 && y < 10 ? [250, 250, 250] : [26, 20, 70])).reason, /almost one colour/);
  assert.equal(judgePixels(new Uint8ClampedArray(0), 0, 0).ok, false);
});

test('views of a place pass: sky over ground, a gradient, the mock\'s coarse tiles', () => {
  assert.equal(judge((x, y) => (y < 8 ? [135, 190, 235] : [70, 110, 40])).ok, true);
  assert.equal(judge((x) => [x * 8, 100, 255 - x * 8]).ok, true);
  assert.equal(judge((x) => [Math.floor(x / 2) * 16, 140, 90]).ok, true);
  const v = judge((x, y) => [(x * 37 + y * 11) % 256, (x * 5) % 256, (y * 13) % 256]);
  assert.ok(v.ok && v.stats.std > 10, JSON.stringify(v.stats));
});
