import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Ed25519SigningKey } from '../../dist/esm/integrity/keys.js';
import { keyIdOf } from '../../dist/esm/integrity/encoding.js';
import { OpeningKey, SEALED_PREFIX, SealingKey, generateSealKeyPair } from '../../dist/esm/privacy/seal.js';
import { runCli } from '../helpers/cli.ts';
import { signStream } from '../helpers/sign-stream.ts';
import { loadSodium, type Sodium } from '../privacy/sodium.ts';

const tmp = mkdtempSync(join(tmpdir(), 'nis2-cli-decrypt-'));
const signingKey = Ed25519SigningKey.fromSeed(Buffer.alloc(32, 9));
let sodium: Sodium;
before(async () => {
  sodium = await loadSodium();
});

function keyFile(name: string, privateKey: Uint8Array, mode = 0o600): string {
  const path = join(tmp, name);
  writeFileSync(path, `${Buffer.from(privateKey).toString('base64url')}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

/** A signed stream whose events carry `attrsOf(i)`; returns the file path. */
function eventsFile(name: string, events: number, attrsOf: (i: number) => Record<string, unknown>): string {
  const path = join(tmp, name);
  writeFileSync(path, `${signStream({ key: signingKey, mode: 'signed', events, attrsOf }).join('\n')}\n`);
  return path;
}

function lines(stdout: string): Array<{ event: string; seq: number; attrs: Record<string, unknown> }> {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

test('keygen --encryption prints an X25519 key pair whose halves agree (libsodium derives the same public key)', async () => {
  const r = await runCli(['keygen', '--encryption']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['alg', 'kid', 'privateKey', 'publicKey']);
  assert.equal(out.alg, 'X25519');
  const pub = Buffer.from(out.publicKey, 'base64url');
  assert.equal(pub.length, 32);
  assert.equal(out.kid, keyIdOf(pub));
  assert.deepEqual(Buffer.from(sodium.crypto_scalarmult_base(Buffer.from(out.privateKey, 'base64url'))), pub);
  const env = await runCli(['keygen', '--encryption', '--format', 'env']);
  assert.match(env.stdout, /^NIS2_PII_PUBLIC_KEY=[A-Za-z0-9_-]{43}$/m);
});

test('keygen --encryption --out writes pii-key (0600) and pii-key.pub, keeps the private key off stdout, and the pair seals and opens', async () => {
  const dir = join(tmp, 'keys');
  const r = await runCli(['keygen', '--encryption', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  const privatePath = join(dir, 'pii-key');
  const publicPath = join(dir, 'pii-key.pub');
  assert.equal(statSync(privatePath).mode & 0o777, 0o600);
  assert.equal(statSync(publicPath).mode & 0o022, 0);
  const privateText = readFileSync(privatePath, 'utf8').trim();
  assert.ok(!r.stdout.includes(privateText), 'the private key is not printed when written to a file');
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.files, { 'pii-key': privatePath, 'pii-key.pub': publicPath });
  const sealer = SealingKey.parse(readFileSync(publicPath, 'utf8'));
  assert.equal(sealer.kid, out.kid);
  assert.deepEqual(OpeningKey.parse(privateText).openString(sealer.sealString('round trip')), { ok: true, value: 'round trip' });
  const again = await runCli(['keygen', '--encryption', '--out', dir]);
  assert.equal(again.code, 2, 'never overwrites');
  const both = await runCli(['keygen', '--encryption', '--hmac']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--hmac or --encryption/);
});

test('decrypt opens values sealed here and by libsodium, prints JSONL, and writes nothing', async () => {
  const pair = generateSealKeyPair();
  const sealer = new SealingKey(pair.publicKey);
  const byLibsodium = `${SEALED_PREFIX}${pair.kid}:${Buffer.from(sodium.crypto_box_seal('from libsodium', pair.publicKey)).toString('base64url')}`;
  const file = eventsFile('mixed.jsonl', 3, (i) => ({
    'user.id': sealer.sealString(`user-${i}`), 'user.id.hash': `h${i}`, 'client.address': '203.0.113.0',
    ...(i === 2 && { 'user.name': byLibsodium, 'nis2.list': [sealer.sealString('in a list'), 'clear'] }),
  }));
  const key = keyFile('k1', pair.privateKey);
  const before = sha256(file);
  const filesBefore = readdirSync(tmp).sort();
  const r = await runCli(['decrypt', '--key', key, file]);
  assert.equal(r.code, 0, r.stderr);
  const records = lines(r.stdout);
  const events = records.filter((e) => e.event.startsWith('test.') || e.attrs['user.id'] !== undefined);
  assert.deepEqual(events.map((e) => e.attrs['user.id']), ['user-1', 'user-2', 'user-3']);
  const second = events[1]!;
  assert.equal(second.attrs['user.name'], 'from libsodium');
  assert.deepEqual(second.attrs['nis2.list'], ['in a list', 'clear']);
  assert.equal(second.attrs['user.id.hash'], 'h2', 'other attributes are left as they were');
  assert.equal(records.length, readFileSync(file, 'utf8').trim().split('\n').length, 'every envelope is printed, integrity records included');
  assert.match(r.stderr, /5 value\(s\) opened, 0 could not be opened/);
  assert.equal(sha256(file), before, 'the input is not modified');
  assert.deepEqual(readdirSync(tmp).sort(), filesBefore, 'no file is written');
});

test('decrypt with the wrong key: each value becomes <unopenable> with the reason on stderr, exit 1', async () => {
  const right = generateSealKeyPair();
  const wrong = generateSealKeyPair();
  const sealer = new SealingKey(right.publicKey);
  const file = eventsFile('wrong.jsonl', 2, (i) => ({ 'user.id': sealer.sealString(`user-${i}`), 'url.path': '/x' }));
  const r = await runCli(['decrypt', '--key', keyFile('wrong', wrong.privateKey), file]);
  assert.equal(r.code, 1);
  const values = lines(r.stdout).map((e) => e.attrs['user.id']).filter((v) => v !== undefined);
  assert.deepEqual(values, ['<unopenable>', '<unopenable>']);
  assert.match(r.stderr, new RegExp(`wrong\\.jsonl:\\d+ \\(seq \\d+\\) attribute 'user\\.id': sealed to key ${right.kid}; no --key with that id was given \\(given: ${wrong.kid}\\)`));
  assert.match(r.stderr, /0 value\(s\) opened, 2 could not be opened/);
});

test('decrypt reports a tampered value as failed authentication and still opens the others', async () => {
  const pair = generateSealKeyPair();
  const sealer = new SealingKey(pair.publicKey);
  const good = sealer.sealString('intact');
  const box = Buffer.from(sealer.sealString('altered').split(':')[3]!, 'base64url');
  box[box.length - 1]! ^= 0x01;
  const tampered = `${SEALED_PREFIX}${pair.kid}:${box.toString('base64url')}`;
  const file = eventsFile('tampered.jsonl', 1, () => ({ 'user.id': good, 'user.name': tampered }));
  const r = await runCli(['decrypt', '--key', keyFile('k-t', pair.privateKey), file]);
  assert.equal(r.code, 1);
  const event = lines(r.stdout).find((e) => e.attrs['user.id'] !== undefined)!;
  assert.equal(event.attrs['user.id'], 'intact');
  assert.equal(event.attrs['user.name'], '<unopenable>');
  assert.match(r.stderr, /attribute 'user\.name': authentication failed/);
});

test('decrypt takes several keys (rotation) and picks each value\'s key by its kid', async () => {
  const old = generateSealKeyPair();
  const current = generateSealKeyPair();
  const a = new SealingKey(old.publicKey);
  const b = new SealingKey(current.publicKey);
  const file = eventsFile('rotated.jsonl', 2, (i) => ({ 'user.id': (i === 1 ? a : b).sealString(`user-${i}`) }));
  const r = await runCli(['decrypt', '--key', keyFile('old', old.privateKey), '--key', keyFile('current', current.privateKey), file]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((e) => e.attrs['user.id']).filter(Boolean), ['user-1', 'user-2']);
});

test('decrypt reads OTLP/JSON exports too', async () => {
  const pair = generateSealKeyPair();
  const sealer = new SealingKey(pair.publicKey);
  const bodies = signStream({ key: signingKey, mode: 'signed', events: 1, attrsOf: () => ({ 'user.email': sealer.sealString('a@example.com') }) });
  const doc = { resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b } })) }] }] };
  const file = join(tmp, 'otlp.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  const r = await runCli(['decrypt', '--key', keyFile('k-otlp', pair.privateKey), file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lines(r.stdout).some((e) => e.attrs['user.email'] === 'a@example.com'));
});

test('decrypt usage errors exit 2 and never echo the key; a key readable by others is warned about', async () => {
  const pair = generateSealKeyPair();
  const file = eventsFile('usage.jsonl', 1, () => ({}));
  const noKey = await runCli(['decrypt', file]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /--key <file> is required/);
  const missing = await runCli(['decrypt', '--key', keyFile('k-u', pair.privateKey), join(tmp, 'nope.jsonl')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file/);
  const noKeyFile = await runCli(['decrypt', '--key', join(tmp, 'absent-key'), file]);
  assert.equal(noKeyFile.code, 2);
  assert.match(noKeyFile.stderr, /cannot read/);
  const garbage = join(tmp, 'garbage-key');
  const secretish = 'c2VjcmV0LWJ1dC13cm9uZy1sZW5ndGg';
  writeFileSync(garbage, secretish, { mode: 0o600 });
  const bad = await runCli(['decrypt', '--key', garbage, file]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /32 bytes/);
  assert.ok(!bad.stderr.includes(secretish));
  const loose = await runCli(['decrypt', '--key', keyFile('k-loose', pair.privateKey, 0o644), file]);
  assert.equal(loose.code, 0);
  assert.match(loose.stderr, /readable by other users/);
});
