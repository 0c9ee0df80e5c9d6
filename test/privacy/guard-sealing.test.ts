// End to end in one process: a real http server under the guard, events signed in memory. The
// records must carry PII only sealed (plus pseudonyms), and still verify.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Ed25519SigningKey, setUser } from '../../dist/esm/index.js';
import { verifyRecords } from '../../dist/esm/integrity/verify.js';
import { Pseudonymizer } from '../../dist/esm/privacy/pseudonym.js';
import { OpeningKey, generateSealKeyPair } from '../../dist/esm/privacy/seal.js';
import { runCli } from '../helpers/cli.ts';
import { startGuarded, type Envelope, type Guarded } from '../helpers/in-process.ts';

const pair = generateSealKeyPair();
const opener = new OpeningKey(pair.privateKey);
const PSEUDONYM_KEY = 'pseudonym-key-for-tests';
const USER_ID = 'customer-8841-raw-id';
const USERNAME = 'mallory.target@example.org';
// The helper signs with this seed (test/helpers/in-process.ts).
const SIGNING_PUBLIC = Ed25519SigningKey.fromSeed(Buffer.alloc(32, 5)).publicKey;
const tmp = mkdtempSync(join(tmpdir(), 'nis2-pii-e2e-'));

const guards: Guarded[] = [];
after(async () => {
  await Promise.all(guards.map((g) => g.close()));
});

function app(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  setUser(req, { id: USER_ID });
  res.statusCode = req.url?.startsWith('/login') ? 401 : 200;
  res.end('ok');
}

async function start(privacy: Record<string, unknown>): Promise<Guarded> {
  const g = await startGuarded({
    accessLog: 'all', rateLimit: { mode: 'off' }, session: { mode: 'off' },
    login: { routes: 'POST /login', usernameFrom: 'header.x-user', maxPerIp: '100/15m', maxPerUser: '100/15m' },
    privacy: { pseudonymKey: PSEUDONYM_KEY, ...privacy },
  } as never, {}, {}, app);
  guards.push(g);
  return g;
}

function open(value: unknown): string {
  const r = opener.openString(value as string);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

/** The bodies as written: the helper hands back parsed envelopes, and JCS bytes re-serialise identically. */
function bodies(envelopes: Envelope[]): string[] {
  return envelopes.map((e) => JSON.stringify(e));
}

test('setUser with sealing on: the access record has user.id sealed, user.id.hash, never the raw id, and still verifies', async () => {
  const g = await start({ sealKey: pair.publicKey.toString('base64url') });
  const res = await fetch(`${g.url}/account`);
  assert.equal(res.status, 200);
  await res.text();
  const all = await g.events();
  const access = all.filter((e) => e.event === 'nis2.http.access');
  assert.equal(access.length, 1);
  const attrs = access[0]!.attrs;
  assert.match(attrs['user.id'] as string, new RegExp(`^nis2enc:1:${pair.kid}:[A-Za-z0-9_-]+$`));
  assert.equal(open(attrs['user.id']), USER_ID);
  assert.equal(attrs['user.id.hash'], new Pseudonymizer(PSEUDONYM_KEY).hash(USER_ID));
  // The address: anonymised in clear, complete only sealed.
  assert.equal(attrs['client.address'], '127.0.0.0');
  assert.equal(open(attrs['client.address.raw']), '127.0.0.1');
  const text = bodies(all).join('\n');
  assert.ok(!text.includes(USER_ID), 'the raw id appears nowhere in the signed records');
  assert.ok(!text.includes('127.0.0.1'), 'the raw address appears nowhere in the signed records');

  const report = verifyRecords(bodies(all), { publicKeys: [SIGNING_PUBLIC] });
  assert.equal(report.streams.length, 1);
  assert.ok(['intact-open', 'intact-closed'].includes(report.streams[0]!.state), JSON.stringify(report.streams[0]));
  assert.equal(report.streams[0]!.key.source, 'pinned');
  assert.deepEqual(report.malformed, []);
});

test('login tracking with sealing on: the failed login carries the username sealed and its pseudonym', async () => {
  const g = await start({ sealKey: pair.publicKey.toString('base64url') });
  const res = await fetch(`${g.url}/login`, { method: 'POST', headers: { 'x-user': USERNAME } });
  assert.equal(res.status, 401);
  await res.text();
  const failed = await g.events('nis2.auth.login_failed');
  assert.equal(failed.length, 1);
  assert.equal(open(failed[0]!.attrs['user.name']), USERNAME);
  assert.equal(failed[0]!.attrs['user.name.hash'], new Pseudonymizer(PSEUDONYM_KEY).hash(USERNAME));
  assert.ok(!bodies(await g.events()).join('\n').includes(USERNAME));
});

test('nis2-otel decrypt opens the guard\'s records with the private key, and verify still accepts the originals', async () => {
  const g = await start({ sealKey: pair.publicKey.toString('base64url') });
  await (await fetch(`${g.url}/account`)).text();
  await (await fetch(`${g.url}/login`, { method: 'POST', headers: { 'x-user': USERNAME } })).text();
  const file = join(tmp, 'guard.jsonl');
  writeFileSync(file, `${bodies(await g.events()).join('\n')}\n`);
  const keyFile = join(tmp, 'pii-key');
  writeFileSync(keyFile, `${pair.privateKey.toString('base64url')}\n`, { mode: 0o600 });

  const r = await runCli(['decrypt', '--key', keyFile, file]);
  assert.equal(r.code, 0, r.stderr);
  const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Envelope);
  const access = records.find((e) => e.event === 'nis2.http.access' && e.attrs['url.path'] === '/account');
  assert.equal(access?.attrs['user.id'], USER_ID);
  assert.equal(access?.attrs['client.address.raw'], '127.0.0.1');
  assert.equal(records.find((e) => e.event === 'nis2.auth.login_failed')?.attrs['user.name'], USERNAME);

  const verified = await runCli(['verify', '--allow-open', '--public-key', SIGNING_PUBLIC.toString('base64url'), file]);
  assert.equal(verified.code, 0, verified.stdout);
});

test('sealing off (no key): records carry pseudonyms only, and no raw client address at all', async () => {
  const g = await start({});
  await (await fetch(`${g.url}/account`)).text();
  const [access] = await g.events('nis2.http.access');
  assert.ok(access);
  assert.equal(access.attrs['user.id.hash'], new Pseudonymizer(PSEUDONYM_KEY).hash(USER_ID));
  assert.ok(!('user.id' in access.attrs));
  assert.ok(!('client.address.raw' in access.attrs));
  assert.ok(!JSON.stringify(access).includes(USER_ID));
});
