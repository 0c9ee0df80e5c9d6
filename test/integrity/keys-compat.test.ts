import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { Ed25519SigningKey, Ed25519VerifyingKey, KeyFormatError, parseEd25519SigningKey } from '../../dist/esm/integrity/keys.js';
import { parseEd25519PublicKey } from '../../dist/esm/integrity/verify.js';
import { vectorKeys } from '../helpers/envelope-vectors.ts';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function pemOfSeed(seed: Buffer): string {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

function assertSameAsTweetnacl(seed: Buffer, message: Buffer): void {
  const ours = Ed25519SigningKey.fromSeed(seed);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  assert.deepEqual(ours.publicKey, Buffer.from(pair.publicKey));
  assert.deepEqual(ours.tweetnaclSecretKey(), Buffer.from(pair.secretKey));
  const sig = ours.sign(message);
  assert.deepEqual(sig, Buffer.from(nacl.sign.detached(message, pair.secretKey)));
  assert.ok(nacl.sign.detached.verify(message, sig, pair.publicKey));
  assert.ok(new Ed25519VerifyingKey(pair.publicKey).verify(message, sig));
}

test('node:crypto signatures are byte-identical to tweetnacl for the vector key', () => {
  const seed = Buffer.from(vectorKeys.ed25519.seed_base64, 'base64');
  for (const message of [Buffer.alloc(0), Buffer.from('{"alg":"Ed25519"}'), randomBytes(1000)]) assertSameAsTweetnacl(seed, message);
  const key = Ed25519SigningKey.fromSeed(seed);
  assert.equal(key.publicKey.toString('base64url'), vectorKeys.ed25519.public_key_base64url);
  assert.equal(key.kid, vectorKeys.ed25519.kid);
  assert.equal(key.tweetnaclSecretKey().toString('base64'), vectorKeys.ed25519.tweetnacl_secret_key_base64);
});

test('node:crypto signatures are byte-identical to tweetnacl for random seeds and messages', () => {
  for (let i = 0; i < 50; i++) assertSameAsTweetnacl(randomBytes(32), randomBytes(i * 7));
});

test('parseEd25519SigningKey accepts seed base64 and base64url, the tweetnacl secret key, and PKCS#8 PEM', () => {
  const { ed25519 } = vectorKeys;
  const seed = Buffer.from(ed25519.seed_base64, 'base64');
  const inputs = [ed25519.seed_base64, ed25519.seed_base64url, ed25519.tweetnacl_secret_key_base64,
    Buffer.from(ed25519.tweetnacl_secret_key_base64, 'base64').toString('base64url'), pemOfSeed(seed), `  ${ed25519.seed_base64url}\n`];
  for (const input of inputs) {
    const key = parseEd25519SigningKey(input);
    assert.equal(key.kid, ed25519.kid);
    assert.deepEqual(key.seed(), seed);
  }
  const generated = generateKeyPairSync('ed25519').privateKey;
  const fromPem = parseEd25519SigningKey(generated.export({ format: 'pem', type: 'pkcs8' }).toString());
  assert.deepEqual(fromPem.seed(), new Ed25519SigningKey(generated).seed());
});

test('parseEd25519SigningKey rejects garbage with a message that never contains the input', () => {
  const seed = randomBytes(32);
  const mismatched = Buffer.concat([seed, randomBytes(32)]).toString('base64');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const inputs = ['', 'not a key at all!', randomBytes(31).toString('base64'), randomBytes(33).toString('base64url'), mismatched,
    '-----BEGIN PRIVATE KEY-----\nZm9vYmFy\n-----END PRIVATE KEY-----', rsa];
  for (const input of inputs) {
    assert.throws(() => parseEd25519SigningKey(input), (err: unknown) => {
      assert.ok(err instanceof KeyFormatError, `${String(err)}`);
      const trimmed = input.trim();
      if (trimmed.length > 0) assert.ok(!err.message.includes(trimmed), `message leaks the input: ${err.message}`);
      // Nor any recognisable part of it (e.g. the base64 body of a PEM).
      for (const part of trimmed.split('\n').filter((p) => p.length >= 8 && !p.startsWith('-----'))) assert.ok(!err.message.includes(part));
      return true;
    });
  }
});

test('parseEd25519PublicKey accepts base64url, base64, raw bytes and SPKI PEM; rejects garbage without echoing it', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  for (const input of [raw, raw.toString('base64'), raw.toString('base64url'), pem]) {
    assert.deepEqual(parseEd25519PublicKey(input).publicKey, raw);
  }
  for (const input of ['nope!', randomBytes(16).toString('base64url'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----']) {
    assert.throws(() => parseEd25519PublicKey(input), (err: unknown) => err instanceof KeyFormatError && !err.message.includes(input));
  }
});
