import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CHROME_120, CHROME_121, FIREFOX, startGuarded, type Guarded } from '../helpers/in-process.ts';

const open: Guarded[] = [];
after(async () => { for (const g of open) await g.close(); });

async function guarded(session: Record<string, unknown>, extra = {}): Promise<Guarded> {
  for (const g of open.splice(0)) await g.close();
  const g = await startGuarded({ trustedProxies: ['127.0.0.1/32'], rateLimit: { mode: 'off' }, session } as never, extra);
  open.push(g);
  return g;
}

function get(g: Guarded, from: string, ua: string, cookie = 'connect.sid=s%3Aabc123.sig', auth?: string): Promise<Response> {
  const headers: Record<string, string> = { 'X-Forwarded-For': from, 'User-Agent': ua };
  if (cookie) headers['Cookie'] = cookie;
  if (auth) headers['Authorization'] = auth;
  return fetch(`${g.url}/account`, { headers });
}

test('blocks a session presented from another network with 401 and clears the cookie; the app never runs', async () => {
  const g = await guarded({ mode: 'enforce' });
  assert.equal((await get(g, '198.51.100.10', CHROME_120)).status, 200);
  const stolen = await get(g, '203.0.113.5', CHROME_120);
  assert.equal(stolen.status, 401);
  assert.match(stolen.headers.get('set-cookie') ?? '', /^connect\.sid=; Max-Age=0; Path=\//);
  assert.equal(g.handled(), 1);
  const [ev] = await g.events('nis2.session.hijack_suspected');
  assert.ok(ev);
  assert.equal(ev.attrs['nis2.action'], 'block');
  assert.equal(ev.attrs['nis2.reason'], 'ip_changed');
  assert.equal(ev.attrs['nis2.session.old_prefix'], '198.51.100.0');
  assert.equal(ev.attrs['nis2.session.new_prefix'], '203.0.113.0');
  assert.match(String(ev.attrs['session.id']), /^[A-Za-z0-9_-]{22}$/);
  assert.ok(!JSON.stringify(ev).includes('abc123'), 'the session id itself is never logged');
});

test('mobile-network tolerance: same /24 and a browser update keep the session', async () => {
  const g = await guarded({ mode: 'enforce' });
  assert.equal((await get(g, '198.51.100.10', CHROME_120)).status, 200);
  assert.equal((await get(g, '198.51.100.77', CHROME_121)).status, 200);
  assert.equal((await g.events('nis2.session.hijack_suspected')).length, 0);
});

test('a switch of browser family on the same address is suspected', async () => {
  const g = await guarded({ mode: 'enforce' });
  await get(g, '198.51.100.10', CHROME_120);
  const res = await get(g, '198.51.100.10', FIREFOX);
  assert.equal(res.status, 401);
  const [ev] = await g.events('nis2.session.hijack_suspected');
  assert.equal(ev!.attrs['nis2.session.old_ua_family'], 'Chrome/Windows');
  assert.equal(ev!.attrs['nis2.session.new_ua_family'], 'Firefox/Windows');
});

test('exact binding catches what subnet tolerates', async () => {
  const g = await guarded({ mode: 'enforce', ipBinding: 'exact' });
  await get(g, '198.51.100.10', CHROME_120);
  assert.equal((await get(g, '198.51.100.11', CHROME_120)).status, 401);
});

test('monitor mode lets the request through and reports it', async () => {
  const g = await guarded({ mode: 'monitor' });
  await get(g, '198.51.100.10', CHROME_120);
  assert.equal((await get(g, '203.0.113.5', CHROME_120)).status, 200);
  assert.equal(g.handled(), 2);
  const [ev] = await g.events('nis2.session.hijack_suspected');
  assert.equal(ev!.attrs['nis2.action'], 'monitor');
});

test('onSessionHijack lets the app destroy its server-side session; a throwing hook does not break the request', async () => {
  const seen: unknown[] = [];
  const g = await guarded({ mode: 'enforce' }, { onSessionHijack: (_req: unknown, info: unknown) => { seen.push(info); throw new Error('hook bug'); } });
  await get(g, '198.51.100.10', CHROME_120);
  assert.equal((await get(g, '203.0.113.5', FIREFOX)).status, 401);
  assert.equal(seen.length, 1);
  assert.deepEqual((seen[0] as { reasons: string[] }).reasons, ['ip', 'user_agent']);
  assert.equal((seen[0] as { carrier: string }).carrier, 'connect.sid');
});

test('bearer tokens are bound like cookies; a 401 for them sets no cookie', async () => {
  const g = await guarded({ mode: 'enforce' });
  assert.equal((await get(g, '198.51.100.10', CHROME_120, '', 'Bearer eyJ.token.sig')).status, 200);
  const res = await get(g, '203.0.113.9', CHROME_120, '', 'Bearer eyJ.token.sig');
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('set-cookie'), null);
});

test('bindings expire after the idle TTL', async () => {
  const g = await guarded({ mode: 'enforce', idleTtl: '1s' });
  await get(g, '198.51.100.10', CHROME_120);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await get(g, '203.0.113.5', CHROME_120)).status, 200, 'an idle-expired binding binds afresh');
});

test('requests without a session are not touched, and the binding map stays bounded', async () => {
  const g = await guarded({ mode: 'enforce', maxSessions: 16 });
  assert.equal((await get(g, '198.51.100.10', CHROME_120, '')).status, 200);
  for (let i = 0; i < 40; i++) await get(g, `198.51.100.${i}`, CHROME_120, `sid=s${i}`);
  // The first sessions were evicted: presenting one from elsewhere binds afresh instead of failing.
  assert.equal((await get(g, '203.0.113.5', CHROME_120, 'sid=s0')).status, 200);
  assert.equal((await get(g, '203.0.113.5', CHROME_120, 'sid=s39')).status, 401);
});
