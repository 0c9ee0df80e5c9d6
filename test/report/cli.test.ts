// `nis2-otel report` as a user runs it: output files, exit codes, and clear errors for bad input.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { fixtures, HMAC_ARGS } from './helpers.ts';

const fx = fixtures('cli');
const ALL = [fx.a, fx.b, fx.c];

test('--out writes the report (mode 0600) and says what it wrote on stderr', async () => {
  const out = join(fx.dir, 'incident.html');
  const r = await runCli(['report', ...HMAC_ARGS, '--format', 'html', '--out', out, ...ALL]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /incident\.html written: 78 occurrence\(s\), 8 type\(s\), 8 incident group\(s\); integrity intact/);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.match(readFileSync(out, 'utf8'), /^<!doctype html>/);
  assert.deepEqual(readdirSync(fx.dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  const json = join(fx.dir, 'incident.json');
  assert.equal((await runCli(['report', ...HMAC_ARGS, '--out', json, ...ALL])).code, 0);
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).schema, 'nis2-otel.report/1', 'JSON is the default format');
});

test('usage errors exit 2 with a message naming the problem', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['report'], /missing required argument/],
    [['report', join(fx.dir, 'nope.jsonl')], /no such file: .*nope\.jsonl/],
    [['report', fx.dir], /not a file/],
    [['report', fx.noEnvelopes], /no signed event envelopes found in .*plain\.log\.jsonl \(2 other record\(s\), 0 malformed line\(s\)\)/],
    [['report', '--since', '2026-02-30T00:00:00Z', fx.a], /--since: expected an RFC 3339 time/],
    [['report', '--until', '2026-11-25 10:00', fx.a], /--until: expected an RFC 3339 time/],
    [['report', '--since', '2026-11-26T00:00:00Z', '--until', '2026-11-25T00:00:00Z', fx.a], /the window ends \(2026-11-25T00:00:00\.000Z\) before it starts/],
    [['report', '--hours', '2', '--since', '2026-11-25T00:00:00Z', fx.a], /give --hours or --since, not both/],
    [['report', '--hours', '-1', fx.a], /--hours: expected a positive number/],
    [['report', '--hours', 'abc', fx.a], /--hours: expected a positive number/],
    [['report', '--now', '2026-11-25T00:00:00Z', fx.a], /--now only anchors --hours/],
    [['report', '--bucket', '0m', fx.a], /--bucket: expected a duration/],
    [['report', '--bucket', '1m', '--since', '2000-01-01T00:00:00Z', fx.a], /choose a larger --bucket/],
    [['report', '--format', 'pdf', fx.a], /Allowed choices are json, html/],
    [['report', '--public-key', 'not-a-key', fx.a], /--public-key: cannot read 'not-a-key' \(ENOENT\)/],
    [['report', '--hmac-key', 'AAAA', '--hmac-key-file', fx.a, fx.a], /not both/],
    [['report', '--out', fx.dir, fx.a], /--out: .* is a directory/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('an unwritable --out is a usage error, and the secret HMAC key is never echoed', async () => {
  const out = join(fx.dir, 'missing-dir', 'r.json');
  const r = await runCli(['report', ...HMAC_ARGS, '--out', out, ...ALL]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--out: cannot write .*\(ENOENT\)/);
  const bad = await runCli(['report', '--hmac-key', '!!notbase64!!', fx.c]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--hmac-key: not base64/);
  assert.doesNotMatch(bad.stderr + bad.stdout, /notbase64/);
  const ok = await runCli(['report', ...HMAC_ARGS, fx.c]);
  assert.doesNotMatch(ok.stdout + ok.stderr, new RegExp(HMAC_ARGS[1]!.replace(/[+/=]/g, '.')), 'the key is not in the report');
});

test('listed in the CLI help', async () => {
  const r = await runCli(['--help']);
  assert.match(r.stdout, /report \[options\] <files\.\.\.>\s+NIS2 Art\. 23 incident report/);
});
