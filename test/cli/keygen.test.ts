import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { keyIdOf } from '../../dist/esm/integrity/encoding.js';
import { Ed25519VerifyingKey, HmacSigningKey, parseEd25519SigningKey } from '../../dist/esm/integrity/keys.js';
import { runCli } from '../helpers/cli.ts';
import { signStream } from '../helpers/sign-stream.ts';

const tmp = mkdtempSync(join(tmpdir(), 'nis2-cli-keygen-'));

test('keygen prints an Ed25519 key whose parts agree and that signs and verifies', async () => {
  const r = await runCli(['keygen']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['alg', 'kid', 'publicKey', 'secretKey', 'seed']);
  assert.equal(out.alg, 'Ed25519');
  const fromSeed = parseEd25519SigningKey(out.seed);
  const fromSecret = parseEd25519SigningKey(out.secretKey);
  assert.equal(fromSeed.kid, out.kid);
  assert.equal(fromSecret.kid, out.kid);
  assert.equal(fromSeed.publicKey.toString('base64url'), out.publicKey);
  assert.equal(keyIdOf(Buffer.from(out.publicKey, 'base64url')), out.kid);
  // The 64-byte secret key is tweetnacl's: it signs the same bytes as our key.
  const pair = nacl.sign.keyPair.fromSecretKey(Buffer.from(out.secretKey, 'base64'));
  const message = Buffer.from('nis2');
  assert.deepEqual(Buffer.from(nacl.sign.detached(message, pair.secretKey)), fromSeed.sign(message));
  assert.ok(new Ed25519VerifyingKey(Buffer.from(out.publicKey, 'base64url')).verify(message, fromSeed.sign(message)));

  const again = JSON.parse((await runCli(['keygen'])).stdout);
  assert.notEqual(again.seed, out.seed);
});

test('keygen --format env prints the variables the package reads', async () => {
  const r = await runCli(['keygen', '--format', 'env']);
  assert.equal(r.code, 0);
  const seed = /^NIS2_SIGNING_KEY=(\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(seed, r.stdout);
  const kid = /kid (\S+)/.exec(r.stdout)?.[1];
  assert.equal(parseEd25519SigningKey(seed).kid, kid);
});

test('keygen --hmac prints a 32-byte HMAC key and its kid', async () => {
  const r = await runCli(['keygen', '--hmac']);
  assert.equal(r.code, 0);
  const out = JSON.parse(r.stdout);
  assert.equal(out.alg, 'HMAC-SHA256');
  const key = Buffer.from(out.key, 'base64');
  assert.equal(key.length, 32);
  assert.equal(new HmacSigningKey(key).kid, out.kid);
  const env = await runCli(['keygen', '--hmac', '--format', 'env']);
  assert.match(env.stdout, /^NIS2_HMAC_KEY=\S{44}$/m);
});

test('keygen --out writes signing-key (0600) and signing-key.pub, keeps the secret off stdout, and the key verifies a stream', async () => {
  const dir = join(tmp, 'keys');
  const r = await runCli(['keygen', '--out', dir]);
  assert.equal(r.code, 0, r.stderr);
  const secretPath = join(dir, 'signing-key');
  const publicPath = join(dir, 'signing-key.pub');
  assert.equal(statSync(secretPath).mode & 0o777, 0o600);
  assert.equal(statSync(publicPath).mode & 0o022, 0, 'the public key file is not writable by others');
  const seed = readFileSync(secretPath, 'utf8').trim();
  const key = parseEd25519SigningKey(seed);
  assert.ok(!r.stdout.includes(seed), 'the secret is not printed when written to a file');
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.files, { 'signing-key': secretPath, 'signing-key.pub': publicPath });
  assert.equal(out.kid, key.kid);
  assert.equal(readFileSync(publicPath, 'utf8').trim(), key.publicKey.toString('base64url'));

  // The generated key signs a stream that `verify` accepts with the written public key pinned.
  const events = join(tmp, 'events.jsonl');
  writeFileSync(events, `${signStream({ key, mode: 'chain', events: 5, checkpointEvery: 2 }).join('\n')}\n`);
  const verified = await runCli(['verify', '--public-key', publicPath, events]);
  assert.equal(verified.code, 0, verified.stdout);
  assert.match(verified.stdout, /pinned/);
});

test('keygen --out refuses to overwrite an existing key (exit 2) and leaves it untouched', async () => {
  const dir = join(tmp, 'once');
  assert.equal((await runCli(['keygen', '--out', dir])).code, 0);
  const before = readFileSync(join(dir, 'signing-key'), 'utf8');
  const r = await runCli(['keygen', '--out', dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to overwrite/);
  assert.ok(!r.stderr.includes(before.trim()));
  assert.equal(readFileSync(join(dir, 'signing-key'), 'utf8'), before);

  // Only the public file present still blocks, before anything is written: no half-written pair.
  const pubOnly = join(tmp, 'pub-only');
  mkdirSync(pubOnly);
  writeFileSync(join(pubOnly, 'signing-key.pub'), 'old\n');
  assert.equal((await runCli(['keygen', '--out', pubOnly])).code, 2);
  assert.equal(existsSync(join(pubOnly, 'signing-key')), false);
});

test('keygen --hmac --out writes hmac-key with mode 0600', async () => {
  const dir = join(tmp, 'hmac');
  const r = await runCli(['keygen', '--hmac', '--out', dir, '--format', 'env']);
  assert.equal(r.code, 0, r.stderr);
  const path = join(dir, 'hmac-key');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const text = readFileSync(path, 'utf8').trim();
  assert.equal(Buffer.from(text, 'base64').length, 32);
  assert.ok(!r.stdout.includes(text));
});
