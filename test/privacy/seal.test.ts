import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import nacl from 'tweetnacl';
import { keyIdOf } from '../../dist/esm/integrity/encoding.js';
import {
  OpeningKey, SEAL_OVERHEAD, SEALED_PREFIX, SealingKey, generateSealKeyPair, parseSealPrivateKey, parseSealPublicKey,
  parseSealedToken, sealWithEphemeralSecret,
} from '../../dist/esm/privacy/seal.js';
import { loadSodium, type Sodium } from './sodium.ts';

let sodium: Sodium;
before(async () => {
  sodium = await loadSodium();
});

// A point of order 8 on Curve25519 (libsodium's blacklist): X25519 with it yields all zeros.
const LOW_ORDER = Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex');

function boxOf(token: string): Buffer {
  const parsed = parseSealedToken(token);
  assert.ok(parsed, `not a sealed token: ${token}`);
  return parsed.box;
}

test('round trip: what SealingKey seals, OpeningKey opens, for empty, unicode and long values', () => {
  const pair = generateSealKeyPair();
  const sealer = new SealingKey(pair.publicKey);
  const opener = new OpeningKey(pair.privateKey);
  assert.equal(opener.kid, sealer.kid);
  assert.deepEqual(opener.publicKey, pair.publicKey);
  for (const value of ['', 'alice', 'Zoë 🔐 ünïcödé', 'x'.repeat(5000)]) {
    const token = sealer.sealString(value);
    assert.match(token, new RegExp(`^${SEALED_PREFIX}${sealer.kid}:[A-Za-z0-9_-]+$`));
    assert.equal(boxOf(token).length, Buffer.byteLength(value) + SEAL_OVERHEAD);
    assert.deepEqual(opener.openString(token), { ok: true, value });
  }
});

test('the kid is base64url of the first 8 bytes of SHA-256(public key), as for signing keys', () => {
  const pair = generateSealKeyPair();
  assert.equal(pair.kid, keyIdOf(pair.publicKey));
  assert.equal(new SealingKey(pair.publicKey).kid, pair.kid);
  assert.match(pair.kid, /^[A-Za-z0-9_-]{11}$/);
});

test('byte-identical to libsodium: epk ‖ crypto_box_easy(m, BLAKE2b-192(epk ‖ pk), pk, esk) for a fixed ephemeral key', () => {
  const recipient = sodium.crypto_box_keypair();
  for (const message of [Buffer.alloc(0), Buffer.from('user-42'), randomBytes(300)]) {
    const esk = randomBytes(32);
    const epk = sodium.crypto_scalarmult_base(esk);
    const nonce = sodium.crypto_generichash(24, Buffer.concat([epk, recipient.publicKey]), null);
    const expected = Buffer.concat([epk, sodium.crypto_box_easy(message, nonce, recipient.publicKey, esk)]);
    assert.deepEqual(sealWithEphemeralSecret(message, recipient.publicKey, esk), expected);
  }
});

test('byte-identical to pure tweetnacl (nacl.box) for a fixed ephemeral key', () => {
  const recipient = nacl.box.keyPair();
  const esk = randomBytes(32);
  const epk = nacl.scalarMult.base(esk);
  const nonce = sodium.crypto_generichash(24, Buffer.concat([epk, recipient.publicKey]), null);
  const message = Buffer.from('bob@example.com');
  const expected = Buffer.concat([epk, nacl.box(message, nonce, recipient.publicKey, esk)]);
  assert.deepEqual(sealWithEphemeralSecret(message, recipient.publicKey, esk), expected);
});

test('interop: a value sealed here opens with libsodium crypto_box_seal_open', () => {
  const recipient = sodium.crypto_box_keypair();
  const sealer = new SealingKey(recipient.publicKey);
  for (const value of ['alice', '203.0.113.9', '']) {
    const opened = sodium.crypto_box_seal_open(boxOf(sealer.sealString(value)), recipient.publicKey, recipient.privateKey);
    assert.equal(Buffer.from(opened).toString('utf8'), value);
  }
});

test('interop: a value sealed by libsodium crypto_box_seal opens here', () => {
  const recipient = sodium.crypto_box_keypair();
  const opener = new OpeningKey(recipient.privateKey);
  const sealed = sodium.crypto_box_seal('sealed by libsodium', recipient.publicKey);
  assert.equal(opener.open(sealed)?.toString('utf8'), 'sealed by libsodium');
  const token = `${SEALED_PREFIX}${keyIdOf(recipient.publicKey)}:${Buffer.from(sealed).toString('base64url')}`;
  assert.deepEqual(opener.openString(token), { ok: true, value: 'sealed by libsodium' });
});

test('two seals of one value differ (fresh ephemeral key each time): ciphertexts never reveal equality', () => {
  const pair = generateSealKeyPair();
  const sealer = new SealingKey(pair.publicKey);
  const a = boxOf(sealer.sealString('same'));
  const b = boxOf(sealer.sealString('same'));
  assert.notDeepEqual(a.subarray(0, 32), b.subarray(0, 32), 'ephemeral keys differ');
  assert.notDeepEqual(a.subarray(32), b.subarray(32));
});

test('tampered ciphertext is rejected: any flipped byte of epk, tag or ciphertext, and truncation', () => {
  const pair = generateSealKeyPair();
  const sealer = new SealingKey(pair.publicKey);
  const opener = new OpeningKey(pair.privateKey);
  const box = sealer.seal(Buffer.from('evidence'));
  for (const i of [0, 17, 31, 32, 40, 47, 48, box.length - 1]) {
    const bad = Buffer.from(box);
    bad[i]! ^= 0x01;
    assert.equal(opener.open(bad), undefined, `byte ${i} flipped`);
    // libsodium agrees, so the test is about the format, not our opener.
    assert.throws(() => sodium.crypto_box_seal_open(bad, pair.publicKey, pair.privateKey));
  }
  assert.equal(opener.open(box.subarray(0, box.length - 1)), undefined);
  assert.equal(opener.open(box.subarray(0, SEAL_OVERHEAD - 1)), undefined);
  assert.equal(opener.open(Buffer.alloc(0)), undefined);
  const token = sealer.sealString('evidence');
  const tampered = boxOf(token);
  tampered[tampered.length - 3]! ^= 0x80;
  const result = opener.openString(`${SEALED_PREFIX}${sealer.kid}:${tampered.toString('base64url')}`);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, 'rejected');
});

test('wrong key: a value sealed to another key is named by its kid, and a forged kid still fails authentication', () => {
  const alice = generateSealKeyPair();
  const mallory = generateSealKeyPair();
  const token = new SealingKey(alice.publicKey).sealString('secret');
  const result = new OpeningKey(mallory.privateKey).openString(token);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, 'other-key');
  assert.match(!result.ok ? result.detail : '', new RegExp(alice.kid));
  // Same kid, other key: the box itself must refuse.
  const forged = token.replace(alice.kid, mallory.kid);
  const forgedResult = new OpeningKey(mallory.privateKey).openString(forged);
  assert.equal(!forgedResult.ok && forgedResult.reason, 'rejected');
});

test('malformed and future-version values are reported, never thrown', () => {
  const opener = new OpeningKey(generateSealKeyPair().privateKey);
  for (const value of ['plain', 'nis2enc:1:', 'nis2enc:1:kid', 'nis2enc:1:kid:***', 'nis2enc:1:a:b:c']) {
    const r = opener.openString(value);
    assert.equal(r.ok, false, value);
  }
  const v2 = opener.openString('nis2enc:2:abc:def');
  assert.equal(!v2.ok && v2.reason, 'unsupported-version');
});

test('a box whose ephemeral key is a low-order point does not open (libsodium refuses it too)', () => {
  const pair = generateSealKeyPair();
  const box = Buffer.concat([LOW_ORDER, randomBytes(40)]);
  assert.equal(new OpeningKey(pair.privateKey).open(box), undefined);
});

test('public keys parse from base64url, base64 and SPKI PEM; low-order points and wrong sizes are refused', () => {
  const { publicKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  assert.deepEqual(parseSealPublicKey(raw.toString('base64url')), raw);
  assert.deepEqual(parseSealPublicKey(` ${raw.toString('base64')}\n`), raw);
  assert.deepEqual(parseSealPublicKey(publicKey.export({ format: 'pem', type: 'spki' }) as string), raw);
  assert.throws(() => parseSealPublicKey(Buffer.alloc(32).toString('base64url')), /low-order/);
  assert.throws(() => parseSealPublicKey(LOW_ORDER.toString('base64url')), /low-order/);
  assert.throws(() => parseSealPublicKey(randomBytes(31).toString('base64url')), /32 bytes, got 31/);
  assert.throws(() => parseSealPublicKey('not base64!'), /base64/);
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }) as string;
  assert.throws(() => parseSealPublicKey(ed), /ed25519, not X25519/);
});

test('private keys parse from base64url and PKCS#8 PEM; errors never echo the key', () => {
  const { privateKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  assert.deepEqual(parseSealPrivateKey(raw.toString('base64url')), raw);
  assert.deepEqual(parseSealPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string), raw);
  const secret = randomBytes(64).toString('base64url');
  assert.throws(() => parseSealPrivateKey(secret), (err: Error) => /32 bytes, got 64/.test(err.message) && !err.message.includes(secret));
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  assert.throws(() => parseSealPrivateKey(ed), /not X25519/);
  // libsodium's key pair is the same key: its secret opens what was sealed to its public half.
  const pair = sodium.crypto_box_keypair();
  assert.deepEqual(new OpeningKey(pair.privateKey).publicKey, Buffer.from(pair.publicKey));
});
