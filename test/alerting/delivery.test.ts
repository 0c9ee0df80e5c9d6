// Delivery under bad receivers: slow ones (timeouts, the per-destination concurrency cap measured
// at the receiver), failing ones (retries with backoff, then counted as failed and warned once),
// permanent errors, Retry-After, a full queue and a shutdown that must not hang.
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { resetWarnings } from '../../dist/esm/warn.js';
import type { DeliveryFailure } from '../../dist/esm/alerting/index.js';
import { closedPort, sleep, waitFor } from '../helpers/server.ts';
import { harness, rateLimitAttrs, type Harness } from './helpers.ts';
import { startReceiver, type Receiver } from './receiver.ts';

const open: Array<Harness | Receiver> = [];
after(async () => { for (const o of open.reverse()) await o.close(); });

const warnings: Array<{ code?: string; message: string }> = [];
const onWarning = (w: Error & { code?: string }): void => { warnings.push({ code: w.code, message: w.message }); };
beforeEach(() => { resetWarnings(); warnings.length = 0; process.on('warning', onWarning); });
afterEach(() => { process.off('warning', onWarning); });

async function receiver(behaviour: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(behaviour);
  open.push(r);
  return r;
}

function track(h: Harness): Harness {
  open.push(h);
  return h;
}

/** Distinct client networks, so each event opens its own aggregate and becomes its own alert. */
function client(i: number): string {
  return `10.${(i >> 8) & 255}.${i & 255}.0`;
}

describe('slow receivers', () => {
  test('never has more than `concurrency` requests in flight per destination, measured at the receiver', async () => {
    const r = await receiver({ delayMs: () => 150 });
    const h = track(harness([{ type: 'slack', url: r.url }], { concurrency: 3 }));
    for (let i = 0; i < 12; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(client(i)));
    // The receiver records a delivery before it answers: wait for the sender's count, not the receiver's.
    await waitFor(() => h.processor.stats.destinations['slack#1']!.sent === 12, 'all 12 alerts delivered', 10_000);
    assert.equal(r.deliveries.length, 12);
    assert.equal(r.maxInFlight(), 3, 'the cap is reached and never exceeded');
    const s = h.processor.stats.destinations['slack#1']!;
    assert.equal(s.maxInFlight, 3);
    assert.equal(s.sent, 12);
    assert.equal(s.failed, 0);
  });

  test('a receiver slower than the timeout is aborted, retried, then counted as failed, without blocking onEmit', async () => {
    const r = await receiver({ delayMs: () => 5000 });
    const failures: DeliveryFailure[] = [];
    const h = track(harness([{ type: 'discord', url: r.url, name: 'ops-discord' }], { timeoutMs: 150, retries: 2, retryBaseMs: 20, onDeliveryFailure: (f) => failures.push(f) }));
    const t0 = performance.now();
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs());
    assert.ok(performance.now() - t0 < 50, 'onEmit returns at once');
    await waitFor(() => failures.length === 1, 'failure reported', 5000);
    assert.equal(r.arrivals.length, 3, 'first attempt + 2 retries');
    assert.deepEqual({ ...failures[0], alertId: undefined }, {
      destination: 'ops-discord', type: 'discord', alertId: undefined, event: 'nis2.rate_limit.exceeded', attempts: 3, reason: 'timeout',
    });
    const s = h.processor.stats.destinations['ops-discord']!;
    assert.equal(s.failed, 1);
    assert.equal(s.retried, 2);
    assert.equal(s.inFlight, 0);
    await waitFor(() => warnings.some((w) => w.code === 'NIS2_WRN_WEBHOOK_FAILED'), 'warning', 2000);
    const w = warnings.find((x) => x.code === 'NIS2_WRN_WEBHOOK_FAILED')!;
    assert.match(w.message, /webhook 'ops-discord' \(discord\).*after 3 attempt\(s\): timeout/);
    assert.ok(!w.message.includes(r.url) && !w.message.includes('127.0.0.1'), 'the URL (a credential) is never in a warning');
  });
});

describe('failing receivers', () => {
  test('500s are retried with growing, jittered backoff, then counted as failed and warned once', async () => {
    const r = await receiver({ status: () => 500 });
    const failures: DeliveryFailure[] = [];
    const h = track(harness([{ type: 'slack', url: r.url }], { retries: 3, retryBaseMs: 80, retryMaxMs: 1000, onDeliveryFailure: (f) => failures.push(f) }));
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs('203.0.113.0'));
    h.emit('nis2.session.hijack_suspected', rateLimitAttrs('203.0.113.0'));
    await waitFor(() => failures.length === 2, 'both alerts given up', 10_000);
    assert.equal(r.arrivals.length, 8, '2 alerts × (1 + 3 retries)');
    assert.ok(failures.every((f) => f.status === 500 && f.reason === 'http_500' && f.attempts === 4));
    const s = h.processor.stats.destinations['slack#1']!;
    assert.equal(s.failed, 2);
    assert.equal(s.retried, 6);
    assert.equal(s.sent, 0);
    // Equal jitter: retry n waits at least half of base × 2^(n-1), so the last attempt comes ≥ 280 ms after the first.
    const span = Math.max(...r.arrivals) - Math.min(...r.arrivals);
    assert.ok(span >= (80 + 160 + 320) / 2 - 10, `total backoff ${span} ms`);
    assert.equal(warnings.filter((w) => w.code === 'NIS2_WRN_WEBHOOK_FAILED').length, 1, 'warned once, not per failure');
  });

  test('retries are spaced by at least half of each exponential step', async () => {
    const r = await receiver({ status: () => 503 });
    const h = track(harness([{ type: 'json', url: r.url, secret: 'a-secret-of-24-characters' }], { retries: 3, retryBaseMs: 100, retryMaxMs: 1000 }));
    h.emit('nis2.defense.degraded', { 'nis2.defense': 'redis' }, 'ERROR');
    await waitFor(() => h.processor.stats.destinations['json#1']!.failed === 1, 'given up', 10_000);
    const a = r.arrivals;
    assert.equal(a.length, 4);
    const gaps = [a[1]! - a[0]!, a[2]! - a[1]!, a[3]! - a[2]!];
    [50, 100, 200].forEach((min, i) => assert.ok(gaps[i]! >= min - 5, `gap ${i + 1} = ${gaps[i]} ms, expected ≥ ${min}`));
    [100, 200, 400].forEach((max, i) => assert.ok(gaps[i]! <= max + 150, `gap ${i + 1} = ${gaps[i]} ms, expected ≤ ${max} + slack`));
  });

  test('a receiver that recovers gets the alert once, with the same delivery id on every attempt', async () => {
    const r = await receiver({ status: (n) => (n < 2 ? 502 : 200) });
    const h = track(harness([{ type: 'json', url: r.url, secret: 'another-secret-0123456789' }]));
    h.emit('nis2.tor.blocked', rateLimitAttrs());
    await waitFor(() => h.processor.stats.destinations['json#1']!.sent === 1, 'delivered after two 502s', 5000);
    assert.equal(r.deliveries.length, 1);
    const s = h.processor.stats.destinations['json#1']!;
    assert.equal(s.sent, 1);
    assert.equal(s.retried, 2);
    assert.equal(s.failed, 0);
    assert.equal(r.arrivals.length, 3);
    const ids = new Set(r.arrivalHeaders.map((x) => x['x-nis2-delivery']));
    assert.equal(ids.size, 1, 'receivers can deduplicate retries on X-NIS2-Delivery');
    assert.equal([...ids][0], r.deliveries[0]!.json['id']);
  });

  test('a permanent 4xx is not retried', async () => {
    const r = await receiver({ status: () => 404 });
    const failures: DeliveryFailure[] = [];
    const h = track(harness([{ type: 'teams', url: r.url }], { onDeliveryFailure: (f) => failures.push(f) }));
    h.emit('nis2.ip.blocked', rateLimitAttrs());
    await waitFor(() => failures.length === 1, 'failure', 5000);
    await sleep(100);
    assert.equal(r.arrivals.length, 1);
    assert.equal(failures[0]!.reason, 'http_404');
    assert.equal(failures[0]!.attempts, 1);
  });

  test('429 waits at least Retry-After before trying again', async () => {
    const r = await receiver({ status: (n) => (n === 0 ? 429 : 200), headers: (n): Record<string, string> => (n === 0 ? { 'Retry-After': '1' } : {}) });
    const h = track(harness([{ type: 'slack', url: r.url }], { retryBaseMs: 10 }));
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs());
    await waitFor(() => r.deliveries.length === 1, 'delivered after Retry-After', 5000);
    assert.ok(r.arrivals[1]! - r.arrivals[0]! >= 990, `waited ${r.arrivals[1]! - r.arrivals[0]!} ms`);
  });

  test('a refused connection is a network failure with its code; a throwing failure hook is contained', async () => {
    const port = await closedPort();
    const failures: DeliveryFailure[] = [];
    const h = track(harness([{ type: 'slack', url: `http://127.0.0.1:${port}/hook` }], {
      retries: 1, onDeliveryFailure: (f) => { failures.push(f); throw new Error('hook bug'); },
    }));
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs());
    await waitFor(() => failures.length === 1, 'failure', 5000);
    assert.equal(failures[0]!.reason, 'network');
    assert.equal(failures[0]!.code, 'ECONNREFUSED');
    assert.equal(h.processor.stats.errors, 1, 'the hook threw; counted, not propagated');
  });

  test('one dead destination does not hold back another', async () => {
    const dead = await receiver({ delayMs: () => 5000 });
    const alive = await receiver({});
    const h = track(harness([{ type: 'slack', url: dead.url, name: 'dead' }, { type: 'slack', url: alive.url, name: 'alive' }], { concurrency: 1, timeoutMs: 3000 }));
    for (let i = 0; i < 5; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(client(i)));
    await waitFor(() => alive.deliveries.length === 5, 'alive got all 5', 3000);
    assert.equal(dead.arrivals.length, 1, 'the dead one is stuck on its first request, alone');
  });
});

describe('bounds', () => {
  test('a full queue drops the oldest alert and counts it', async () => {
    const r = await receiver({ delayMs: () => 300 });
    const h = track(harness([{ type: 'slack', url: r.url }], { concurrency: 1, queueSize: 3 }));
    for (let i = 0; i < 10; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(client(i)));
    await waitFor(() => h.processor.stats.destinations['slack#1']!.sent === 3, 'three delivered', 5000);
    await sleep(400);
    const s = h.processor.stats.destinations['slack#1']!;
    assert.equal(s.queued, 10);
    assert.equal(s.dropped, 7);
    assert.equal(s.sent, 3);
    const keys = r.deliveries.map((d) => (d.json['text'] as string).match(/client network ([\d.]+)/)?.[1]);
    assert.deepEqual(keys, [client(7), client(8), client(9)], 'the newest three survive');
  });

  test('shutdown is bounded by flushTimeoutMs even with a receiver that never answers', async () => {
    const r = await receiver({ delayMs: () => 60_000 });
    const h = harness([{ type: 'slack', url: r.url }], { timeoutMs: 30_000, flushTimeoutMs: 300 });
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs());
    await waitFor(() => r.arrivals.length === 1, 'request on the wire', 2000);
    const t0 = Date.now();
    await h.close();
    const took = Date.now() - t0;
    assert.ok(took < 1500, `shutdown took ${took} ms`);
    const s = h.processor.stats.destinations['slack#1']!;
    assert.equal(s.dropped, 1, 'the aborted alert is counted as dropped');
    assert.equal(s.inFlight, 0);
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs('192.0.2.0'));
    assert.equal(h.processor.stats.received, 1, 'records after shutdown are ignored');
  });
});
