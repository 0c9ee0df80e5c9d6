import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { canonicalJson, Ed25519SigningKey, HmacSigningKey, parseEd25519SigningKey, StreamSigner } from '../../dist/esm/index.js';
import type { SigningKey } from '../../dist/esm/index.js';

const VECTORS = new URL('../../../shared/vectors/envelope-v1/', import.meta.url);
const keys = JSON.parse(readFileSync(new URL('keys.json', VECTORS), 'utf8'));

function lines(name: string): string[] {
  // JSONL readers split on \n only: valid-chain.jsonl has U+2028 inside a string.
  return readFileSync(new URL(name, VECTORS), 'utf8').split('\n').filter((l) => l.length > 0);
}

/** Re-signs every record of a vector stream with our signer and returns the bodies it produced. */
function reproduce(name: string, key: SigningKey): { expected: string[]; produced: string[] } {
  const expected = lines(name);
  const first = JSON.parse(expected[0]!);
  const signer = new StreamSigner(key, first.stream);
  const produced = expected.map((line) => {
    const e = JSON.parse(line);
    const ms = Date.parse(e.ts);
    switch (e.event) {
      case 'nis2.integrity.stream_start': return signer.start(e.attrs, ms).body;
      case 'nis2.integrity.checkpoint': return signer.checkpoint(ms).body;
      case 'nis2.integrity.stream_end': return signer.end(ms).body;
      default: return signer.seal(e.event, e.severity, e.attrs, ms, e.alg === 'chain').body;
    }
  });
  return { expected, produced };
}

const edKey = parseEd25519SigningKey(keys.ed25519.seed_base64);

test('reproduces the independent vectors byte for byte: every record signed', () => {
  const { expected, produced } = reproduce('valid-signed.jsonl', edKey);
  assert.deepEqual(produced, expected);
});

test('reproduces the independent vectors byte for byte: chain mode with checkpoints', () => {
  const { expected, produced } = reproduce('valid-chain.jsonl', edKey);
  assert.deepEqual(produced, expected);
});

test('reproduces the independent vectors byte for byte: HMAC-SHA256 with a configured key id', () => {
  const hmac = new HmacSigningKey(Buffer.from(keys.hmac_sha256.key_base64, 'base64'), keys.hmac_sha256.kid_source);
  assert.equal(hmac.kid, keys.hmac_sha256.kid);
  const { expected, produced } = reproduce('valid-hmac.jsonl', hmac);
  assert.deepEqual(produced, expected);
});

test('derives the vector kid and public key from the seed, the 64-byte secret key and PEM alike', () => {
  const fromSecret = parseEd25519SigningKey(keys.ed25519.tweetnacl_secret_key_base64);
  assert.equal(edKey.kid, keys.ed25519.kid);
  assert.equal(fromSecret.kid, keys.ed25519.kid);
  assert.equal(edKey.publicKey.toString('base64url'), keys.ed25519.public_key_base64url);
  const pem = `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), edKey.seed()]).toString('base64')}\n-----END PRIVATE KEY-----\n`;
  assert.equal(parseEd25519SigningKey(pem).kid, keys.ed25519.kid);
});

test('the hand-written top level is exactly RFC 8785 for hostile attribute content', () => {
  const signer = new StreamSigner(Ed25519SigningKey.fromSeed(Buffer.alloc(32, 7)), 'edge');
  const attrs = {
    'z': 'last', 'a': 'first', 'stream': 'inner "stream" key', 'nested': [1, 2.5, -0, 1e21, 'x\u2028y'],
    'user_agent.original': 'Mozilla — “ü” 🚀 \u0000\u001f', 'n': 0.1 + 0.2,
  };
  for (const chain of [false, true]) {
    const { body } = signer.seal('nis2.test.edge', 'WARN', attrs, Date.parse('2026-11-25T10:00:00.000Z'), chain);
    assert.equal(body, canonicalJson(JSON.parse(body)));
  }
});

test('ts never goes backwards within a stream when the clock does', () => {
  const signer = new StreamSigner(Ed25519SigningKey.fromSeed(Buffer.alloc(32, 1)), 'clock');
  const a = signer.seal('nis2.x', 'INFO', {}, Date.parse('2026-11-25T10:00:05.000Z'));
  const b = signer.seal('nis2.x', 'INFO', {}, Date.parse('2026-11-25T10:00:01.000Z'));
  assert.equal(a.ts, '2026-11-25T10:00:05.000Z');
  assert.equal(b.ts, a.ts);
});

test('idle heartbeat checkpoints cover an empty range and keep the chain', () => {
  const signer = new StreamSigner(Ed25519SigningKey.fromSeed(Buffer.alloc(32, 2)), 'idle');
  signer.start({}, 0);
  signer.seal('nis2.x', 'INFO', {}, 1000);
  const c1 = JSON.parse(signer.checkpoint(2000).body);
  const c2 = JSON.parse(signer.checkpoint(3000).body);
  assert.deepEqual([c1.attrs.from, c1.attrs.to], [1, 1]);
  assert.deepEqual([c2.attrs.from, c2.attrs.to], [2, 1]);
  assert.equal(c2.seq, 3);
  assert.throws(() => { signer.end(4000); signer.seal('nis2.x', 'INFO', {}, 5000); }, /ended/);
});
