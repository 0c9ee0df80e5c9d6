// Slowloris on headers: clients that open connections and never finish their header block. The
// server's own headersTimeout closes them; the guard only ever sees complete requests, so it keeps
// no state for them — no limiter key, no session binding, no event — and legitimate clients are
// served while they hang.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CHROME, FIREFOX, rawClient, request, startHostile, statusOf, trickle, until, type HostileServer, type RawClient } from './server.ts';

const SLOW = 30;
/** Each slow client from its own loopback address, so any state the guard kept would show as a new key. */
const addressOf = (i: number) => `127.0.0.${20 + i}`;

let g: HostileServer;
before(async () => {
  g = await startHostile(
    { rateLimit: { limit: '100/60s' }, session: { mode: 'enforce' } },
    // Short limits so the test is quick; the check interval is what makes Node enforce them promptly.
    { headersTimeout: 2000, requestTimeout: 4000, connectionsCheckingInterval: 100 },
  );
});
after(() => g.close());

test('slow header senders are closed by the server; meanwhile a legitimate request is served; the guard keeps no state for them', async () => {
  assert.equal((await request(g.url, { headers: { 'user-agent': CHROME } })).status, 200);
  const keysBefore = g.limiterKeys();
  const handledBefore = g.handled();

  const slow: RawClient[] = [];
  for (let i = 0; i < SLOW; i++) {
    const c = await rawClient(g.port, `GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${CHROME}\r\nCookie: sid=slow-${i}\r\nX-Pad: `, { localAddress: addressOf(i), timeoutMs: 10_000 });
    trickle(c, 'a', 100);
    slow.push(c);
  }

  // While every slow client is still connected, a normal one gets its answer.
  const legit = await request(g.url, { path: '/account', headers: { 'user-agent': CHROME } });
  assert.equal(legit.status, 200);
  assert.equal(slow.filter((c) => c.isClosed()).length, 0, 'the legitimate request did not wait for the slow ones to go');

  const replies = await Promise.all(slow.map((c) => c.closed));
  for (const r of replies) assert.ok(r === '' || statusOf(r) === 408, `unexpected reply to a slow sender: ${r.slice(0, 80)}`);

  assert.equal(g.handled(), handledBefore + 1, 'the app ran for the legitimate request only');
  assert.equal(g.limiterKeys(), keysBefore, 'no limiter key for requests whose headers never completed');
  assert.deepEqual((await g.events()).map((e) => e.event).filter((e) => !e.startsWith('nis2.integrity.')), [], 'no security event about them');

  // Had the guard bound any slow client's session, a new browser family would now be a hijack (401).
  for (let i = 0; i < SLOW; i++) {
    const r = await request(g.url, { path: '/account', headers: { cookie: `sid=slow-${i}`, 'user-agent': FIREFOX }, localAddress: addressOf(i) });
    assert.equal(r.status, 200, `sid=slow-${i} was bound while its request never completed`);
  }
});

test('a slowloris that does finish its headers late is one ordinary request, counted once', async () => {
  const keysBefore = g.limiterKeys();
  const c = await rawClient(g.port, 'GET /late HTTP/1.1\r\nHost: 127.0.0.1\r\n', { localAddress: '127.0.0.99' });
  await new Promise((r) => setTimeout(r, 300));
  c.socket.write('Connection: close\r\n\r\n');
  const reply = await c.closed;
  assert.equal(statusOf(reply), 200);
  await until(() => g.limiterKeys() === keysBefore + 1, 'one limiter key for the one completed request');
});
