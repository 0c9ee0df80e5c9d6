import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addMonthsUtc, bucketStart, chooseBucketSeconds, formatDuration, MAX_AUTO_BUCKETS, parseDuration, parseRfc3339 } from '../../dist/esm/report/time.js';

test('RFC 3339: offsets honoured, impossible dates and local times refused', () => {
  assert.equal(parseRfc3339('2026-11-25T10:00:00Z'), Date.UTC(2026, 10, 25, 10));
  assert.equal(parseRfc3339('2026-11-25T11:00:00.5+01:00'), Date.UTC(2026, 10, 25, 10, 0, 0, 500));
  assert.equal(parseRfc3339('2028-02-29t00:00:00z'), Date.UTC(2028, 1, 29));
  for (const bad of ['2026-02-30T00:00:00Z', '2027-02-29T00:00:00Z', '2026-11-25T24:00:00Z', '2026-11-25T10:00:00', '2026-11-25 10:00', '2026-11-25', 'now', '', '2026-11-25T10:00:00+25:00']) {
    assert.equal(parseRfc3339(bad), undefined, bad);
  }
});

test('one month after a date: calendar months, clamped to the last day', () => {
  const at = (s: string): number => Date.parse(s);
  assert.equal(new Date(addMonthsUtc(at('2026-11-28T10:01:00.000Z'), 1)).toISOString(), '2026-12-28T10:01:00.000Z');
  assert.equal(new Date(addMonthsUtc(at('2026-01-31T08:00:00.000Z'), 1)).toISOString(), '2026-02-28T08:00:00.000Z');
  assert.equal(new Date(addMonthsUtc(at('2028-01-31T08:00:00.000Z'), 1)).toISOString(), '2028-02-29T08:00:00.000Z');
  assert.equal(new Date(addMonthsUtc(at('2026-12-15T00:00:00.000Z'), 1)).toISOString(), '2027-01-15T00:00:00.000Z');
});

test('buckets: nice sizes, epoch-aligned, never more than the automatic limit', () => {
  assert.equal(chooseBucketSeconds(0), 60);
  assert.equal(chooseBucketSeconds(2 * 3600_000), 300);
  assert.equal(chooseBucketSeconds(24 * 3600_000), 900);
  assert.equal(chooseBucketSeconds(30 * 86_400_000), 43_200);
  for (const span of [1, 59_999, 3_600_000, 86_400_000, 400 * 86_400_000, 50 * 365 * 86_400_000]) {
    const size = chooseBucketSeconds(span) * 1000;
    assert.ok(Math.floor(span / size) + 1 <= MAX_AUTO_BUCKETS, `span ${span}`);
  }
  assert.equal(bucketStart(Date.parse('2026-11-25T10:07:31Z'), 300_000), Date.parse('2026-11-25T10:05:00Z'));
  assert.deepEqual(['90s', '5m', '1h', '1d'].map(parseDuration), [90, 300, 3600, 86_400]);
  for (const bad of ['0m', '5', 'm', '1.5h', '-1h', '1w']) assert.equal(parseDuration(bad), undefined, bad);
  assert.deepEqual([90, 300, 7200, 86_400].map(formatDuration), ['90s', '5m', '2h', '1d']);
});
