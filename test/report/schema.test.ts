// The JSON output is the contract docs/report.schema.json describes: validated with Ajv (JSON
// Schema 2020-12) on real reports: clean, tampered, unverifiable, empty window, folded series.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { verifyRecords } from '../../dist/esm/integrity/verify.js';
import { buildIncidentReport } from '../../dist/esm/report/build.js';
import { REPORT_SCHEMA_ID } from '../../dist/esm/report/schema.js';
import { KEY_A, signSpec, T0, type Ev } from '../fixtures/report/streams.ts';
import { fixtures, HMAC_ARGS, reportJson } from './helpers.ts';

const schema = JSON.parse(readFileSync(new URL('../../docs/report.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(schema);
const fx = fixtures('schema');

function assertValid(report: unknown, what: string): void {
  const ok = validate(report);
  assert.ok(ok, `${what}: ${ajv.errorsText(validate.errors, { separator: '\n' })}`);
}

test('the schema file names the schema version the code writes', () => {
  assert.equal((schema['properties'] as Record<string, { const?: string }>)['schema']!.const, REPORT_SCHEMA_ID);
});

test('real reports validate: clean, tampered, unverifiable, hours window, empty window', async () => {
  assertValid((await reportJson([...HMAC_ARGS, fx.a, fx.b, fx.c])).report, 'clean');
  assertValid((await reportJson([...HMAC_ARGS, fx.aTampered, fx.b, fx.c])).report, 'tampered');
  assertValid((await reportJson([fx.a, fx.b, fx.c])).report, 'unverifiable');
  assertValid((await reportJson([...HMAC_ARGS, '--hours', '1', '--bucket', '1m', fx.a, fx.b, fx.c])).report, 'hours');
  assertValid((await reportJson([...HMAC_ARGS, '--since', '2030-01-01T00:00:00Z', fx.c])).report, 'empty window');
});

test('a report with more event types than chart series validates (folded "(other types)")', () => {
  const events: Ev[] = Array.from({ length: 14 }, (_, i) => ({ at: T0 + i * 1000, event: `nis2.custom.type_${i}`, attrs: { 'client.address': '192.0.2.0' } }));
  const records = signSpec({ key: KEY_A, stream: 'many', service: 'svc', host: 'h', startMs: T0, endMs: T0 + 60_000, events }).map((body) => ({ body }));
  const r = buildIncidentReport({ read: { records, malformed: [], skipped: 0 }, verify: verifyRecords(records) });
  assert.equal(r.timeline.series.length, 10);
  assert.equal(r.timeline.series.at(-1), '(other types)');
  assert.equal(r.art23.earlyWarning.suspectedMalicious.answer, 'unclear', 'unknown types are to judge by hand, not "no"');
  assertValid(r, 'many types');
});

test('the schema rejects what the contract forbids (so the validation above can fail)', async () => {
  const { report } = await reportJson([...HMAC_ARGS, fx.a, fx.b, fx.c]);
  const extra = structuredClone(report) as unknown as Record<string, unknown>;
  extra['surprise'] = 1;
  assert.equal(validate(extra), false, 'unknown top-level field');
  const missing = structuredClone(report) as unknown as { summary: Record<string, unknown> };
  delete missing.summary['notIndividuallyRecorded'];
  assert.equal(validate(missing), false, 'missing count');
  const negative = structuredClone(report);
  negative.summary.occurrences = -1;
  assert.equal(validate(negative), false, 'negative count');
  const badTime = structuredClone(report);
  badTime.generatedAt = '25/11/2026';
  assert.equal(validate(badTime), false, 'timestamp format');
  const unconfirmed = structuredClone(report) as unknown as { art23: { notification: { toConfirm: unknown } } };
  unconfirmed.art23.notification.toConfirm = false;
  assert.equal(validate(unconfirmed), false, 'pre-filled answers are always "to confirm"');
});
