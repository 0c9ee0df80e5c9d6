// Distinct-IP spray: the limiter's memory and the event stream must stay bounded however many
// distinct clients an attacker fakes or owns. In-process for the million-key scale, over HTTP for
// the event budget end to end.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { loadConfig, WindowStore } from '../../dist/esm/index.js';
import { RateLimitDefense } from '../../dist/esm/defenses/rate-limit.js';
import type { RequestContext } from '../../dist/esm/defenses/types.js';
import { request } from '../helpers/server.ts';
import { cleanup, spawnApp, verifyEnvelope } from '../helpers/spawn-app.ts';

after(cleanup);

const T0 = 1_800_000_000_000;
const gc = (globalThis as { gc?: () => void }).gc;

/** Heap plus typed-array backing stores (the limiter's tables live in the latter). */
function memory(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('limiter memory under a spray (in-process)', () => {
  test('WindowStore never tracks more than maxKeys keys, whatever maxKeys is', () => {
    const out = { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 };
    const results: string[] = [];
    for (const maxKeys of [1024, 1025, 65_536, 100_000]) {
      const store = new WindowStore({ points: 1, windowMs: 60_000, sliding: true, maxKeys });
      for (let i = 0; i < 1_000_000; i++) store.hit(0xffff_ffff, i, T0 + (i >>> 10), out);
      results.push(`maxKeys ${maxKeys}: size ${store.size}, ${store.bytes} bytes, ${store.evictions} evictions`);
      assert.ok(store.evictions > 0, 'the spray forced evictions');
      assert.ok(store.size <= maxKeys, `size ${store.size} exceeds maxKeys ${maxKeys} (${results.join('; ')})`);
      // README: ≈ 32 bytes per key.
      assert.ok(store.bytes <= maxKeys * 32, `${store.bytes} bytes for maxKeys ${maxKeys} (${results.join('; ')})`);
    }
  });

  test('RateLimitDefense with the default config stays bounded across 2,000,000 distinct client IPs', () => {
    const config = loadConfig({ options: { signing: { key: 'unused' }, export: { eventsFile: '/dev/null' }, rateLimit: { limit: '1/60s' } }, env: {} });
    assert.equal(config.rateLimit.maxKeys, 1_000_000);
    let now = T0;
    const defense = new RateLimitDefense(config, () => now);
    const store = defense.stores.at(-1)!;
    const ctx = { req: { headers: {}, socket: {} }, res: undefined, ip: '', peer: '', viaTrustedProxy: false, method: 'GET', path: '/', span: undefined, headers: undefined, bypass: false } as unknown as RequestContext & { ip: string; headers: unknown };
    const spray = (from: number, to: number): number => {
      let blocked = 0;
      for (let i = from; i < to; i++) {
        ctx.ip = `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
        ctx.headers = undefined;
        if (defense.check(ctx) !== undefined) blocked++;
        if ((i & 0xffff) === 0) now += 1000;
      }
      return blocked;
    };
    const before = memory();
    assert.equal(spray(0, 1_000_000), 0, 'every sprayed address is new, so each first request is allowed');
    const afterFirst = memory();
    assert.equal(spray(1_000_000, 2_000_000), 0);
    const afterSecond = memory();
    if (gc) {
      // The first million fills the table once; the second million must not add anything.
      assert.ok(afterFirst - before <= store.bytes + 16 * 1024 * 1024, `first million grew memory by ${afterFirst - before} bytes (table ${store.bytes})`);
      assert.ok(afterSecond - afterFirst <= 4 * 1024 * 1024, `second million grew memory by ${afterSecond - afterFirst} bytes`);
    }
    // A client seen a moment ago is still remembered after the spray.
    ctx.ip = '192.0.2.44';
    ctx.headers = undefined;
    assert.equal(defense.check(ctx), undefined);
    now += 1000;
    ctx.headers = undefined;
    assert.notEqual(defense.check(ctx), undefined, 'the limit still applies right after a spray');
    assert.ok(store.bytes <= config.rateLimit.maxKeys * 32, `bytes ${store.bytes}`);
    assert.ok(store.size <= config.rateLimit.maxKeys, `size ${store.size} exceeds rateLimit.maxKeys ${config.rateLimit.maxKeys}`);
  });

  test('a full table evicts the least recently seen key, also when the whole spray falls within one second', () => {
    // Each address sends two requests with 7 other new addresses in between (as 8 concurrent
    // clients would). With least-recently-used eviction an address is forgotten between its two
    // requests only if 8 newer keys land in its 8-way set meanwhile: practically never. Evicting
    // a just-inserted key instead hands the sprayer a fresh bucket for its second request.
    const store = new WindowStore({ points: 1, windowMs: 60_000, sliding: false, maxKeys: 1024 });
    const out = { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 };
    const n = 20_000;
    const lag = 7;
    let forgotten = 0;
    for (let i = 0; i < n + lag; i++) {
      if (i < n) assert.equal(store.hit(0xffff_ffff, i, T0 + 100, out).allowed, true);
      if (i >= lag && store.hit(0xffff_ffff, i - lag, T0 + 100, out).allowed) forgotten++;
    }
    assert.ok(store.evictions > n / 2, 'the spray overflowed the table');
    assert.equal(forgotten, 0, `${forgotten} of ${n} addresses were forgotten between their two requests (second request allowed)`);
  });
});

describe('event stream under a spray over HTTP', () => {
  test('3,000 requests from 1,500 forwarded addresses: events stay within the budget, the rest is counted, legitimate clients are served', async () => {
    const budget = 50;
    const app = await spawnApp({
      app: 'http.cjs',
      env: {
        NIS2_TRUSTED_PROXY_HOPS: '1',
        NIS2_RATE_LIMIT: '1/60s',
        NIS2_RATE_LIMIT_MAX_KEYS: '1024',
        NIS2_EVENTS_BUDGET: String(budget),
      },
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const started = Date.now();
      const addresses = 1500;
      const counts = { 200: 0, 429: 0, other: 0 };
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < addresses) {
          const i = next++;
          const ip = `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
          for (let k = 0; k < 2; k++) {
            const r = await request(app.port, { path: `/spray/${i}`, headers: { 'x-forwarded-for': ip }, agent });
            if (r.status === 200 || r.status === 429) counts[r.status]++;
            else counts.other++;
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      // Eviction order is tested in-process above; here every address's first request is allowed
      // and (nearly) every second one blocked, so the flood is real.
      assert.equal(counts.other, 0);
      assert.equal(counts[200] + counts[429], 2 * addresses);
      assert.ok(counts[429] >= addresses * 0.9, `blocked ${counts[429]} of ${addresses} second requests`);
      const blocked = counts[429];

      const legit = await request(app.port, { path: '/home', headers: { 'x-forwarded-for': '198.51.100.10' }, agent });
      assert.equal(legit.status, 200, 'a legitimate client is still served during the spray');

      const exit = await app.stop('SIGTERM');
      const seconds = Math.ceil((Date.now() - started) / 1000);
      assert.equal(exit.signal, 'SIGTERM');
      const events = app.events();
      const byName = new Map<string, number>();
      for (const e of events) byName.set(e.event, (byName.get(e.event) ?? 0) + 1);
      const summary = JSON.stringify(Object.fromEntries(byName));

      assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i), 'no gaps in the stream');
      assert.equal(events.at(-1)?.event, 'nis2.integrity.stream_end');

      const exceeded = events.filter((e) => e.event === 'nis2.rate_limit.exceeded');
      const suppressed = events.filter((e) => e.event === 'nis2.events.suppressed');
      assert.ok(exceeded.length >= 1, summary);
      assert.ok(exceeded.length <= budget * (seconds + 1), `${exceeded.length} events in ${seconds}s exceed the budget of ${budget}/s: ${summary}`);
      assert.ok(suppressed.length >= 1, `a nis2.events.suppressed record says what was left out: ${summary}`);
      assert.ok(suppressed.length <= seconds + 2, `one suppressed summary per second at most: ${summary}`);
      let suppressedCount = 0;
      for (const s of suppressed) {
        const n = s.attrs['nis2.suppressed.count'];
        assert.equal(typeof n, 'number');
        assert.ok((n as number) > 0);
        assert.deepEqual(s.attrs['nis2.suppressed.events'], ['nis2.rate_limit.exceeded']);
        assert.equal(s.attrs['nis2.suppressed.by_event.nis2.rate_limit.exceeded'], n);
        suppressedCount += n as number;
      }
      assert.equal(exceeded.length + suppressedCount, blocked, `every blocked request is either written or counted: ${summary}`);
      const integrity = events.filter((e) => e.event.startsWith('nis2.integrity.')).length;
      assert.ok(integrity <= 2 + seconds + Math.ceil(events.length / 1000) + 1, summary);
      assert.equal(events.length, exceeded.length + suppressed.length + integrity, `only expected records: ${summary}`);
      for (const e of events.slice(0, 20)) assert.ok(verifyEnvelope(JSON.stringify(e)), `record ${e.seq} verifies`);
    } finally {
      agent.destroy();
      await app.stop('SIGKILL');
    }
  });
});
