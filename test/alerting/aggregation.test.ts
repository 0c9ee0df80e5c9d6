// An attack must not turn the app into a webhook cannon: floods become a handful of alerts with
// counts, a distinct-address spray is bounded by the key cap and the alert budget, and each
// destination only gets the events and severities it asked for.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { waitFor, sleep } from '../helpers/server.ts';
import { harness, rateLimitAttrs, type Harness } from './helpers.ts';
import { startReceiver, type Receiver } from './receiver.ts';

const open: Array<Harness | Receiver> = [];
after(async () => { for (const o of open.reverse()) await o.close(); });

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  open.push(r);
  return r;
}

type Json = Record<string, unknown>;

/** Windows close on this clock, so the counts do not depend on how fast a loaded machine emits. */
function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = Date.parse('2026-11-25T10:00:00Z');
  return { now: () => t, advance: (ms) => { t += ms; } };
}
const alerts = (r: Receiver): Json[] => r.deliveries.map((d) => d.json);

describe('aggregation', () => {
  test('a flood of 10,000 events from one network is one alert at once and one summary with the count', async () => {
    const r = await receiver();
    const clock = fakeClock();
    const h = harness([{ type: 'json', url: r.url, secret: 'flood-test-secret-0123' }], { aggregateWindowMs: 60_000, sweepIntervalMs: 20, now: clock.now });
    open.push(h);
    const t0 = performance.now();
    // Raw addresses of one /24: the key is the anonymised network, so they aggregate together.
    for (let i = 0; i < 10_000; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(`203.0.113.${i % 250}`));
    const emitMs = performance.now() - t0;
    await waitFor(() => r.deliveries.length >= 1, 'the first event at once', 5000);
    await sleep(100);
    assert.equal(r.deliveries.length, 1, 'repeats wait for the window to close');
    clock.advance(60_000);
    await waitFor(() => r.deliveries.length >= 2, 'summary when the sweep sees the closed window', 5000);
    await sleep(100);
    const got = alerts(r);
    assert.equal(got.length, 2, `alerts: ${got.map((a) => a['kind']).join(',')}`);
    assert.equal(got[0]!['kind'], 'event');
    assert.equal(got[0]!['count'], 1);
    assert.equal(got[1]!['kind'], 'summary');
    assert.equal(got[1]!['count'], 9_999);
    assert.equal(got[1]!['key'], '203.0.113.0');
    assert.match(got[1]!['summary'] as string, /^9,999 × nis2\.rate_limit\.exceeded from client network 203\.0\.113\.0 between /);
    const s = h.processor.stats.destinations['json#1']!;
    assert.equal(s.matched, 10_000);
    assert.equal(s.aggregated, 9_999);
    assert.equal(s.sent, 2);
    assert.ok(emitMs < 2000, `10,000 onEmit calls took ${emitMs.toFixed(0)} ms`);
  });

  test('a flood from a few networks gives one alert and one summary per network, counts adding up', async () => {
    const r = await receiver();
    const clock = fakeClock();
    const h = harness([{ type: 'slack', url: r.url }], { aggregateWindowMs: 60_000, sweepIntervalMs: 20, now: clock.now });
    open.push(h);
    const nets = ['198.51.100', '198.51.101', '192.0.2', '203.0.113', '10.9.8'];
    for (let i = 0; i < 10_000; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(`${nets[i % 5]}.${(i * 7) % 256}`));
    clock.advance(60_000);
    await waitFor(() => r.deliveries.length >= 10, 'five events + five summaries', 5000);
    await sleep(100);
    assert.equal(r.deliveries.length, 10);
    const counts = alerts(r).map((a) => Number(/^(\d[\d,]*) × /.exec((a['text'] as string).split(': ')[1] ?? '')?.[1]?.replace(/,/g, '') ?? 1));
    assert.equal(counts.reduce((x, y) => x + y, 0), 10_000, 'every event is accounted for');
  });

  test('a spray from 10,000 distinct networks is bounded by the key cap and the alert budget, the rest in one digest', async () => {
    const r = await receiver();
    const clock = fakeClock();
    const h = harness([{ type: 'json', url: r.url, secret: 'spray-test-secret-0123' }], {
      aggregateWindowMs: 60_000, sweepIntervalMs: 20, maxKeys: 100, rate: { points: 5, windowMs: 3_600_000 }, now: clock.now,
    });
    open.push(h);
    for (let i = 0; i < 10_000; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(`10.${i >> 8}.${i & 255}.1`));
    clock.advance(60_000);
    await waitFor(() => alerts(r).some((a) => a['kind'] === 'digest'), 'digest', 5000);
    clock.advance(60_000);
    await sleep(200);
    const got = alerts(r);
    assert.deepEqual(got.map((a) => a['kind']), ['event', 'event', 'event', 'event', 'event', 'digest'], 'the budget (5) plus one digest');
    const digest = got[5]!;
    assert.equal(digest['count'], 10_000 - 5);
    assert.deepEqual(digest['digest'], { events: { 'nis2.rate_limit.exceeded': 9_995 }, alerts: 96 }, '95 keys + the shared `*` key held back');
    assert.equal(h.processor.stats.destinations['json#1']!.budgeted, 96);
    assert.ok(!JSON.stringify(digest).includes('"10.'), 'a digest shows no single client');
  });

  test('past the key cap, new networks share one `*` aggregate whose alert shows no single client', async () => {
    const r = await receiver();
    const clock = fakeClock();
    const h = harness([{ type: 'json', url: r.url, secret: 'overflow-secret-0123456' }], { aggregateWindowMs: 60_000, sweepIntervalMs: 20, maxKeys: 16, now: clock.now });
    open.push(h);
    for (let i = 0; i < 40; i++) h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(`10.0.${i}.9`, { 'user.name.hash': `pseudonym${i}` }));
    clock.advance(60_000);
    await waitFor(() => alerts(r).length >= 18, '16 keys + the shared one and its summary', 5000);
    await sleep(100);
    const star = alerts(r).filter((a) => a['key'] === '*');
    assert.equal(star.length, 2, 'first event of the `*` aggregate, then its summary');
    assert.equal(star[1]!['count'], 23);
    for (const a of star) {
      const attrs = a['attrs'] as Json;
      assert.equal(attrs['client.address'], undefined);
      assert.equal(attrs['user.name.hash'], undefined);
      assert.equal(attrs['security_rule.name'], 'rate_limit');
    }
    assert.equal(alerts(r).length, 16 + 2);
  });

  test('forceFlush closes open windows at once', async () => {
    const r = await receiver();
    const h = harness([{ type: 'discord', url: r.url }], { aggregateWindowMs: 3_600_000 });
    open.push(h);
    for (let i = 0; i < 50; i++) h.emit('nis2.auth.login_failed', rateLimitAttrs('192.0.2.0'));
    await h.processor.forceFlush();
    assert.equal(r.deliveries.length, 2);
    const embed = (r.deliveries[1]!.json['embeds'] as Json[])[0]!;
    const events = (embed['fields'] as Array<{ name: string; value: string }>).find((f) => f.name === 'events');
    assert.equal(events?.value, '49');
  });
});

describe('routing', () => {
  test('each destination gets only its event globs and severities; integrity records and non-nis2 logs never', async () => {
    const [sessions, errorsOnly, defaults, everything] = await Promise.all([receiver(), receiver(), receiver(), receiver()]);
    const h = harness([
      { type: 'json', url: sessions.url, secret: 'routing-secret-012345', events: ['nis2.session.*'], name: 'sessions' },
      { type: 'json', url: errorsOnly.url, secret: 'routing-secret-012345', minSeverity: 'ERROR', name: 'errors' },
      { type: 'json', url: defaults.url, secret: 'routing-secret-012345', name: 'defaults' },
      { type: 'json', url: everything.url, secret: 'routing-secret-012345', events: ['*'], minSeverity: 'INFO', name: 'everything' },
    ]);
    open.push(h);
    h.emit('nis2.session.hijack_suspected', rateLimitAttrs(), 'WARN');
    h.emit('nis2.rate_limit.exceeded', rateLimitAttrs(), 'WARN');
    h.emit('nis2.defense.degraded', { 'nis2.defense': 'redis', 'security_rule.name': 'rate_limit' }, 'ERROR');
    h.emit('nis2.http.access', rateLimitAttrs(), 'INFO');
    h.emit('nis2.integrity.checkpoint', { 'nis2.checkpoint.head': 'x' }, 'ERROR');
    h.emit('nis2.alerting.delivery_failed', {}, 'ERROR');
    h.emit('app.payment.failed', {}, 'ERROR');
    await h.processor.forceFlush();
    const names = (r: Receiver): string[] => alerts(r).map((a) => a['event'] as string).sort();
    assert.deepEqual(names(sessions), ['nis2.session.hijack_suspected']);
    assert.deepEqual(names(errorsOnly), ['nis2.defense.degraded']);
    assert.deepEqual(names(defaults), ['nis2.defense.degraded', 'nis2.rate_limit.exceeded', 'nis2.session.hijack_suspected']);
    assert.deepEqual(names(everything), ['nis2.defense.degraded', 'nis2.http.access', 'nis2.rate_limit.exceeded', 'nis2.session.hijack_suspected']);
    assert.equal(h.processor.stats.received, 4);
  });
});
