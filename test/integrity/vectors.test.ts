import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Ed25519SigningKey } from '../../dist/esm/integrity/keys.js';
import { verifyRecords } from '../../dist/esm/integrity/verify.js';
import type { StreamReport, VerifyOptions } from '../../dist/esm/integrity/verify.js';
import { vectorKeys, vectorLines } from '../helpers/envelope-vectors.ts';

const hmacKeys = [{ key: vectorKeys.hmac_sha256.key_base64, keyId: vectorKeys.hmac_sha256.kid_source }];

/** Problems that decide the verdict (tamper / unverifiable), as `kind@from-to`. */
function findings(stream: StreamReport): string[] {
  return stream.problems.filter((p) => p.severity === 'tamper' || p.severity === 'unverifiable').map((p) => `${p.kind}@${p.from}-${p.to}`);
}

function verifyVector(name: string, options: VerifyOptions = {}) {
  const report = verifyRecords(vectorLines(name).map((body, i) => ({ body, source: name, line: i + 1 })), options);
  assert.deepEqual(report.malformed, [], `${name}: no malformed lines`);
  return report;
}

// The verdicts the vectors README lists, one row per file.
const EXPECTED: Array<{ file: string; options?: VerifyOptions; streams: Record<string, { state: string; findings: string[] }> }> = [
  { file: 'valid-signed.jsonl', streams: { 'vec-signed-0001': { state: 'intact-closed', findings: [] } } },
  { file: 'valid-chain.jsonl', streams: { 'vec-chain-00002': { state: 'intact-closed', findings: [] } } },
  { file: 'valid-hmac.jsonl', options: { hmacKeys }, streams: { 'vec-hmac-000003': { state: 'intact-closed', findings: [] } } },
  { file: 'valid-hmac.jsonl', streams: { 'vec-hmac-000003': { state: 'cannot-verify', findings: ['no-key@0-2'] } } },
  {
    file: 'valid-two-streams-interleaved.jsonl',
    streams: { 'vec-signed-0001': { state: 'intact-closed', findings: [] }, 'vec-chain-00002': { state: 'intact-closed', findings: [] } },
  },
  { file: 'open-stream.jsonl', streams: { 'vec-open-000004': { state: 'intact-open', findings: [] } } },
  { file: 'tampered-truncated-tail.jsonl', streams: { 'vec-signed-0001': { state: 'intact-open', findings: [] } } },
  { file: 'tampered-modified-attr.jsonl', streams: { 'vec-signed-0001': { state: 'tampered', findings: ['bad-signature@1-1', 'modified@1-1'] } } },
  { file: 'tampered-chain-record-modified.jsonl', streams: { 'vec-chain-00002': { state: 'tampered', findings: ['modified@2-2'] } } },
  { file: 'tampered-deleted-record.jsonl', streams: { 'vec-signed-0001': { state: 'tampered', findings: ['missing@2-2'] } } },
  { file: 'tampered-reordered-seq.jsonl', streams: { 'vec-signed-0001': { state: 'tampered', findings: ['reordered@1-2'] } } },
  { file: 'tampered-inserted-record.jsonl', streams: { 'vec-signed-0001': { state: 'tampered', findings: ['inserted@0-0'] } } },
  { file: 'tampered-bad-signature.jsonl', streams: { 'vec-signed-0001': { state: 'tampered', findings: ['bad-signature@1-1', 'modified@1-1'] } } },
  { file: 'tampered-not-canonical.jsonl', streams: { 'vec-signed-0001': { state: 'tampered', findings: ['not-canonical@1-1'] } } },
];

for (const row of EXPECTED) {
  const label = `${row.file}${row.options ? ' (with the HMAC key)' : ''}`;
  test(`vector ${label}: ${Object.values(row.streams).map((s) => s.state).join(', ')}`, () => {
    const report = verifyVector(row.file, row.options);
    const got = Object.fromEntries(report.streams.map((s) => [s.stream, { state: s.state, findings: findings(s) }]));
    assert.deepEqual(got, row.streams);
  });
}

test('every vector file is covered by the table above', async () => {
  const { readdirSync } = await import('node:fs');
  const { VECTORS_DIR } = await import('../helpers/envelope-vectors.ts');
  const files = readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.jsonl')).sort();
  assert.deepEqual([...new Set(EXPECTED.map((r) => r.file))].sort(), files);
});

test('valid-hmac is never "intact" without its key, and a wrong key under the right key id is not "intact" either', () => {
  const without = verifyVector('valid-hmac.jsonl').streams[0]!;
  assert.equal(without.state, 'cannot-verify');
  assert.equal(without.closed, false);
  const wrong = verifyVector('valid-hmac.jsonl', {
    hmacKeys: [{ key: Buffer.alloc(32, 7), keyId: vectorKeys.hmac_sha256.kid_source }],
  }).streams[0]!;
  assert.equal(wrong.state, 'cannot-verify');
  assert.deepEqual(findings(wrong), ['wrong-key@0-2']);
});

test('the HMAC key id is derived from the configured key id string', () => {
  const report = verifyVector('valid-hmac.jsonl', { hmacKeys });
  assert.equal(report.streams[0]!.key.kid, vectorKeys.hmac_sha256.kid);
  assert.equal(report.streams[0]!.key.source, 'hmac');
});

test('pinning the vector public key marks the key as pinned; pinning another key makes the stream unverifiable', () => {
  const pinned = verifyVector('valid-signed.jsonl', { publicKeys: [vectorKeys.ed25519.public_key_base64url] }).streams[0]!;
  assert.equal(pinned.state, 'intact-closed');
  assert.equal(pinned.key.source, 'pinned');
  const other = verifyVector('valid-signed.jsonl', { publicKeys: [Ed25519SigningKey.fromSeed(randomBytes(32)).publicKey] });
  const s = other.streams[0]!;
  assert.equal(s.state, 'cannot-verify');
  assert.deepEqual(findings(s), ['unknown-key@0-4']);
  assert.equal(s.key.source, 'untrusted');
});

test('line order is not evidence: the reversed interleaved file verifies the same', () => {
  const lines = vectorLines('valid-two-streams-interleaved.jsonl').reverse();
  const report = verifyRecords(lines);
  assert.deepEqual(report.streams.map((s) => s.state), ['intact-closed', 'intact-closed']);
});

test('the tampered vectors report where the damage was read', () => {
  const s = verifyVector('tampered-modified-attr.jsonl').streams[0]!;
  const bad = s.problems.find((p) => p.kind === 'bad-signature')!;
  assert.deepEqual(bad.at, [{ source: 'tampered-modified-attr.jsonl', line: 2 }]);
});
