import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, humanDelay, validateSettings } from '../lib/settings.js';
import { Backoff } from '../lib/backoff.js';
import { isAllowedSiteUrl, duelsGuessRequest, classicGuessRequest, arenaResultRequest } from '../lib/site_requests.js';
import { checkAdapter } from '../sites/adapter.js';

test('defaults are valid and suggest (never guesses) by default', () => {
  const { settings, errors } = validateSettings({});
  assert.deepEqual(errors, []);
  assert.equal(settings.mode, 'suggest');
  assert.equal(DEFAULTS.views, 4);
});

test('bad settings are refused with one sentence each', () => {
  const { errors } = validateSettings({ backendUrl: 'http://x', mode: 'yolo', delayMinMs: 5000, delayMaxMs: 100, views: 3 });
  assert.equal(errors.length, 4);
  assert.match(errors.join(' '), /ws:\/\//);
  assert.match(validateSettings({ backendUrl: 'not a url' }).errors[0], /not a URL/);
  assert.match(validateSettings({ backendUrl: 'ws://127.0.0.1:8765/?token=abc' }).errors[0], /token field/);
});

test('human delay stays in range', () => {
  const s = validateSettings({ delayMinMs: 1000, delayMaxMs: 3000 }).settings;
  assert.equal(humanDelay(s, () => 0), 1000);
  assert.equal(humanDelay(s, () => 0.999999), 3000);
});

test('backoff grows and caps', () => {
  const b = new Backoff({ baseMs: 500, maxMs: 4000, jitter: 0 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [500, 1000, 2000, 4000, 4000]);
  b.reset();
  assert.equal(b.next(), 500);
});

test('the worker calls only game URLs', () => {
  assert.ok(isAllowedSiteUrl('http://127.0.0.1:8080/api/games/ab/guess?t=x'));
  assert.ok(isAllowedSiteUrl(duelsGuessRequest('g-1', 1, 2, 3).url));
  assert.ok(isAllowedSiteUrl(classicGuessRequest('Tok', 1, 2).url));
  assert.ok(!isAllowedSiteUrl('https://evil.example/api/games/x'));
  assert.ok(!isAllowedSiteUrl('http://127.0.0.1:8765/healthz'));
  assert.ok(!isAllowedSiteUrl('https://maps.googleapis.com/maps/api/js/GeoPhotoService.GetMetadata'));
  const d = duelsGuessRequest('g-1', 1, 2, 3);
  assert.deepEqual(d.body, { lat: 1, lng: 2, roundNumber: 3 });
  assert.equal(d.headers['x-client'], 'web');
  assert.equal(d.credentials, 'include');
  assert.ok(d.retryOn400 > 0);
  assert.deepEqual(classicGuessRequest('Tok', 1, 2).body, { token: 'Tok', lat: 1, lng: 2, timedOut: false });
  assert.match(arenaResultRequest('http://127.0.0.1:1', 'g', 't', 2).url, /\/rounds\/2\/result\?t=t$/);
});

test('adapters implement the one interface', async () => {
  globalThis.location = new URL('http://127.0.0.1/');   // the adapters read it lazily
  const { arenaAdapter } = await import('../sites/arena/adapter.js');
  const { geoguessrAdapter } = await import('../sites/geoguessr/adapter.js');
  assert.equal(checkAdapter(arenaAdapter).source, 'arena');
  assert.equal(checkAdapter(geoguessrAdapter).source, 'geoguessr');
  assert.throws(() => checkAdapter({ name: 'x', source: 'y' }), /lacks/);
});
