import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startGuarded, type Guarded } from '../helpers/in-process.ts';

let g: Guarded;
before(async () => {
  g = await startGuarded({
    rateLimit: { mode: 'off' }, session: { mode: 'off' },
    telemetry: { mode: 'on', allowedOrigins: 'https://app.example.com', maxBodyBytes: 1024, rateLimit: '20/60s', bodyTimeout: '300ms', maxEvents: 3 },
  } as never);
});
after(() => g.close());

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${g.url}/api/nis2/telemetry`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });

test('accepts the NIS2 Shield front-end shape with 202 and writes a signed event; the app is not involved', async () => {
  const res = await post(JSON.stringify({ type: 'CRITICAL', payload: { event: 'REACT_COMPONENT_CRASH', component: 'Cart' }, timestamp: '2026-11-25T10:00:00.000Z', url: 'https://app.example.com/cart?token=secret#x' }), { 'X-NIS2-Client-Version': '0.1.0' });
  assert.equal(res.status, 202);
  assert.deepEqual(await res.json(), { accepted: 1 });
  assert.equal(g.handled(), 0);
  const [ev] = await g.events('nis2.client.telemetry');
  assert.ok(ev);
  assert.equal(ev.attrs['nis2.client.type'], 'CRITICAL');
  assert.equal(ev.attrs['nis2.client.event'], 'REACT_COMPONENT_CRASH');
  assert.equal(ev.attrs['nis2.client.version'], '0.1.0');
  assert.equal(ev.attrs['nis2.client.url'], 'https://app.example.com/cart', 'query and fragment are dropped');
  assert.equal(ev.attrs['client.address'], '127.0.0.0');
});

test('accepts the native shape with several events, and refuses too many', async () => {
  const ok = await post(JSON.stringify({ events: [{ type: 'SESSION_IDLE_TIMEOUT' }, { type: 'DEVICE_FINGERPRINT', data: { changed: true } }] }));
  assert.equal(ok.status, 202);
  assert.deepEqual(await ok.json(), { accepted: 2 });
  const tooMany = await post(JSON.stringify({ events: Array.from({ length: 4 }, () => ({ type: 'X' })) }));
  assert.equal(tooMany.status, 413);
});

test('bad input gets a clean 4xx with a JSON error: malformed JSON, schema violations, wrong content type, oversized body', async () => {
  const cases: Array<[Promise<Response>, number, string]> = [
    [post('{"type": '), 400, 'invalid_json'],
    [post(JSON.stringify({ type: 'has spaces' })), 400, 'invalid_payload'],
    [post(JSON.stringify({ type: 'X', extra: 1 })), 400, 'invalid_payload'],
    [post(JSON.stringify({ type: 'X', payload: [1] })), 400, 'invalid_payload'],
    [post(JSON.stringify({ type: 'X', url: 'not a url' })), 400, 'invalid_payload'],
    [post('[]'), 400, 'invalid_payload'],
    [post('{"type":"X"}', { 'Content-Type': 'text/plain' }), 415, 'unsupported_media_type'],
    [post(JSON.stringify({ type: 'X', payload: { big: 'x'.repeat(2000) } })), 413, 'payload_too_large'],
  ];
  for (const [pending, status, error] of cases) {
    const res = await pending;
    assert.equal(res.status, status);
    assert.equal((await res.json() as { error: string }).error, error);
  }
  assert.equal(g.handled(), 0);
});

test('a chunked body that grows past the limit is cut off with 413', async () => {
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(256)));
      controller.close();
    },
  });
  const res = await fetch(`${g.url}/api/nis2/telemetry`, { method: 'POST', body: stream, headers: { 'Content-Type': 'application/json' }, duplex: 'half' } as RequestInit);
  assert.equal(res.status, 413);
});

test('a slow sender gets 408 and cannot hold the endpoint', async () => {
  const port = Number(new URL(g.url).port);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /api/nis2/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ty');
    });
    let data = '';
    socket.on('data', (d) => { data += d.toString(); });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    setTimeout(() => { socket.destroy(); reject(new Error('no answer')); }, 5000);
  });
  assert.match(reply, /^HTTP\/1\.1 408 /);
});

test('CORS: allowed origins get a preflight answer and an Allow-Origin; others get 403', async () => {
  const pre = await fetch(`${g.url}/api/nis2/telemetry`, { method: 'OPTIONS', headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /X-NIS2-Client-Version/);
  const evil = await post(JSON.stringify({ type: 'X' }), { Origin: 'https://evil.example' });
  assert.equal(evil.status, 403);
  const allowed = await post(JSON.stringify({ type: 'X' }), { Origin: 'https://app.example.com' });
  assert.equal(allowed.status, 202);
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
});

test('per-address rate limit answers 429 with Retry-After', async () => {
  let last = 0;
  let retry: string | null = null;
  for (let i = 0; i < 30 && last !== 429; i++) {
    const res = await post(JSON.stringify({ type: 'FLOOD' }));
    last = res.status;
    retry = res.headers.get('retry-after');
  }
  assert.equal(last, 429);
  assert.match(retry ?? '', /^\d+$/);
});

test('other paths and methods are untouched by the endpoint', async () => {
  const before = g.handled();
  assert.equal((await fetch(`${g.url}/api/other`, { method: 'POST', body: '{}' })).status, 200);
  assert.equal(g.handled(), before + 1);
  assert.equal((await fetch(`${g.url}/api/nis2/telemetry`)).status, 405);
});
