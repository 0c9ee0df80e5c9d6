// Oversized headers, cookies and forwarding chains at the guard, with real sockets on 127.0.0.1:
// Node refuses what is over its header limit before any listener runs (431), and what fits is
// answered cleanly (200/401/429) by a guard whose parsing is bounded — shown without timing, by
// which cookie and which hop the guard actually read.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CHROME, FIREFOX, rawClient, request, startHostile, statusOf, type HostileServer } from './server.ts';

const KIB = 1024;

/** `n` filler cookies of about `bytes` bytes in all. */
function fillerCookies(bytes: number): string[] {
  const out: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const pair = `pref_${i}=${'v'.repeat(8)}`;
    out.push(pair);
    size += pair.length + 2;
  }
  return out;
}

describe('oversized and hostile headers at the guard', () => {
  let g: HostileServer;
  before(async () => {
    g = await startHostile({
      trustedProxies: 'loopback',
      // Full client addresses in events, so the test can see which hop the guard chose.
      privacy: { ipv4Prefix: 32 },
      accessLog: 'all',
      rateLimit: { limit: '3/60s' },
      session: { mode: 'enforce' },
    });
  });
  after(() => g.close());

  test("a header block over Node's limit gets Node's own 431: the guard never runs, the app is not called, nothing is tracked", async () => {
    const before = { handled: g.handled(), keys: g.limiterKeys(), events: (await g.events()).length };
    for (const [name, value] of [['X-Big', 'a'.repeat(20 * KIB)], ['Cookie', fillerCookies(20 * KIB).join('; ')], ['X-Forwarded-For', Array.from({ length: 2000 }, (_, i) => `203.0.${i >> 8}.${i & 255}`).join(', ')]]) {
      const c = await rawClient(g.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${name}: ${value}\r\n\r\n`);
      const reply = await c.closed;
      assert.equal(statusOf(reply), 431, `${name}: ${reply.slice(0, 80)}`);
    }
    assert.equal(g.handled(), before.handled);
    assert.equal(g.limiterKeys(), before.keys, 'no limiter key for requests that never got past the parser');
    assert.equal((await g.events()).length, before.events);
    assert.equal((await request(g.url)).status, 200, 'the server still answers');
  });

  test('a 15 KiB Cookie header is answered 200 then 429; only a session cookie among the first 64 pairs is read and bound', async () => {
    const filler = fillerCookies(15 * KIB - 200);
    assert.ok(filler.length > 64);
    const early = ['sid=early-session', ...filler].join('; ');
    const late = [...filler, 'sid=late-session'].join('; ');
    assert.ok(early.length > 14 * KIB && early.length < 15 * KIB);
    // Each scenario is its own client (X-Forwarded-For through the trusted loopback proxy).
    const send = (cookie: string, ua: string, client: string) => request(g.url, { headers: { cookie, 'user-agent': ua, 'x-forwarded-for': client } });

    assert.equal((await send(early, CHROME, '198.51.100.10')).status, 200);
    const stolen = await send(early, FIREFOX, '198.51.100.11');
    assert.equal(stolen.status, 401, 'the session cookie read from the 15 KiB header was bound, so a new browser family is a hijack');
    assert.match(String(stolen.headers['set-cookie']), /^sid=; Max-Age=0/);

    assert.equal((await send(late, CHROME, '198.51.100.12')).status, 200);
    assert.equal((await send(late, FIREFOX, '198.51.100.13')).status, 200, 'a cookie past the 64th pair is never read (bounded parse), so it was never bound');

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(late, CHROME, '198.51.100.14')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429], 'the rate limit still applies to huge requests');
  });

  test('a 15 KiB X-Forwarded-For of thousands of hops through the trusted proxy: the client is the rightmost untrusted hop of the last 32', async () => {
    const spray = (n: number) => Array.from({ length: n }, (_, i) => `203.0.${(i >> 8) & 255}.${i & 255}`);
    const trusted = (n: number) => Array.from({ length: n }, (_, i) => `127.1.0.${i + 1}`);
    const sized = (tail: string[]) => {
      const hops = [...spray(1300), ...tail];
      while (hops.join(', ').length > 15 * KIB) hops.shift();
      return hops.join(', ');
    };
    // 31 trusted proxies on the right: the client is the 32nd hop from the right.
    const within = sized(['192.0.2.1', '198.51.100.77', ...trusted(31)]);
    // 32 trusted proxies on the right: the 33rd hop is beyond what the guard reads.
    const beyond = sized(['198.51.100.88', ...trusted(32)]);
    assert.ok(within.length > 14 * KIB && within.split(',').length > 1000);
    const before = (await g.events('nis2.http.access')).length;

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(g.url, { path: '/within', headers: { 'x-forwarded-for': within } })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429], 'limited per resolved client, like any other');
    assert.equal((await request(g.url, { path: '/beyond', headers: { 'x-forwarded-for': beyond } })).status, 200, 'another resolved client has its own budget');

    const access = (await g.events('nis2.http.access')).slice(before);
    const clientOf = (path: string) => new Set(access.filter((e) => e.attrs['url.path'] === path).map((e) => e.attrs['client.address']));
    assert.deepEqual(clientOf('/within'), new Set(['198.51.100.77']));
    assert.deepEqual(clientOf('/beyond'), new Set(['127.1.0.1']), 'all 32 hops read are trusted: the leftmost of them, never 198.51.100.88 or a sprayed hop');
  });
});
