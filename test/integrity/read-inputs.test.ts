import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseInputBytes, readInputFile, readInputFiles } from '../../dist/esm/integrity/read-inputs.js';
import { verifyRecords } from '../../dist/esm/integrity/verify.js';
import { vectorLines, vectorPath } from '../helpers/envelope-vectors.ts';

/** An OTLP/JSON ExportLogsServiceRequest carrying `bodies`, plus records that are not envelopes. */
function otlpExport(bodies: string[]): Record<string, unknown> {
  return {
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeLogs: [
        { scope: { name: 'app' }, logRecords: [{ body: { stringValue: 'plain app log line' } }, { body: { kvlistValue: { values: [] } } }, { body: { stringValue: '{"msg":"json app log"}' } }] },
        {
          scope: { name: '@nis2/otel' },
          logRecords: bodies.map((body) => ({
            eventName: JSON.parse(body).event,
            severityText: JSON.parse(body).severity,
            body: { stringValue: body },
            // Index copies a verifier must never trust.
            attributes: [{ key: 'nis2.seq', value: { intValue: '999' } }],
          })),
        },
      ],
    }],
  };
}

test('JSONL: splits on \\n only, so a U+2028 inside a string stays inside its record', () => {
  const file = readFileSync(vectorPath('valid-chain.jsonl'));
  assert.ok(file.toString('utf8').includes('\u2028'));
  const read = parseInputBytes(file, 'valid-chain.jsonl');
  assert.equal(read.format, 'jsonl');
  assert.deepEqual(read.records.map((r) => r.body), vectorLines('valid-chain.jsonl'));
  assert.deepEqual(read.records.map((r) => r.line), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(verifyRecords(read.records).streams[0]!.state, 'intact-closed');
});

test('JSONL: a trailing \\r is kept as part of the bytes, and only a final empty line is dropped', () => {
  const lines = vectorLines('valid-signed.jsonl');
  const crlf = parseInputBytes(`${lines.join('\r\n')}\r\n`, 'crlf.jsonl');
  assert.equal(crlf.records.length, 5);
  assert.ok(crlf.records.every((r) => r.body.endsWith('\r')));
  assert.equal(verifyRecords(crlf.records).streams[0]!.state, 'tampered');

  const noFinalNewline = parseInputBytes(lines.join('\n'), 'x.jsonl');
  assert.deepEqual(noFinalNewline.records.map((r) => r.body), lines);
});

test('JSONL: blank lines are ignored, non-JSON lines reported with their line number, other JSON skipped', () => {
  const lines = vectorLines('valid-signed.jsonl');
  const text = [lines[0], '', 'garbage {', lines[1], '{"level":"info","msg":"other log"}', '[1,2]', ...lines.slice(2)].join('\n');
  const read = parseInputBytes(text, 'mixed.jsonl');
  assert.equal(read.records.length, 5);
  assert.deepEqual(read.malformed, [{ reason: 'not JSON', at: { source: 'mixed.jsonl', line: 3 } }]);
  assert.equal(read.skipped, 2);
  assert.equal(read.records[1]!.line, 4);
});

test('JSONL: a damaged envelope missing its seq is passed on, for the verifier to report', () => {
  const read = parseInputBytes('{"stream":"s","v":1}\n', 'x.jsonl');
  assert.equal(read.records.length, 1);
  const report = verifyRecords(read.records);
  assert.deepEqual(report.malformed, [{ reason: '`seq` is not a non-negative integer', stream: 's', at: { source: 'x.jsonl', line: 1 } }]);
});

test('OTLP/JSON export (one pretty-printed document): envelopes from string bodies, other records skipped', () => {
  const lines = vectorLines('valid-two-streams-interleaved.jsonl');
  const read = parseInputBytes(JSON.stringify(otlpExport(lines), null, 2), 'export.json');
  assert.equal(read.format, 'otlp-json');
  assert.deepEqual(read.records.map((r) => r.body), lines);
  assert.equal(read.skipped, 3);
  assert.deepEqual(read.malformed, []);
  assert.deepEqual([read.records[0]!.line, read.records[0]!.index], [1, 4]);
  const report = verifyRecords(read.records);
  assert.deepEqual(report.streams.map((s) => s.state), ['intact-closed', 'intact-closed']);
});

test('OTLP/JSON: the collector file exporter (one export per line), and a compact single-line export', () => {
  const lines = vectorLines('valid-chain.jsonl');
  const text = `${JSON.stringify(otlpExport(lines.slice(0, 4)))}\n${JSON.stringify(otlpExport(lines.slice(4)))}\n`;
  const read = parseInputBytes(text, 'collector.jsonl');
  assert.equal(read.format, 'otlp-jsonl');
  assert.deepEqual(read.records.map((r) => r.body), lines);
  assert.deepEqual(read.records.map((r) => r.line), [1, 1, 1, 1, 2, 2, 2, 2]);
  assert.equal(verifyRecords(read.records).streams[0]!.state, 'intact-closed');

  const single = parseInputBytes(JSON.stringify(otlpExport(lines)), 'one.json');
  assert.equal(single.records.length, 8);
});

test('OTLP/JSON: a tampered body is caught, whatever the index attributes say', () => {
  const lines = vectorLines('valid-signed.jsonl');
  lines[1] = lines[1]!.replace('203.0.113.0', '203.0.113.1');
  const read = parseInputBytes(JSON.stringify(otlpExport(lines)), 'export.json');
  assert.equal(verifyRecords(read.records).streams[0]!.state, 'tampered');
});

test('files: several files are read in turn, with a summary per file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-read-'));
  const lines = vectorLines('valid-chain.jsonl');
  const a = join(dir, 'a.jsonl');
  const b = join(dir, 'b.json');
  writeFileSync(a, `${lines.slice(0, 3).join('\n')}\n`);
  writeFileSync(b, JSON.stringify(otlpExport(lines.slice(3)), null, 2));
  const one = await readInputFile(a);
  assert.equal(one.records[0]!.source, a);
  const both = await readInputFiles([a, b]);
  assert.equal(both.format, 'mixed');
  assert.deepEqual(both.files.map((f) => [f.format, f.records, f.skipped]), [['jsonl', 3, 0], ['otlp-json', 5, 3]]);
  assert.equal(verifyRecords(both.records).streams[0]!.state, 'intact-closed');
  await assert.rejects(readInputFile(join(dir, 'missing.jsonl')), /ENOENT/);
});

test('empty input: nothing read, nothing reported', () => {
  const read = parseInputBytes('', 'empty.jsonl');
  assert.deepEqual(read, { records: [], malformed: [], skipped: 0, format: 'empty' });
});
