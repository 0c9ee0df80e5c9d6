// `nis2-otel check` as a user runs it: the real bin in a child process, with a controlled
// environment (no inherited NIS2_*/OTEL_* variables) in a fresh temp directory per case. Every
// check is driven to pass and to fail (or warn) here; the failing side of the Node.js version and
// monotonic-clock checks cannot be produced on a healthy machine and is covered in
// test/compliance/pure.test.ts.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket, type Server as NetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEY_BY_PATH } from '../../dist/esm/config/schema.js';
import { Ed25519SigningKey } from '../../dist/esm/integrity/keys.js';
import { freePort, RedisServer } from '../helpers/redis-server.ts';

const BIN = fileURLToPath(new URL('../../bin/nis2-otel.cjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nis2-check-'));
let dirs = 0;

interface Check { id: string; measure: string; status: 'pass' | 'warn' | 'fail' | 'info'; message: string; fix?: string; data?: Record<string, unknown> }
interface Report { schema: string; ok: boolean; failOn: string; offline: boolean; summary: Record<string, number>; measures: Array<{ measure: string; title: string; checks: string[] }>; checks: Check[] }
interface Run { code: number; stdout: string; stderr: string; cwd: string; report?: Report }

/** A fresh directory: the default `.nis2` key dir and events file land here, never in the repo. */
function freshDir(): string {
  const dir = join(root, `case-${++dirs}`);
  mkdirSync(dir);
  return dir;
}

/** Runs `nis2-otel check …` with only PATH plus `env`; parses the JSON report when asked for one. */
function check(args: string[], env: Record<string, string> = {}, cwd = freshDir()): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'check', ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      const run: Run = { code: err ? (err.code as number) : 0, stdout, stderr, cwd };
      if (args.includes('json') && run.code !== 2) run.report = JSON.parse(stdout) as Report;
      resolve(run);
    });
  });
}

function byId(run: Run, id: string): Check {
  const c = run.report?.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} missing: ${run.stdout}${run.stderr}`);
  return c;
}

function expectStatus(run: Run, id: string, status: Check['status'], message?: RegExp): Check {
  const c = byId(run, id);
  assert.equal(c.status, status, `${id}: ${c.message}`);
  if (message) assert.match(c.message, message);
  if (status === 'warn' || status === 'fail') assert.ok(c.fix, `${id} ${status} needs a fix`);
  return c;
}

/** An Ed25519 key file as `nis2-otel keygen --out` writes it (base64url seed), with the given mode. */
function keyFile(dir: string, mode = 0o600, name = 'signing-key'): string {
  const key = new Ed25519SigningKey(generateKeyPairSync('ed25519').privateKey);
  const path = join(dir, name);
  writeFileSync(path, `${key.seed().toString('base64url')}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

/** A config with a safe key and no network, so one case can change one thing at a time. */
function goodEnv(dir: string): Record<string, string> {
  const keys = join(dir, 'keys');
  mkdirSync(keys, { mode: 0o700 });
  return { NIS2_SIGNING_KEY_FILE: keyFile(keys) };
}

const hasKey = (key: string): boolean => KEY_BY_PATH.has(key);
const isRoot = process.getuid?.() === 0;

describe('nis2-otel check', { concurrency: 8 }, () => {
  // ---- output, exit codes, usage ----
  test('json: a stable documented shape; every Art. 21(2) letter listed; summary adds up', async () => {
    const dir = freshDir();
    const r = await check(['--format', 'json', '--offline'], goodEnv(dir), dir);
    const rep = r.report!;
    assert.equal(rep.schema, 'nis2-otel.check/1');
    assert.deepEqual(rep.measures.map((m) => m.measure), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    assert.equal(rep.offline, true);
    assert.equal(rep.failOn, 'fail');
    const ids = rep.checks.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length, 'check ids are unique');
    for (const id of ['mode.global', 'signing.key.present', 'signing.key.valid', 'signing.key.algorithm', 'signing.key.strength', 'signing.key.file-permissions',
      'privacy.pii-sealing', 'proxy.trusted', 'proxy.ranges', 'defense.rate-limit.mode', 'defense.session.mode', 'export.otlp.tls', 'export.otlp.reachable',
      'export.events-file.writable', 'clock.skew', 'clock.monotonic', 'runtime.node-version']) assert.ok(ids.includes(id), id);
    for (const c of rep.checks) {
      assert.match(c.measure, /^[a-j]$/);
      assert.ok(['pass', 'warn', 'fail', 'info'].includes(c.status));
      assert.ok(rep.measures.find((m) => m.measure === c.measure)!.checks.includes(c.id));
    }
    const total = rep.summary['pass']! + rep.summary['warn']! + rep.summary['fail']! + rep.summary['info']!;
    assert.equal(total, rep.checks.length);
    assert.equal(rep.ok, rep.summary['fail'] === 0);
    assert.equal(r.code, rep.ok ? 0 : 1);
  });

  test('text: grouped by Art. 21(2) letter in order, one [STATUS] id message (fix: …) line per check', async () => {
    const dir = freshDir();
    const r = await check(['--offline'], { NIS2_MODE: 'monitor', ...goodEnv(dir) }, dir);
    const lines = r.stdout.split('\n');
    const headers = lines.filter((l) => /^\([a-j]\) /.test(l)).map((l) => l[1]);
    assert.deepEqual(headers, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    const checkLines = lines.filter((l) => l.startsWith('  ['));
    assert.ok(checkLines.length >= 15);
    for (const l of checkLines) assert.match(l, /^ {2}\[(PASS|WARN|FAIL|INFO)\] [a-z0-9.-]+ \S/);
    assert.match(r.stdout, /^ {2}\[WARN\] mode\.global .*\(fix: set NIS2_MODE=enforce/m);
    assert.match(r.stdout, /^\(d\) Supply chain security\n {2}- not checked: /m);
  });

  test('exit 0 with warnings only; 1 with --fail-on warn; 1 on a failure', async () => {
    const dir = freshDir();
    const env = { NIS2_MODE: 'monitor', ...goodEnv(dir) };
    const warnOnly = await check(['--format', 'json', '--offline'], env, dir);
    assert.equal(warnOnly.report!.summary['fail'], 0, warnOnly.stdout);
    assert.ok(warnOnly.report!.summary['warn']! > 0);
    assert.equal(warnOnly.code, 0);
    assert.equal(warnOnly.report!.ok, true);
    const strict = await check(['--format', 'json', '--offline', '--fail-on', 'warn'], env, dir);
    assert.equal(strict.code, 1);
    assert.equal(strict.report!.ok, false);
    assert.match((await check(['--offline', '--fail-on', 'warn'], env, dir)).stdout, /FAILED \(warnings, with --fail-on warn\)/);
    const failing = await check(['--offline'], {});
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /^FAILED \(\d+ failures?\)/m);
  });

  test('exit 2 on an invalid config, with the loader\'s message naming the key; json gets an error document', async () => {
    const bad = await check(['--offline'], { NIS2_RATE_LIMIT: 'lots' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /NIS2_ERR_CONFIG_INVALID.*NIS2_RATE_LIMIT/);
    assert.equal(bad.stdout, '');
    const dir = freshDir();
    writeFileSync(join(dir, 'nis2.json'), JSON.stringify({ rateLimt: { mode: 'off' } }));
    const unknown = await check(['--format', 'json'], { NIS2_CONFIG_FILE: 'nis2.json' }, dir);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown key 'rateLimt'/);
    const doc = JSON.parse(unknown.stdout);
    assert.equal(doc.schema, 'nis2-otel.check/1');
    assert.equal(doc.ok, false);
    assert.equal(doc.error.code, 'NIS2_ERR_CONFIG_UNKNOWN_KEY');
    // A secret that fails validation is named, never echoed.
    const secret = await check([], { NIS2_REDIS_URL: 'http://user:hunter2-secret@db:6379' });
    assert.equal(secret.code, 2);
    assert.match(secret.stderr, /NIS2_REDIS_URL/);
    assert.doesNotMatch(secret.stderr + secret.stdout, /hunter2/);
  });

  test('exit 2 on usage errors', async () => {
    assert.equal((await check(['--format', 'xml'])).code, 2);
    assert.equal((await check(['--fail-on', 'info'])).code, 2);
    assert.equal((await check(['--timeout', '0'])).code, 2);
    const r = await check(['--offline'], { NIS2_EXPECT_PROXY: 'perhaps' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /NIS2_EXPECT_PROXY/);
  });

  // ---- signing key ----
  test('no key configured: fails, and never generates or writes one', async () => {
    const r = await check(['--format', 'json', '--offline'], {});
    expectStatus(r, 'signing.key.present', 'fail', /register would generate one/);
    expectStatus(r, 'signing.key.valid', 'info');
    assert.equal(r.code, 1);
    assert.equal(existsSync(join(r.cwd, '.nis2')), false, 'check must not create the key directory');
  });

  test('a key generated earlier by register still fails as not configured; the file is left as it was (not chmod-ed)', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, '.nis2'), { mode: 0o700 });
    const path = keyFile(join(dir, '.nis2'), 0o644);
    const before = readFileSync(path, 'utf8');
    const r = await check(['--format', 'json', '--offline'], {}, dir);
    const present = expectStatus(r, 'signing.key.present', 'fail', /generated at/);
    assert.equal(present.data?.['source'], 'generated');
    expectStatus(r, 'signing.key.valid', 'pass', /Ed25519/);
    expectStatus(r, 'signing.key.file-permissions', 'fail', /0644/);
    assert.equal(readFileSync(path, 'utf8'), before);
    assert.equal(statSync(path).mode & 0o777, 0o644, 'check must not chmod the file');
  });

  test('an Ed25519 key file, 0600, owned by the user: present, valid, Ed25519, strong, safe', async () => {
    const dir = freshDir();
    const env = goodEnv(dir);
    const r = await check(['--format', 'json', '--offline'], env, dir);
    const present = expectStatus(r, 'signing.key.present', 'pass', /NIS2_SIGNING_KEY_FILE/);
    const kid = new Ed25519SigningKey(generateKeyPairSync('ed25519').privateKey).kid;
    assert.equal(typeof present.data?.['kid'], 'string');
    assert.notEqual(present.data?.['kid'], kid);
    expectStatus(r, 'signing.key.valid', 'pass');
    expectStatus(r, 'signing.key.algorithm', 'pass', /Ed25519/);
    expectStatus(r, 'signing.key.strength', 'pass');
    expectStatus(r, 'signing.key.file-permissions', 'pass', /0600/);
  });

  test('key file permissions: group- or other-readable fails, and so does a world-writable directory', async () => {
    for (const mode of [0o640, 0o604, 0o620]) {
      const dir = freshDir();
      const r = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY_FILE: keyFile(dir, mode) }, dir);
      expectStatus(r, 'signing.key.file-permissions', 'fail', new RegExp(`0${mode.toString(8)}`));
      assert.equal(r.code, 1);
    }
    const open = freshDir();
    chmodSync(open, 0o777);
    const r = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY_FILE: keyFile(open) }, open);
    expectStatus(r, 'signing.key.file-permissions', 'fail', /can replace the key/);
    const sticky = freshDir();
    chmodSync(sticky, 0o1777);
    const ok = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY_FILE: keyFile(sticky) }, sticky);
    expectStatus(ok, 'signing.key.file-permissions', 'pass');
  });

  test('key file owned by another user fails', { skip: !isRoot && 'needs root to chown' }, async () => {
    const dir = freshDir();
    const path = keyFile(dir);
    chownSync(path, 65534, 65534);
    const r = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY_FILE: path }, dir);
    expectStatus(r, 'signing.key.file-permissions', 'fail', /owned by uid 65534/);
  });

  test('a missing or malformed key file fails as invalid; the loader\'s message names the variable', async () => {
    const dir = freshDir();
    const missing = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY_FILE: join(dir, 'nope') }, dir);
    expectStatus(missing, 'signing.key.valid', 'fail', /NIS2_SIGNING_KEY_FILE.*ENOENT/);
    expectStatus(missing, 'signing.key.file-permissions', 'info');
    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, 'not a key at all!\n', { mode: 0o600 });
    const bad = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY_FILE: garbage }, dir);
    expectStatus(bad, 'signing.key.valid', 'fail', /register would refuse to start/);
    assert.equal(bad.code, 1);
  });

  test('inline keys: a good seed passes, a published test seed fails strength, a short one fails validity; none is echoed', async () => {
    const seed = randomBytes(32).toString('base64url');
    const good = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY: seed });
    expectStatus(good, 'signing.key.strength', 'pass');
    expectStatus(good, 'signing.key.file-permissions', 'info', /inline/);
    const rfc = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex').toString('base64');
    const published = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY: rfc });
    expectStatus(published, 'signing.key.strength', 'fail', /RFC 8032/);
    const short = await check(['--format', 'json', '--offline'], { NIS2_SIGNING_KEY: randomBytes(20).toString('base64') });
    expectStatus(short, 'signing.key.valid', 'fail', /32-byte seed/);
    for (const r of [good, published, short]) assert.doesNotMatch(r.stdout + r.stderr, new RegExp(seed.slice(0, 20)));
  });

  test('HMAC keys: flagged as not publicly verifiable; weak and text keys caught; too short is invalid; never echoed', async () => {
    const key = randomBytes(32).toString('base64');
    const hmac = await check(['--format', 'json', '--offline'], { NIS2_HMAC_KEY: key });
    expectStatus(hmac, 'signing.key.algorithm', 'warn', /not publicly verifiable/);
    expectStatus(hmac, 'signing.key.strength', 'pass');
    assert.equal(hmac.code, 0, hmac.stdout);
    assert.doesNotMatch(hmac.stdout, new RegExp(key.slice(0, 16).replace(/[+/]/g, '.')));
    const weak = await check(['--format', 'json', '--offline'], { NIS2_HMAC_KEY: Buffer.alloc(32, 'a').toString('base64') });
    expectStatus(weak, 'signing.key.strength', 'fail', /distinct byte values/);
    const text = await check(['--format', 'json', '--offline'], { NIS2_HMAC_KEY: Buffer.from('Tr0ub4dor&3-correct-horse-battery-staple').toString('base64') });
    expectStatus(text, 'signing.key.strength', 'warn', /password/);
    const short = await check(['--format', 'json', '--offline'], { NIS2_HMAC_KEY: randomBytes(16).toString('base64') });
    expectStatus(short, 'signing.key.valid', 'fail', /at least 32 bytes/);
    const both = await check(['--format', 'json', '--offline'], { NIS2_HMAC_KEY: key, NIS2_SIGNING_KEY: randomBytes(32).toString('base64') });
    expectStatus(both, 'signing.key.valid', 'fail', /keep one/);
  });

  // ---- PII sealing ----
  test('PII sealing: warns when off; passes with an X25519 public key (or warns that this build cannot seal)', async () => {
    const off = await check(['--format', 'json', '--offline'], {});
    expectStatus(off, 'privacy.pii-sealing', 'warn');
    const pub = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64url');
    const on = await check(['--format', 'json', '--offline'], { NIS2_PII_PUBLIC_KEY: pub });
    if (hasKey('privacy.sealKey')) {
      expectStatus(on, 'privacy.pii-sealing', 'pass');
      if (hasKey('privacy.seal')) {
        expectStatus(await check(['--format', 'json', '--offline'], { NIS2_PII_PUBLIC_KEY: pub, NIS2_PII_SEAL: 'off' }), 'privacy.pii-sealing', 'warn', /ignored/);
        expectStatus(await check(['--format', 'json', '--offline'], { NIS2_PII_SEAL: 'on' }), 'privacy.pii-sealing', 'fail', /refuses to start/);
      }
    } else {
      expectStatus(on, 'privacy.pii-sealing', 'warn', /does not read it/);
    }
  });

  // ---- trusted proxies ----
  test('trusted proxies: fail when a proxy is expected (flag or env) and none is trusted; pass when one is', async () => {
    const flag = await check(['--format', 'json', '--offline', '--behind-proxy'], {});
    expectStatus(flag, 'proxy.trusted', 'fail', /no proxy is trusted/);
    const env = await check(['--format', 'json', '--offline'], { NIS2_EXPECT_PROXY: 'true' });
    expectStatus(env, 'proxy.trusted', 'fail');
    const direct = await check(['--format', 'json', '--offline'], {});
    expectStatus(direct, 'proxy.trusted', 'info');
    const set = await check(['--format', 'json', '--offline', '--behind-proxy'], { NIS2_TRUSTED_PROXIES: '10.0.0.0/8,loopback' });
    expectStatus(set, 'proxy.trusted', 'pass', /10\.0\.0\.0\/8/);
    expectStatus(set, 'proxy.ranges', 'pass');
    const hops = await check(['--format', 'json', '--offline', '--behind-proxy'], { NIS2_TRUSTED_PROXY_HOPS: '1' });
    expectStatus(hops, 'proxy.trusted', 'pass', /trustedProxyHops=1/);
  });

  test('trusted proxies: 0.0.0.0/0 or ::/0 warns as overly broad', async () => {
    const v4 = await check(['--format', 'json', '--offline'], { NIS2_TRUSTED_PROXIES: '10.1.2.0/24,0.0.0.0/0' });
    expectStatus(v4, 'proxy.ranges', 'warn', /0\.0\.0\.0\/0/);
    const v6 = await check(['--format', 'json', '--offline'], { NIS2_TRUSTED_PROXIES: '::/0' });
    expectStatus(v6, 'proxy.ranges', 'warn', /::\/0/);
  });

  // ---- defense modes ----
  test('modes: enforce passes; monitor (global or per defense) warns; off warns for a default defense', async () => {
    const dflt = await check(['--format', 'json', '--offline'], {});
    expectStatus(dflt, 'mode.global', 'pass');
    expectStatus(dflt, 'defense.rate-limit.mode', 'pass');
    expectStatus(dflt, 'defense.session.mode', 'pass');
    const monitor = await check(['--format', 'json', '--offline'], { NIS2_MODE: 'monitor' });
    expectStatus(monitor, 'mode.global', 'warn');
    expectStatus(monitor, 'defense.rate-limit.mode', 'warn', /from the global mode/);
    expectStatus(monitor, 'defense.session.mode', 'warn');
    const off = await check(['--format', 'json', '--offline'], { NIS2_RATE_LIMIT_MODE: 'off', NIS2_SESSION_MODE: 'monitor' });
    expectStatus(off, 'defense.rate-limit.mode', 'warn', /off/);
    expectStatus(off, 'defense.session.mode', 'warn', /monitor/);
  });

  test('modes: login and MFA are info until configured, pass when enforced, and a mode with nothing to protect is caught', { skip: !hasKey('mfa.mode') && 'no MFA keys in this build' }, async () => {
    const none = await check(['--format', 'json', '--offline'], {});
    expectStatus(none, 'defense.login.mode', 'info', /not configured/);
    expectStatus(none, 'defense.mfa.mode', 'info');
    const on = await check(['--format', 'json', '--offline'], { NIS2_LOGIN_ROUTES: 'POST /login', NIS2_MFA_ROUTES: '/admin', NIS2_MFA_JWT_SECRET: randomBytes(32).toString('hex'), NIS2_MFA_JWT_ISSUER: 'i', NIS2_MFA_JWT_AUDIENCE: 'a' });
    expectStatus(on, 'defense.login.mode', 'pass');
    expectStatus(on, 'defense.mfa.mode', 'pass');
    const monitor = await check(['--format', 'json', '--offline'], { NIS2_LOGIN_ROUTES: 'POST /login', NIS2_LOGIN_MODE: 'monitor' });
    expectStatus(monitor, 'defense.login.mode', 'warn', /monitor/);
    const empty = await check(['--format', 'json', '--offline'], { NIS2_MFA_MODE: 'enforce' });
    expectStatus(empty, 'defense.mfa.mode', 'fail', /protects nothing/);
    const offExplicit = await check(['--format', 'json', '--offline'], { NIS2_MFA_ROUTES: '/admin', NIS2_MFA_MODE: 'off' });
    expectStatus(offExplicit, 'defense.mfa.mode', 'warn', /off/);
    const loginEmpty = await check(['--format', 'json', '--offline'], { NIS2_LOGIN_MODE: 'enforce', NIS2_SESSION_MODE: 'off' });
    expectStatus(loginEmpty, 'defense.login.mode', 'warn', /protects nothing/);
    expectStatus(loginEmpty, 'defense.session.mode', 'warn', /off .*on by default/);
  });

  test('modes: Tor and IP lists', { skip: !(hasKey('tor.mode') && hasKey('ipLists.mode')) && 'no Tor/IP-list keys in this build' }, async () => {
    const dir = freshDir();
    const r = await check(['--format', 'json', '--offline'], { NIS2_TOR_MODE: 'monitor', NIS2_IP_DENY: '192.0.2.0/24' }, dir);
    expectStatus(r, 'defense.tor.mode', 'warn', /monitor/);
    expectStatus(r, 'defense.ip-lists.mode', 'pass');
    const off = await check(['--format', 'json', '--offline'], { NIS2_IP_DENY: '192.0.2.0/24', NIS2_IP_LISTS_MODE: 'off' });
    expectStatus(off, 'defense.ip-lists.mode', 'warn');
  });

  // ---- Tor list freshness ----
  test('Tor list freshness: a fresh cache passes, an old one fails, a missing one warns, a missing source file fails', { skip: !hasKey('tor.staleAfter') && 'no Tor keys in this build' }, async () => {
    const dir = freshDir();
    const cache = join(dir, 'tor.txt');
    writeFileSync(cache, '192.0.2.1\n192.0.2.2\n');
    const env = { NIS2_TOR_MODE: 'enforce', NIS2_TOR_CACHE_FILE: cache, NIS2_TOR_STALE_AFTER: '24h' };
    const fresh = await check(['--format', 'json', '--offline'], env, dir);
    expectStatus(fresh, 'tor.list.fresh', 'pass');
    const old = join(dir, 'old.txt');
    writeFileSync(old, '192.0.2.1\n');
    const twoDaysAgo = (Date.now() - 2 * 86_400_000) / 1000;
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    const stale = await check(['--format', 'json', '--offline'], { ...env, NIS2_TOR_CACHE_FILE: old }, dir);
    const c = expectStatus(stale, 'tor.list.fresh', 'fail', /more than tor\.staleAfter/);
    assert.ok((c.data?.['ageSeconds'] as number) >= 2 * 86_400 - 60);
    assert.equal(stale.code, 1);
    // The cache header's fetched-at wins over a recent mtime, as in the guard.
    const header = join(dir, 'header.txt');
    writeFileSync(header, `# nis2-otel ip list v1\n# source: https://check.torproject.org/torbulkexitlist\n# fetched-at: ${new Date(Date.now() - 3 * 86_400_000).toISOString()}\n192.0.2.1\n`);
    expectStatus(await check(['--format', 'json', '--offline'], { ...env, NIS2_TOR_CACHE_FILE: header }, dir), 'tor.list.fresh', 'fail');
    const missing = await check(['--format', 'json', '--offline'], { ...env, NIS2_TOR_CACHE_FILE: join(dir, 'none.txt') }, dir);
    expectStatus(missing, 'tor.list.fresh', 'warn', /lets everyone through/);
    const source = await check(['--format', 'json', '--offline'], { NIS2_TOR_MODE: 'enforce', NIS2_TOR_SOURCE: join(dir, 'no-source.txt') }, dir);
    expectStatus(source, 'tor.list.fresh', 'fail', /cannot be read/);
    const sourceOk = await check(['--format', 'json', '--offline'], { NIS2_TOR_MODE: 'enforce', NIS2_TOR_SOURCE: cache }, dir);
    expectStatus(sourceOk, 'tor.list.fresh', 'pass');
    const noCache = await check(['--format', 'json', '--offline'], { ...env, NIS2_TOR_CACHE_FILE: 'off' }, dir);
    expectStatus(noCache, 'tor.list.fresh', 'warn', /cacheFile is off/);
    const never = await check(['--format', 'json', '--offline'], { ...env, NIS2_TOR_CACHE_FILE: old, NIS2_TOR_STALE_AFTER: '0' }, dir);
    expectStatus(never, 'tor.list.fresh', 'info', /never reported/);
    expectStatus(await check(['--format', 'json', '--offline'], {}), 'tor.list.fresh', 'info', /off/);
  });

  // ---- events file ----
  test('events file: writable passes; under a regular file, or a directory in its place, fails', async () => {
    const dir = freshDir();
    const ok = await check(['--format', 'json', '--offline'], { NIS2_EVENTS_FILE: join(dir, 'logs', 'deep', 'events.jsonl') }, dir);
    expectStatus(ok, 'export.events-file.writable', 'pass', /only sink/);
    assert.equal(existsSync(join(dir, 'logs')), false, 'check must not create directories');
    writeFileSync(join(dir, 'plain'), 'x');
    const under = await check(['--format', 'json', '--offline'], { NIS2_EVENTS_FILE: join(dir, 'plain', 'events.jsonl') }, dir);
    expectStatus(under, 'export.events-file.writable', 'fail', /not a directory/);
    assert.equal(under.code, 1);
    mkdirSync(join(dir, 'adir'));
    const isDir = await check(['--format', 'json', '--offline'], { NIS2_EVENTS_FILE: join(dir, 'adir') }, dir);
    expectStatus(isDir, 'export.events-file.writable', 'fail', /not a regular file/);
  });

  test('events file: a read-only directory fails', { skip: isRoot && 'root writes anywhere' }, async () => {
    const dir = freshDir();
    const ro = join(dir, 'ro');
    mkdirSync(ro, { mode: 0o500 });
    const r = await check(['--format', 'json', '--offline'], { NIS2_EVENTS_FILE: join(ro, 'events.jsonl') }, dir);
    expectStatus(r, 'export.events-file.writable', 'fail', /EACCES/);
  });
});

// ---- network: OTLP endpoint, TLS, clock skew, Redis ----
describe('nis2-otel check against real endpoints on 127.0.0.1', { concurrency: 6 }, () => {
  const servers: Array<Server | NetServer> = [];
  const sockets = new Set<Socket>();
  const paths: string[] = [];
  let good = '';
  let skewed = '';
  let silent = '';
  let closedPort = 0;
  let tlsUrl = '';
  let certFile = '';
  const redis = new RedisServer();
  const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

  async function listen(server: Server | NetServer): Promise<number> {
    servers.push(server);
    server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  before(async () => {
    // An OTLP/HTTP receiver answers GET with 405, as the collector does; it records the paths asked.
    good = `http://127.0.0.1:${await listen(createHttpServer((req, res) => { paths.push(req.url ?? ''); res.writeHead(405).end(); }))}`;
    skewed = `http://127.0.0.1:${await listen(createHttpServer((_req, res) => {
      res.setHeader('Date', new Date(Date.now() - 60_000).toUTCString());
      res.writeHead(405).end();
    }))}`;
    // Accepts TCP, never answers HTTP.
    silent = `http://127.0.0.1:${await listen(createNetServer(() => {}))}`;
    closedPort = await freePort();
    if (haveOpenssl) {
      const dir = freshDir();
      certFile = join(dir, 'cert.pem');
      const keyPem = join(dir, 'key.pem');
      const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPem, '-out', certFile,
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const https = createHttpsServer({ key: readFileSync(keyPem), cert: readFileSync(certFile) }, (_req, res) => res.writeHead(405).end());
      tlsUrl = `https://127.0.0.1:${await listen(https)}`;
    }
    await redis.start();
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await redis.stop();
  });

  test('OTLP reachable over loopback http: reachable, TLS not needed, clock within 2 s; the generic endpoint gets v1/logs', async () => {
    const r = await check(['--format', 'json'], { OTEL_EXPORTER_OTLP_ENDPOINT: good });
    expectStatus(r, 'export.otlp.reachable', 'pass', /HTTP 405/);
    expectStatus(r, 'export.otlp.tls', 'pass', /loopback/);
    expectStatus(r, 'export.otlp.protocol', 'pass');
    const skew = expectStatus(r, 'clock.skew', 'pass');
    assert.ok(Math.abs(skew.data?.['skewMs'] as number) < 2000);
    expectStatus(r, 'export.events-file.writable', 'info');
    assert.ok(paths.includes('/v1/logs'), paths.join());
    const specific = await check(['--format', 'json'], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${good}/custom/logs` });
    expectStatus(specific, 'export.otlp.reachable', 'pass');
    assert.ok(paths.includes('/custom/logs'), paths.join());
  });

  test('OTLP endpoint down (closed port): fails, exit 1', async () => {
    const r = await check(['--format', 'json'], { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}` });
    expectStatus(r, 'export.otlp.reachable', 'fail', /ECONNREFUSED/);
    expectStatus(r, 'clock.skew', 'info');
    assert.equal(r.code, 1);
  });

  test('OTLP endpoint that accepts TCP but never answers HTTP fails within --timeout', async () => {
    const started = Date.now();
    const r = await check(['--format', 'json', '--timeout', '300ms'], { OTEL_EXPORTER_OTLP_ENDPOINT: silent });
    expectStatus(r, 'export.otlp.reachable', 'fail', /no HTTP answer within 300 ms/);
    assert.ok(Date.now() - started < 10_000);
  });

  test('clock skew: a collector a minute behind warns', async () => {
    const r = await check(['--format', 'json'], { OTEL_EXPORTER_OTLP_ENDPOINT: skewed });
    const c = expectStatus(r, 'clock.skew', 'warn', /ahead of the collector/);
    assert.ok((c.data?.['skewMs'] as number) > 58_000, JSON.stringify(c.data));
  });

  test('plain http to a non-loopback host warns (no TLS), and --offline sends nothing', async () => {
    const r = await check(['--format', 'json', '--offline'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://192.0.2.10:4318', OTEL_EXPORTER_OTLP_HEADERS: 'api-key=very-secret-value' });
    expectStatus(r, 'export.otlp.tls', 'warn', /without TLS.*headers/);
    expectStatus(r, 'export.otlp.reachable', 'info', /--offline/);
    assert.doesNotMatch(r.stdout, /very-secret-value/);
  });

  test('an endpoint that is not a URL fails; an unsupported protocol warns', async () => {
    const r = await check(['--format', 'json', '--offline'], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'collector:4318', NIS2_OTLP: 'on' });
    expectStatus(r, 'export.otlp.tls', 'fail');
    const notUrl = await check(['--format', 'json', '--offline'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' });
    expectStatus(notUrl, 'export.otlp.tls', 'fail', /not a URL/);
    const grpc = await check(['--format', 'json', '--offline'], { OTEL_EXPORTER_OTLP_ENDPOINT: good, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expectStatus(grpc, 'export.otlp.protocol', 'warn', /grpc/);
  });

  test('https with an untrusted certificate fails the TLS handshake; with OTEL_EXPORTER_OTLP_CERTIFICATE it passes', { skip: !haveOpenssl && 'openssl not installed' }, async () => {
    const untrusted = await check(['--format', 'json'], { OTEL_EXPORTER_OTLP_ENDPOINT: tlsUrl });
    expectStatus(untrusted, 'export.otlp.tls', 'pass', /over TLS/);
    expectStatus(untrusted, 'export.otlp.reachable', 'fail', /TLS handshake failed/);
    const trusted = await check(['--format', 'json'], { OTEL_EXPORTER_OTLP_ENDPOINT: tlsUrl, OTEL_EXPORTER_OTLP_CERTIFICATE: certFile });
    expectStatus(trusted, 'export.otlp.reachable', 'pass', /HTTP 405/);
    expectStatus(trusted, 'clock.skew', 'pass');
  });

  test('Redis: a real redis-server answers PING; a closed port fails; --offline skips; the URL password is never printed', async () => {
    const up = await check(['--format', 'json'], { NIS2_REDIS_URL: redis.url });
    expectStatus(up, 'store.redis.reachable', 'pass', /answers PING/);
    const down = await check(['--format', 'json'], { NIS2_REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${closedPort}` });
    expectStatus(down, 'store.redis.reachable', 'fail', /does not answer PING/);
    assert.equal(down.code, 1);
    assert.doesNotMatch(down.stdout + down.stderr, /s3cret-pass/);
    const offline = await check(['--format', 'json', '--offline'], { NIS2_REDIS_URL: redis.url });
    expectStatus(offline, 'store.redis.reachable', 'info', /--offline/);
    expectStatus(await check(['--format', 'json', '--offline'], {}), 'store.redis.reachable', 'info', /no Redis/);
  });
});

describe('checks that cannot fail on a healthy machine still run through the bin', () => {
  test('Node.js version and monotonic clock pass here (their failing sides: test/compliance/pure.test.ts)', async () => {
    const r = await check(['--format', 'json', '--offline'], {});
    expectStatus(r, 'runtime.node-version', process.release.lts ? 'pass' : 'warn');
    expectStatus(r, 'clock.monotonic', 'pass');
  });
});

after(() => {
  // Temp dirs stay for post-mortem only when a test failed; the keys in them are test keys.
  if (!process.exitCode) spawnSync('rm', ['-rf', root]);
});
