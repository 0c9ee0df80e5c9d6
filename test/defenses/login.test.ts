import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setUser, trackLoginFailure, trackLoginSuccess } from '../../dist/esm/index.js';
import { startGuarded, type Guarded, type Handler } from '../helpers/in-process.ts';

const open: Guarded[] = [];
after(async () => { for (const g of open) await g.close(); });

// A login endpoint: `?u=<user>&p=<password>`; the password is "right".
const loginApp: Handler = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/login') {
    const ok = url.searchParams.get('p') === 'right';
    if (ok) setUser(req, { id: `id-of-${url.searchParams.get('u')}` });
    res.statusCode = ok ? 200 : 401;
  }
  res.end();
};

async function guarded(login: Record<string, unknown>, handler: Handler = loginApp): Promise<Guarded> {
  for (const g of open.splice(0)) await g.close();
  const g = await startGuarded({ trustedProxies: ['127.0.0.1/32'], rateLimit: { mode: 'off' }, session: { mode: 'off' }, accessLog: 'all', login } as never, {}, {}, handler);
  open.push(g);
  return g;
}

const attempt = (g: Guarded, from: string, user: string, pass: string) =>
  fetch(`${g.url}/login?u=${user}&p=${pass}`, { method: 'POST', headers: { 'X-Forwarded-For': from } }).then((r) => r.status);

test('failed logins from one address lock it out of the login routes with 429; other routes and addresses are unaffected', async () => {
  const g = await guarded({ routes: 'POST /login', maxPerIp: '3/15m', maxPerUser: '100/15m', lockout: '15m', usernameFrom: 'query.u' });
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push(await attempt(g, '198.51.100.7', `user${i}`, 'wrong'));
  // 3 failures allowed, the 4th failure starts the lockout, then the guard answers.
  assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
  assert.equal(await attempt(g, '198.51.100.7', 'alice', 'right'), 429, 'even the right password is refused while locked');
  assert.equal(await attempt(g, '203.0.113.1', 'alice', 'right'), 200, 'another address logs in');
  assert.equal((await fetch(`${g.url}/other`, { headers: { 'X-Forwarded-For': '198.51.100.7' } })).status, 200);
  const failed = await g.events('nis2.auth.login_failed');
  assert.ok(failed.length >= 1);
  assert.match(String(failed[0]!.attrs['user.name.hash']), /^[A-Za-z0-9_-]{22}$/);
  assert.ok(!JSON.stringify(failed).includes('user0'), 'usernames are pseudonymised');
  const lockouts = await g.events('nis2.auth.lockout');
  assert.ok(lockouts.some((e) => e.attrs['nis2.reason'] === 'address_lockout_started'));
  assert.ok(lockouts.some((e) => e.attrs['nis2.reason'] === 'address_locked_out' && e.attrs['nis2.action'] === 'block'));
});

test('credential stuffing against one username from many addresses locks the username', async () => {
  const g = await guarded({ routes: 'POST /login', maxPerIp: '100/15m', maxPerUser: '2/15m', usernameFrom: 'query.u' });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push(await attempt(g, `198.51.100.${i + 1}`, 'victim', 'wrong'));
  assert.deepEqual(statuses, [401, 401, 401, 429]);
  assert.equal(await attempt(g, '203.0.113.50', 'someone-else', 'right'), 200);
});

test('monitor mode reports the lockout and lets the request through', async () => {
  const g = await guarded({ mode: 'monitor', routes: 'POST /login', maxPerIp: '1/15m' });
  for (let i = 0; i < 3; i++) await attempt(g, '198.51.100.9', 'x', 'wrong');
  assert.equal(await attempt(g, '198.51.100.9', 'x', 'right'), 200);
  const lockouts = await g.events('nis2.auth.lockout');
  assert.ok(lockouts.some((e) => e.attrs['nis2.action'] === 'monitor'));
});

test('trackLoginFailure counts failures the status does not show, once per request; trackLoginSuccess clears the username', async () => {
  const app: Handler = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const user = url.searchParams.get('u') ?? '';
    if (url.searchParams.get('p') === 'right') trackLoginSuccess(req, user);
    else trackLoginFailure(req, user);
    res.statusCode = 200; // an app that renders its login form again with 200
    res.end();
  };
  const g = await guarded({ routes: 'POST /login', maxPerIp: '100/15m', maxPerUser: '2/15m' }, app);
  assert.deepEqual([await attempt(g, '198.51.100.1', 'bob', 'wrong'), await attempt(g, '198.51.100.2', 'bob', 'wrong')], [200, 200]);
  await attempt(g, '198.51.100.3', 'bob', 'right');
  assert.equal(await attempt(g, '198.51.100.4', 'bob', 'wrong'), 200, 'success cleared the count');
  assert.equal(await attempt(g, '198.51.100.5', 'bob', 'wrong'), 200);
  assert.equal(await attempt(g, '198.51.100.6', 'bob', 'wrong'), 200, 'third failure starts the lockout (the request itself was already answered)');
  assert.equal((await g.events('nis2.auth.lockout')).length, 1);
});

test('setUser puts the user pseudonym on the access record', async () => {
  const g = await guarded({ routes: 'POST /login' });
  assert.equal(await attempt(g, '198.51.100.1', 'carol', 'right'), 200);
  const access = await g.events('nis2.http.access');
  const rec = access.find((e) => e.attrs['url.path'] === '/login');
  assert.match(String(rec?.attrs['user.id.hash']), /^[A-Za-z0-9_-]{22}$/);
  assert.ok(!JSON.stringify(access).includes('id-of-carol'));
});
