import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { vectorKeys, vectorLines, vectorPath } from '../helpers/envelope-vectors.ts';

const dir = mkdtempSync(join(tmpdir(), 'nis2-cli-verify-'));

function tempFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('valid stream: exit 0 and an "intact, closed" verdict', async () => {
  const r = await runCli(['verify', vectorPath('valid-signed.jsonl')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^OK {3}vec-signed-0001 {2}intact, closed {2}seq 0\.\.4, 5 record\(s\)/m);
  assert.match(r.stdout, /^PASS: 1 intact-closed$/m);
  assert.equal(r.stderr, '');
});

test('several files and interleaved streams: exit 0 when every stream is intact and closed', async () => {
  const r = await runCli(['verify', vectorPath('valid-two-streams-interleaved.jsonl'), vectorPath('valid-chain.jsonl')]);
  assert.equal(r.code, 0, r.stdout);
  // valid-chain.jsonl repeats one stream of the interleaved file: byte-identical records are replays.
  assert.match(r.stdout, /benign\s+duplicate/);
});

test('open stream: exit 1, and exit 0 with --allow-open', async () => {
  const open = await runCli(['verify', vectorPath('open-stream.jsonl')]);
  assert.equal(open.code, 1);
  assert.match(open.stdout, /FAIL vec-open-000004 {2}intact, OPEN/);
  assert.match(open.stdout, /--allow-open/);
  const allowed = await runCli(['verify', '--allow-open', vectorPath('open-stream.jsonl')]);
  assert.equal(allowed.code, 0);
  assert.match(allowed.stdout, /^PASS: 1 intact-open$/m);
});

test('truncated tail: never passes as closed', async () => {
  assert.equal((await runCli(['verify', vectorPath('tampered-truncated-tail.jsonl')])).code, 1);
});

test('tampered stream: exit 1, with the problem, its seq range and where it was read', async () => {
  const r = await runCli(['verify', vectorPath('tampered-modified-attr.jsonl')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAIL vec-signed-0001 {2}TAMPERED/);
  assert.match(r.stdout, /tamper\s+bad-signature\s+seq 1\s+.*tampered-modified-attr\.jsonl:2\]/);
  assert.match(r.stdout, /^FAIL: 1 tampered$/m);
  for (const name of ['tampered-deleted-record.jsonl', 'tampered-reordered-seq.jsonl', 'tampered-inserted-record.jsonl', 'tampered-not-canonical.jsonl', 'tampered-chain-record-modified.jsonl', 'tampered-bad-signature.jsonl']) {
    assert.equal((await runCli(['verify', vectorPath(name)])).code, 1, name);
  }
  assert.match((await runCli(['verify', vectorPath('tampered-reordered-seq.jsonl')])).stdout, /reordered\s+seq 1\.\.2/);
});

test('pinned public key: right key passes, wrong key fails as unverifiable', async () => {
  const right = await runCli(['verify', '--public-key', vectorKeys.ed25519.public_key_base64url, vectorPath('valid-signed.jsonl')]);
  assert.equal(right.code, 0, right.stdout + right.stderr);
  assert.match(right.stdout, /pinned with --public-key/);
  const keyFile = tempFile('vector.pub', `${vectorKeys.ed25519.public_key_base64url}\n`);
  assert.equal((await runCli(['verify', '--public-key', keyFile, vectorPath('valid-chain.jsonl')])).code, 0);

  const wrong = await runCli(['verify', '--public-key', Buffer.alloc(32, 9).toString('base64url'), vectorPath('valid-signed.jsonl')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /CANNOT VERIFY/);
  assert.match(wrong.stdout, /unknown-key/);
});

test('HMAC stream: cannot verify without the key, passes with it (file or inline)', async () => {
  const without = await runCli(['verify', vectorPath('valid-hmac.jsonl')]);
  assert.equal(without.code, 1);
  assert.match(without.stdout, /CANNOT VERIFY/);
  const keyFile = tempFile('hmac.key', `${vectorKeys.hmac_sha256.key_base64}\n`);
  const withFile = await runCli(['verify', '--hmac-key-file', keyFile, '--hmac-kid', vectorKeys.hmac_sha256.kid_source, vectorPath('valid-hmac.jsonl')]);
  assert.equal(withFile.code, 0, withFile.stdout + withFile.stderr);
  const inline = await runCli(['verify', '--hmac-key', vectorKeys.hmac_sha256.key_base64, '--hmac-kid', vectorKeys.hmac_sha256.kid_source, vectorPath('valid-hmac.jsonl')]);
  assert.equal(inline.code, 0);
  assert.ok(!inline.stdout.includes(vectorKeys.hmac_sha256.key_base64), 'the key is never printed');
});

test('--format json: the documented shape', async () => {
  const r = await runCli(['verify', '--format', 'json', vectorPath('tampered-deleted-record.jsonl'), vectorPath('open-stream.jsonl')]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout);
  assert.equal(out.schema, 'nis2-otel.verify/1');
  assert.equal(out.ok, false);
  assert.equal(out.allowOpen, false);
  assert.deepEqual(out.inputs.files.map((f: { format: string; records: number }) => [f.format, f.records]), [['jsonl', 4], ['jsonl', 3]]);
  assert.deepEqual(out.summary, { streams: 2, 'intact-closed': 0, 'intact-open': 1, tampered: 1, 'cannot-verify': 0, malformed: 0 });
  const [deleted, open] = out.streams;
  assert.deepEqual(
    { stream: deleted.stream, state: deleted.state, accepted: deleted.accepted, firstSeq: deleted.firstSeq, lastSeq: deleted.lastSeq, records: deleted.records },
    { stream: 'vec-signed-0001', state: 'tampered', accepted: false, firstSeq: 0, lastSeq: 4, records: 4 },
  );
  assert.deepEqual(deleted.problems.map((p: { kind: string; severity: string; from: number; to: number }) => [p.kind, p.severity, p.from, p.to]), [['missing', 'tamper', 2, 2]]);
  assert.deepEqual(deleted.key, { kid: vectorKeys.ed25519.kid, alg: 'Ed25519', source: 'declared' });
  assert.equal(open.state, 'intact-open');
  assert.deepEqual(out.malformed, []);

  const allowed = JSON.parse((await runCli(['verify', '--format', 'json', '--allow-open', vectorPath('open-stream.jsonl')])).stdout);
  assert.equal(allowed.ok, true);
  assert.equal(allowed.streams[0].accepted, true);
});

test('OTLP/JSON export input', async () => {
  const lines = vectorLines('valid-chain.jsonl');
  const file = tempFile('export.json', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: lines.map((l) => ({ body: { stringValue: l } })) }] }] }, null, 2));
  const r = await runCli(['verify', file]);
  assert.equal(r.code, 0, r.stdout);
});

test('a malformed line fails the run, and is shown with its line number', async () => {
  const lines = vectorLines('valid-signed.jsonl');
  const file = tempFile('damaged.jsonl', `${lines.slice(0, 2).join('\n')}\n{"alg":"Ed25\n${lines.slice(2).join('\n')}\n`);
  const r = await runCli(['verify', file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /not JSON \[.*damaged\.jsonl:3\]/);
});

test('no envelopes at all is not a pass', async () => {
  const file = tempFile('other.jsonl', '{"msg":"hello"}\n');
  const r = await runCli(['verify', file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /no envelopes found/);
});

test('usage errors exit 2: unknown flag, missing file, no files, bad format, unusable keys', async () => {
  const valid = vectorPath('valid-signed.jsonl');
  const cases: Array<[string[], RegExp]> = [
    [['verify', '--bogus', valid], /unknown option '--bogus'/],
    [['verify', join(dir, 'does-not-exist.jsonl')], /no such file/],
    [['verify'], /missing required argument 'files'/],
    [['verify', '--format', 'xml', valid], /--format/],
    [['verify', '--public-key', 'no-such-key-file', valid], /--public-key: cannot read/],
    [['verify', '--hmac-kid', 'x', valid], /--hmac-kid needs/],
    [['verify', '--as-of', 'yesterday-ish', valid], /--as-of/],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('a bad HMAC key is refused without echoing it', async () => {
  const secretish = 'c2hvcnQtc2VjcmV0LXZhbHVl';
  const r = await runCli(['verify', '--hmac-key', secretish, vectorPath('valid-hmac.jsonl')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--hmac-key: an HMAC key needs at least 32 bytes/);
  assert.ok(!r.stderr.includes(secretish) && !r.stdout.includes(secretish));
  const file = tempFile('bad.key', 'not base64 at all!!\n');
  const f = await runCli(['verify', '--hmac-key-file', file, vectorPath('valid-hmac.jsonl')]);
  assert.equal(f.code, 2);
  assert.ok(!f.stderr.includes('not base64 at all!!'));
});

test('--help and --version exit 0', async () => {
  const help = await runCli(['verify', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--allow-open/);
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
});
