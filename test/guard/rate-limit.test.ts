// Rate limiting end to end: real servers (http, https, the http2 compatibility API, Express,
// Fastify; CommonJS under --require and ESM under --import) in child processes, plus the limiter's
// algorithms in-process with an injected clock.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, describe, test } from 'node:test';
import { loadConfig, type Nis2Options } from '../../dist/esm/index.js';
import { RateLimitDefense } from '../../dist/esm/defenses/rate-limit.js';
import type { RequestContext, Verdict } from '../../dist/esm/defenses/types.js';
import {
  h2request, parseRateLimitHeaders, rawRequest, request, selfSignedCert, upgradeRequest, waitFor,
  type Response,
} from '../helpers/server.ts';
import { cleanup, spawnApp, tempDir, type Hook } from '../helpers/spawn-app.ts';

after(cleanup);

const COUNT_ROUTE = 'GET /count=100000/60s';

type Client = {
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): void;
};

function http1Client(port: number, protocol: 'http' | 'https', ca?: string): Client {
  return { get: (path, headers) => request(port, { path, headers, protocol, ca }), close: () => undefined };
}

function h2Client(port: number, ca: string): Client {
  const session = http2.connect(`https://localhost:${port}`, { ca, host: '127.0.0.1', servername: 'localhost' } as http2.SecureClientSessionOptions);
  session.on('error', () => undefined);
  return { get: (path, headers) => h2request(session, path, headers), close: () => session.close() };
}

async function appCount(client: Client): Promise<number> {
  const r = await client.get('/count');
  assert.equal(r.status, 200, `/count must be exempt from the limit (got ${r.status} ${r.body})`);
  return (JSON.parse(r.body) as { calls: number }).calls;
}

function headerOf(r: Response, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

let tls: { keyPath: string; certPath: string; cert: string } | undefined;
function certificate(): { keyPath: string; certPath: string; cert: string } {
  tls ??= selfSignedCert(tempDir('tls'));
  return tls;
}

const servers: Array<{ name: string; app: string; hook: Hook; protocol: 'http' | 'https' | 'http2' }> = [
  { name: 'plain http (CommonJS, --require)', app: 'http.cjs', hook: 'require', protocol: 'http' },
  { name: 'https (CommonJS, --require)', app: 'http.cjs', hook: 'require', protocol: 'https' },
  { name: 'http2 compatibility API over TLS (CommonJS, --require)', app: 'http.cjs', hook: 'require', protocol: 'http2' },
  { name: 'Express (CommonJS, --require)', app: 'express.cjs', hook: 'require', protocol: 'http' },
  { name: 'Fastify (CommonJS, --require)', app: 'fastify.cjs', hook: 'require', protocol: 'http' },
  { name: 'Express (ESM, --import)', app: 'express.mjs', hook: 'import', protocol: 'http' },
];

describe('over-limit requests on real servers', () => {
  for (const s of servers) {
    test(`${s.name}: answers 429 with Retry-After and RateLimit headers and never calls the app handler`, async () => {
      const env: Record<string, string> = { NIS2_RATE_LIMIT: '3/60s', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE, NIS2_RATE_LIMIT_HEADERS: 'true', APP_PROTOCOL: s.protocol };
      if (s.protocol !== 'http') {
        env['APP_TLS_KEY'] = certificate().keyPath;
        env['APP_TLS_CERT'] = certificate().certPath;
      }
      const app = await spawnApp({ app: s.app, hook: s.hook, env });
      const client = s.protocol === 'http2' ? h2Client(app.port, certificate().cert)
        : http1Client(app.port, s.protocol, s.protocol === 'https' ? certificate().cert : undefined);
      try {
        const allowed: Response[] = [];
        for (let i = 0; i < 3; i++) allowed.push(await client.get(`/item/${i}`, { accept: 'application/json' }));
        const blocked: Response[] = [];
        for (let i = 0; i < 2; i++) blocked.push(await client.get(`/item/x${i}`, { accept: 'application/json' }));
        const html = await client.get('/page', { accept: 'text/html,application/xhtml+xml;q=0.9' });

        assert.deepEqual(allowed.map((r) => r.status), [200, 200, 200], allowed.map((r) => r.body).join(' | '));
        assert.ok(allowed[0]!.body.startsWith('ok GET /item/0'), allowed[0]!.body);
        // Allowed responses carry the current state too when rateLimit.headers is on (off by default).
        assert.deepEqual(allowed.map((r) => parseRateLimitHeaders(r.headers).policy), Array(3).fill({ name: 'default', q: 3, w: 60 }));
        assert.deepEqual(allowed.map((r) => parseRateLimitHeaders(r.headers).limit?.r), [2, 1, 0]);

        for (const r of [...blocked, html]) {
          assert.equal(r.status, 429, r.body);
          const retry = headerOf(r, 'retry-after');
          assert.match(retry ?? '', /^[1-9]\d*$/, 'Retry-After is delay-seconds');
          assert.ok(Number(retry) <= 120, `Retry-After ${retry} stays within two windows`);
          const { policy, limit } = parseRateLimitHeaders(r.headers);
          assert.deepEqual(policy, { name: 'default', q: 3, w: 60 }, `RateLimit-Policy: ${headerOf(r, 'ratelimit-policy')}`);
          assert.deepEqual(limit, { name: 'default', r: 0, t: Number(retry) }, `RateLimit: ${headerOf(r, 'ratelimit')}`);
          assert.equal(headerOf(r, 'cache-control'), 'no-store');
        }
        for (const r of blocked) {
          assert.match(headerOf(r, 'content-type') ?? '', /^application\/json/);
          const body = JSON.parse(r.body) as Record<string, unknown>;
          assert.deepEqual(Object.keys(body).sort(), ['error', 'reason', 'requestId']);
          assert.equal(body['error'], 'too_many_requests');
          assert.equal(body['reason'], 'limit_exceeded');
          assert.equal(typeof body['requestId'], 'string');
          assert.ok((body['requestId'] as string).length >= 16);
        }
        assert.notEqual(JSON.parse(blocked[0]!.body).requestId, JSON.parse(blocked[1]!.body).requestId, 'one request id per request');
        assert.match(headerOf(html, 'content-type') ?? '', /^text\/html/);
        assert.match(html.body, /<html[\s>]/i);
        assert.match(html.body, /429/);
        assert.doesNotMatch(html.body, /limit_exceeded|stack|at \w+ \(/, 'the page leaks no internals');

        assert.equal(await appCount(client), 3, 'the app handler ran for the allowed requests only');

        const ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded'), 'a nis2.rate_limit.exceeded record in the events file');
        assert.equal(ev.attrs['nis2.action'], 'block');
        assert.equal(ev.attrs['http.response.status_code'], 429);
        assert.equal(ev.attrs['url.path'], '/item/x0');
        assert.equal(ev.attrs['nis2.rate_limit.limit'], 3);
        assert.equal(ev.attrs['client.address'], '127.0.0.0');
      } finally {
        client.close();
        await app.stop('SIGKILL');
      }
    });
  }
});

describe('policies and modes (child process, plain http)', () => {
  test('per-route policy limits only its method and path; other routes use the default policy', async () => {
    const app = await spawnApp({
      app: 'http.cjs',
      env: { NIS2_RATE_LIMIT: '100/60s', NIS2_RATE_LIMIT_ROUTES: `POST /login=2/60s, ${COUNT_ROUTE}`, NIS2_RATE_LIMIT_HEADERS: 'true' },
    });
    const client = http1Client(app.port, 'http');
    try {
      const logins: Response[] = [];
      for (let i = 0; i < 3; i++) logins.push(await request(app.port, { method: 'POST', path: '/login', body: 'u=a' }));
      assert.deepEqual(logins.map((r) => r.status), [200, 200, 429]);
      assert.deepEqual(parseRateLimitHeaders(logins[2]!.headers).policy?.q, 2);
      assert.deepEqual(parseRateLimitHeaders(logins[2]!.headers).policy?.w, 60);
      const getLogin = await request(app.port, { method: 'GET', path: '/login' });
      assert.equal(getLogin.status, 200, 'GET /login is not covered by the POST policy');
      assert.deepEqual(parseRateLimitHeaders(getLogin.headers).policy, { name: 'default', q: 100, w: 60 });
      const other = await request(app.port, { method: 'POST', path: '/login/extra' });
      assert.equal(other.status, 200, 'the route pattern is anchored');
      assert.equal(await appCount(client), 4);
      const ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded'), 'rate-limit event');
      assert.equal(ev.attrs['url.path'], '/login');
      assert.equal(ev.attrs['http.request.method'], 'POST');
      assert.equal(ev.attrs['nis2.rate_limit.limit'], 2);
      assert.equal(ev.attrs['nis2.rate_limit.window_s'], 60);
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('fixed window: a client that waits Retry-After seconds is served again', async () => {
    const app = await spawnApp({
      app: 'http.cjs',
      env: { NIS2_RATE_LIMIT: '2/1s', NIS2_RATE_LIMIT_ALGORITHM: 'fixed', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE },
    });
    try {
      // Align to the start of a second so the burst stays within one fixed window.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const burst: Response[] = [];
      for (let i = 0; i < 3; i++) burst.push(await request(app.port, { path: '/x' }));
      assert.deepEqual(burst.map((r) => r.status), [200, 200, 429]);
      const retry = Number(burst[2]!.headers['retry-after']);
      assert.equal(retry, 1, 'a 1 s fixed window never asks for more than 1 s');
      await new Promise((r) => setTimeout(r, retry * 1000));
      assert.equal((await request(app.port, { path: '/x' })).status, 200);
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('monitor mode (NIS2_MODE=monitor) lets over-limit requests through and reports nis2.action=monitor', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_MODE: 'monitor', NIS2_RATE_LIMIT: '1/60s', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE } });
    const client = http1Client(app.port, 'http');
    try {
      const rs: Response[] = [];
      for (let i = 0; i < 3; i++) rs.push(await request(app.port, { path: '/m' }));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
      assert.equal(rs[2]!.body, 'ok GET /m', 'the app answered');
      assert.equal(await appCount(client), 3);
      const ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded'), 'monitor event');
      assert.equal(ev.attrs['nis2.action'], 'monitor');
      assert.equal(ev.attrs['security_rule.name'], 'rate_limit');
      assert.equal(ev.attrs['http.response.status_code'], undefined, 'nothing was blocked, so no block status is claimed');
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('rateLimit.mode=off never limits and writes no rate-limit events', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT_MODE: 'off', NIS2_RATE_LIMIT: '1/60s' } });
    try {
      const rs: Response[] = [];
      for (let i = 0; i < 5; i++) rs.push(await request(app.port, { path: '/o' }));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200]);
      assert.equal(rs[0]!.headers['ratelimit'], undefined);
      assert.equal(rs[0]!.headers['ratelimit-policy'], undefined);
      const exit = await app.stop('SIGTERM');
      assert.equal(exit.signal, 'SIGTERM');
      const events = app.events().map((e) => e.event);
      assert.equal(events[0], 'nis2.integrity.stream_start');
      assert.equal(events.at(-1), 'nis2.integrity.stream_end');
      assert.ok(!events.includes('nis2.rate_limit.exceeded'), events.join(','));
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('an upgrade request over the limit gets a raw 429 on the socket and the upgrade listener never runs', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '100/60s', NIS2_RATE_LIMIT_ROUTES: `GET /ws=1/60s, ${COUNT_ROUTE}` } });
    try {
      const first = await rawRequest(app.port, upgradeRequest('/ws'));
      assert.match(first, /^HTTP\/1\.1 101 /);
      const second = await rawRequest(app.port, upgradeRequest('/ws'));
      assert.match(second, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
      const [head, body] = second.split('\r\n\r\n');
      assert.match(head!, /\r\nRetry-After: [1-9]\d*\r\n/i);
      assert.match(head!, /\r\nRateLimit-Policy: "[^"]+";q=1;w=60(\r\n|$)/i);
      assert.match(head!, /\r\nConnection: close(\r\n|$)/i);
      const json = JSON.parse(body!) as Record<string, unknown>;
      assert.equal(json['error'], 'too_many_requests');
      assert.equal(typeof json['requestId'], 'string');
      const count = JSON.parse((await request(app.port, { path: '/count' })).body) as { upgrades: number; calls: number };
      assert.equal(count.upgrades, 1);
      assert.equal(count.calls, 0);
    } finally {
      await app.stop('SIGKILL');
    }
  });
});

// ---------------------------------------------------------------- in-process, injected clock

const T0 = 1_800_000_000_000; // aligned to 1 s, 10 s and 60 s windows

function defense(options: Nis2Options, now: { t: number }): RateLimitDefense {
  const config = loadConfig({ options: { signing: { key: 'unused' }, export: { eventsFile: '/dev/null' }, ...options }, env: {} });
  return new RateLimitDefense(config, () => now.t);
}

function ctx(ip: string, method = 'GET', path = '/'): RequestContext {
  return { req: { headers: {}, socket: {} } as never, res: undefined, ip, peer: ip, viaTrustedProxy: false, method, path, span: undefined, headers: undefined, bypass: false };
}

function status(d: RateLimitDefense, c: RequestContext): 200 | 429 {
  const v = d.check(c) as Verdict | undefined;
  return v === undefined ? 200 : 429;
}

describe('algorithms (in-process, injected clock)', () => {
  test('fixed window allows a double burst across the boundary; sliding window blocks it', () => {
    const now = { t: T0 + 9_000 };
    const fixed = defense({ rateLimit: { limit: '3/10s', algorithm: 'fixed' } }, now);
    const sliding = defense({ rateLimit: { limit: '3/10s', algorithm: 'sliding' } }, now);
    const f: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < 3; i++) { f.push(status(fixed, ctx('192.0.2.1'))); s.push(status(sliding, ctx('192.0.2.1'))); }
    now.t = T0 + 10_500; // 0.5 s into the next window
    for (let i = 0; i < 3; i++) { f.push(status(fixed, ctx('192.0.2.1'))); s.push(status(sliding, ctx('192.0.2.1'))); }
    assert.deepEqual(f, [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(s, [200, 200, 200, 429, 429, 429]);
  });

  test('fixed window: Retry-After is the time left in the window', () => {
    const now = { t: T0 + 2_400 };
    const d = defense({ rateLimit: { limit: '1/10s', algorithm: 'fixed' } }, now);
    assert.equal(status(d, ctx('192.0.2.2')), 200);
    const v = d.check(ctx('192.0.2.2')) as Verdict;
    assert.equal(v.status, 429);
    const h = new Map(v.headers);
    assert.equal(h.get('Retry-After'), '8'); // ceil(7.6 s)
    assert.equal(h.get('RateLimit-Policy'), '"default";q=1;w=10');
    assert.equal(h.get('RateLimit'), '"default";r=0;t=8');
  });

  for (const algorithm of ['fixed', 'sliding'] as const) {
    test(`${algorithm}: waiting Retry-After after any burst is always enough and one second less is not`, () => {
      for (const points of [1, 3, 10]) {
        for (const burst of [points + 1, points + 3, 3 * points + 2]) {
          for (const offsetMs of [0, 1_234, 5_000, 9_999]) {
            const now = { t: T0 + 100_000 + offsetMs };
            const d = defense({ rateLimit: { limit: `${points}/10s`, algorithm } }, now);
            let last: Verdict | undefined;
            for (let i = 0; i < burst; i++) last = (d.check(ctx('198.51.100.9')) as Verdict | undefined) ?? last;
            assert.ok(last, `burst ${burst} over ${points} must be blocked`);
            const retryS = Number(new Map(last.headers).get('Retry-After'));
            const label = `${algorithm} ${points}/10s burst ${burst} at +${offsetMs} ms: Retry-After ${retryS}`;
            // Probe "one second earlier" on a twin that saw the same burst.
            const twinNow = { t: now.t };
            const twin = defense({ rateLimit: { limit: `${points}/10s`, algorithm } }, twinNow);
            for (let i = 0; i < burst; i++) twin.check(ctx('198.51.100.9'));
            now.t += retryS * 1000;
            assert.equal(status(d, ctx('198.51.100.9')), 200, label);
            if (retryS > 1) {
              twinNow.t += (retryS - 1) * 1000 - 1;
              assert.equal(status(twin, ctx('198.51.100.9')), 429, `${label} (1 s less is not enough)`);
            }
          }
        }
      }
    });
  }

  test('per-route patterns: `*` stays within a segment, `**` crosses segments, first match wins', () => {
    const now = { t: T0 };
    const d = defense({ rateLimit: { limit: '100/60s', routes: 'GET /api/*/items=1/60s, /files/**=1/60s, GET /api/**=2/60s' } }, now);
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/api/a/items')), 200);
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/api/b/items')), 429, 'one policy bucket per client for the whole pattern');
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/files/x/y/z')), 200);
    assert.equal(status(d, ctx('192.0.2.7', 'PUT', '/files/other')), 429, 'no method means every method');
    // /api/a/b/items does not match `/api/*/items` (one segment) but does match `/api/**`.
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/api/a/b/items')), 200);
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/api/c')), 200);
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/api/d')), 429);
    assert.equal(status(d, ctx('192.0.2.7', 'GET', '/other')), 200, 'default policy');
  });

  test('IPv6 clients share one bucket per /56 by default', () => {
    const now = { t: T0 };
    const d = defense({ rateLimit: { limit: '2/60s' } }, now);
    assert.equal(status(d, ctx('2001:db8:1:ab00::1')), 200);
    assert.equal(status(d, ctx('2001:db8:1:abff:ffff:ffff:ffff:ffff')), 200, 'same /56');
    assert.equal(status(d, ctx('2001:db8:1:ab42::9')), 429, 'third address of the same /56 is over the limit');
    assert.equal(status(d, ctx('2001:db8:1:ac00::1')), 200, 'the next /56 is another subscriber');
    assert.equal(status(d, ctx('2001:db8:2:ab00::1')), 200);
  });

  test('IPv6 prefix is configurable: /64 separates what /56 groups, /128 limits per address', () => {
    const now = { t: T0 };
    const d64 = defense({ rateLimit: { limit: '1/60s', ipv6Prefix: 64 } }, now);
    assert.equal(status(d64, ctx('2001:db8:1:ab00::1')), 200);
    assert.equal(status(d64, ctx('2001:db8:1:ab01::1')), 200, 'another /64');
    assert.equal(status(d64, ctx('2001:db8:1:ab00:ffff::2')), 429, 'same /64');
    const d128 = defense({ rateLimit: { limit: '1/60s', ipv6Prefix: 128 } }, now);
    assert.equal(status(d128, ctx('2001:db8::1')), 200);
    assert.equal(status(d128, ctx('2001:db8::2')), 200);
    assert.equal(status(d128, ctx('2001:db8::1')), 429);
  });

  test('IPv4 clients are limited per address', () => {
    const now = { t: T0 };
    const d = defense({ rateLimit: { limit: '1/60s' } }, now);
    assert.equal(status(d, ctx('203.0.113.1')), 200);
    assert.equal(status(d, ctx('203.0.113.2')), 200);
    assert.equal(status(d, ctx('203.0.113.1')), 429);
  });
});

