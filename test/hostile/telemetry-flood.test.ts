// The front-end telemetry endpoint under slow and huge bodies (extends test/defenses/telemetry.test.ts
// from one sender to fifty at once): slow senders get 408 when the body deadline passes, huge bodies
// 413 — declared or streamed — and meanwhile a legitimate report is answered, the app never runs,
// and memory stays bounded (the endpoint buffers at most maxBodyBytes per request).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { memory, rawClient, request, startHostile, statusOf, trickle, until, type HostileServer, type RawClient } from './server.ts';

const CONCURRENT = 50;
const MAX_BODY = 4096;
const PATH = '/api/nis2/telemetry';
const MIB = 1024 * 1024;
const OFFERED = 8 * MIB;

const head = (extra: string) => `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}\r\n`;
const report = JSON.stringify({ type: 'CRITICAL', payload: { event: 'REACT_COMPONENT_CRASH' } });
const postReport = (url: string) => request(url, { path: PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: report });

describe('telemetry endpoint under a flood of slow and huge bodies', () => {
  let g: HostileServer;
  before(async () => {
    g = await startHostile(
      { rateLimit: { mode: 'off' }, session: { mode: 'off' }, telemetry: { mode: 'on', maxBodyBytes: MAX_BODY, bodyTimeout: '3000ms', rateLimit: '100000/60s', maxEvents: 5 } },
      // The server's own limits are looser than the endpoint's, so what is tested is the endpoint's.
      { headersTimeout: 10_000, requestTimeout: 20_000, connectionsCheckingInterval: 500 },
    );
  });
  after(() => g.close());

  test('50 concurrent slow senders each get 408; a legitimate report is accepted while they are all still waiting', async () => {
    const slow: RawClient[] = [];
    for (let i = 0; i < CONCURRENT; i++) {
      const c = await rawClient(g.port, `${head('Content-Length: 3000\r\n')}{"type":"`, { timeoutMs: 15_000 });
      trickle(c, 'A', 200);
      slow.push(c);
    }
    // Let the server read every slow request's headers, so each is waiting inside the endpoint.
    await new Promise((r) => setTimeout(r, 300));
    const legit = await postReport(g.url);
    assert.equal(legit.status, 202);
    assert.deepEqual(JSON.parse(legit.body), { accepted: 1 });
    assert.equal(slow.filter((c) => c.isClosed()).length, 0, 'the report was answered while all 50 slow senders were still held');

    const replies = await Promise.all(slow.map((c) => c.closed));
    for (const r of replies) {
      assert.equal(statusOf(r), 408, r.slice(0, 80));
      assert.match(r, /"error":"request_timeout"/);
    }
    assert.equal(g.handled(), 0, 'the app never runs for the endpoint');
    assert.equal((await g.events('nis2.client.telemetry')).length, 1, 'only the complete report became an event');
  });

  test('50 concurrent huge bodies, declared or streamed, get 413 and are not buffered: memory stays bounded', async (t) => {
    const flood = async (): Promise<number[]> => {
      const clients = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
        if (i % 2 === 0) {
          // Declared: refused from Content-Length alone, before any body is read. (Whether the
          // connection is then closed is the next test's concern; here the client hangs up.)
          const c = await rawClient(g.port, `${head(`Content-Length: ${64 * MIB}\r\n`)}${'x'.repeat(16 * 1024)}`);
          await until(() => c.received().includes('\r\n\r\n'), 'the 413 answer');
          c.socket.destroy();
          return c;
        }
        // Streamed: chunked, 8 MiB offered; the endpoint stops reading past maxBodyBytes.
        const c = await rawClient(g.port, head('Transfer-Encoding: chunked\r\n'));
        const chunk = Buffer.from(`4000\r\n${'x'.repeat(0x4000)}\r\n`);
        for (let sent = 0; sent < OFFERED && !c.socket.destroyed; sent += 0x4000) {
          if (!c.socket.write(chunk)) await new Promise((r) => { c.socket.once('drain', r); c.socket.once('close', r); });
        }
        return c;
      }));
      await Promise.all(clients.map((c) => c.closed));
      return clients.map((c) => statusOf(c.received()));
    };

    // What the server read from each connection: a server that kept reading would take all it was offered.
    const read: Array<() => number> = [];
    const onConnection = (s: import('node:net').Socket) => { read.push(() => s.bytesRead); };
    g.server.on('connection', onConnection);
    await flood(); // warm-up: JIT, buffers and socket pools reach their steady size
    const before = memory();
    // Peak during the flood (no GC in between, so garbage counts too: an upper bound).
    let peak = 0;
    const sampler = setInterval(() => { const m = process.memoryUsage(); peak = Math.max(peak, m.heapUsed + m.arrayBuffers); }, 5);
    const statuses: number[] = [];
    try {
      for (let round = 0; round < 3; round++) statuses.push(...(await flood()));
    } finally {
      clearInterval(sampler);
    }
    const grown = memory() - before;
    g.server.off('connection', onConnection);
    const bytesRead = read.reduce((n, f) => n + f(), 0);
    const offered = 4 * (CONCURRENT / 2) * OFFERED;
    const figures = `peak +${((peak - before) / MIB).toFixed(1)} MiB, retained +${(grown / MIB).toFixed(1)} MiB, read ${(bytesRead / MIB).toFixed(1)} MiB of ${offered / MIB} MiB offered`;
    t.diagnostic(figures);

    assert.deepEqual([...new Set(statuses)], [413], `every huge body gets 413 (got ${[...new Set(statuses)].join(', ')})`);
    // The endpoint stops at maxBodyBytes and the connection closes: the rest is never read.
    assert.ok(bytesRead < offered / 10, figures);
    // Nothing retained after 150 more huge requests, and no peak anywhere near what was offered.
    assert.ok(grown < 16 * MIB, figures);
    assert.ok(peak - before < 64 * MIB, figures);
    assert.equal(g.handled(), 0);
    assert.equal((await postReport(g.url)).status, 202, 'still accepting legitimate reports');
  });

  test('a body refused before it is read (413 on Content-Length) closes the connection: the client cannot hold it by trickling the rest', async () => {
    const c = await rawClient(g.port, `${head(`Content-Length: ${64 * MIB}\r\n`)}{"type":"`, { timeoutMs: 5000 });
    trickle(c, 'A', 100);
    await until(() => c.received().includes('\r\n\r\n'), 'the 413 answer');
    const reply = c.received();
    assert.equal(statusOf(reply), 413);
    // The 408/413 of a body read too slowly or too long say `Connection: close`; this one must too,
    // or Node keeps reading (and discarding) the declared 64 MiB for as long as requestTimeout allows.
    assert.match(reply, /\r\nConnection: close\r\n/i, `the early 413 keeps the connection alive:\n${reply.split('\r\n\r\n')[0]}`);
    await c.closed;
  });

  test('malformed JSON, wrong types and junk headers from many senders at once: clean 4xx each, never the app', async () => {
    const bodies = ['{', '[]', 'null', '"x"', '{"type":1}', '{"type":"x","payload":[]}', '{"events":[]}', `{"events":[${'{"type":"x"},'.repeat(6)}{"type":"x"}]}`, '\u0000\u0001', `{"type":"${'a'.repeat(100)}"}`];
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => request(g.url, {
      path: PATH, method: 'POST', body: bodies[i % bodies.length],
      headers: { 'content-type': i % 7 === 0 ? 'text/plain' : 'application/json', origin: i % 5 === 0 ? 'https://evil.example' : `http://127.0.0.1:${g.port}`, 'x-nis2-client-version': 'v'.repeat(500) },
    })));
    for (const r of results) {
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
      assert.equal(typeof (JSON.parse(r.body) as { error: unknown }).error, 'string');
    }
    assert.equal(g.handled(), 0);
  });
});
