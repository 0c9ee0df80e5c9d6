// The report's numbers against hand-built, signed fixtures (test/fixtures/report/streams.ts says
// what each stream holds): aggregated summaries, suppressed counts, windows, tampering, replays.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyRecords } from '../../dist/esm/integrity/verify.js';
import { buildIncidentReport, REPORT_LIMITS, ReportOptionsError } from '../../dist/esm/report/build.js';
import { EXPECTED, KEY_A, signSpec, T0, type Ev } from '../fixtures/report/streams.ts';
import { fixtures, HMAC_ARGS, reportJson } from './helpers.ts';

const fx = fixtures('numbers');
const ALL = [fx.a, fx.b, fx.c];

function report(bodies: string[], options: Parameters<typeof buildIncidentReport>[1] = {}) {
  const records = bodies.map((body, i) => ({ body, source: 'mem', line: i + 1 }));
  return buildIncidentReport({ read: { records, malformed: [], skipped: 0 }, verify: verifyRecords(records) }, options);
}

test('counts every occurrence: summaries stand for N, suppressed events are counted apart and flagged', async () => {
  const { code, report: r, stderr } = await reportJson([...HMAC_ARGS, ...ALL]);
  assert.equal(code, 0, stderr);
  assert.equal(r.schema, 'nis2-otel.report/1');
  const s = r.summary;
  assert.equal(s.occurrences, EXPECTED.occurrences);
  assert.equal(s.records, EXPECTED.records);
  assert.equal(s.summarised, EXPECTED.summarised);
  assert.equal(s.notIndividuallyRecorded, EXPECTED.suppressed);
  assert.equal(s.total, EXPECTED.total);
  assert.deepEqual(s.actions, EXPECTED.actions);
  assert.equal(s.sourcePrefixes, EXPECTED.sourcePrefixes);
  assert.equal(s.routes, EXPECTED.routes);
  assert.equal(s.accountsTargeted, EXPECTED.accounts);
  assert.equal(s.eventTypes, EXPECTED.eventTypes);
  assert.deepEqual(s.access, EXPECTED.access);
  assert.deepEqual(s.evidence, { verified: EXPECTED.occurrences, unverified: 0, suspect: 0 });
  assert.equal(r.window.firstEvent, EXPECTED.firstEvent);
  assert.equal(r.window.lastEvent, EXPECTED.lastEvent);

  const rl = r.eventTypes.find((t) => t.event === 'nis2.rate_limit.exceeded')!;
  // 1 + summary of 40 in stream A, 2 in stream C; 20 more dropped by flood control.
  assert.deepEqual([rl.occurrences, rl.records, rl.summarised, rl.notIndividuallyRecorded], [43, 4, 40, 20]);
  assert.equal(r.eventTypes[0]!.event, 'nis2.rate_limit.exceeded', 'types are listed largest first');
  const lf = r.eventTypes.find((t) => t.event === 'nis2.auth.login_failed')!;
  assert.deepEqual([lf.occurrences, lf.notIndividuallyRecorded, lf.actions.allow], [3, 5, 3]);
  const lockout = r.eventTypes.find((t) => t.event === 'nis2.auth.lockout')!;
  assert.equal(lockout.severity, 'ERROR');

  assert.deepEqual(r.suppressed, {
    total: 25, records: 1, unattributed: 0,
    byEvent: [{ event: 'nis2.rate_limit.exceeded', count: 20 }, { event: 'nis2.auth.login_failed', count: 5 }],
  });
  assert.ok(r.notes.some((n) => n.includes('never individually recorded')));
  assert.ok(r.timeline.entries.some((e) => e.kind === 'suppressed' && e.text.startsWith('25 event(s) not individually recorded')));
  assert.ok(r.art23.notification.impact.some((l) => l.startsWith('25 event(s) not individually recorded')));
});

test('groups by type, source prefix, route and time bucket', async () => {
  const { report: r } = await reportJson([...HMAC_ARGS, '--bucket', '5m', ...ALL]);
  assert.equal(r.timeline.bucketSeconds, 300);
  const g = r.incidents.find((i) => i.event === 'nis2.rate_limit.exceeded')!;
  // Streams A (10:01, 10:02 summary) and C (10:03, 10:04) share one prefix, route and bucket.
  assert.deepEqual(
    [g.sourcePrefix, g.route, g.bucketStart, g.bucketEnd, g.occurrences, g.records, g.summarised],
    ['203.0.113.0', '/login', '2026-11-25T10:00:00.000Z', '2026-11-25T10:05:00.000Z', 43, 4, 40],
  );
  assert.deepEqual(g.services, ['shop-api']);
  assert.deepEqual(g.uaFamilies, ['curl']);
  assert.deepEqual(g.rules, ['rate_limit']);
  assert.equal(r.incidents.length, 8);
  assert.deepEqual(r.incidents.map((i) => i.id), ['I001', 'I002', 'I003', 'I004', 'I005', 'I006', 'I007', 'I008']);
  assert.equal(r.incidents.reduce((n, i) => n + i.occurrences, 0), EXPECTED.occurrences, 'every occurrence is in exactly one group');
  const hijack = r.incidents.find((i) => i.event === 'nis2.session.hijack_suspected')!;
  assert.deepEqual([hijack.sourcePrefix, hijack.route, hijack.uaFamilies, hijack.actions.monitor], ['192.0.2.0', '/admin', ['Chrome/Windows'], 1]);

  // With a 1 h bucket the same records fall into fewer groups, same totals.
  const hourly = (await reportJson([...HMAC_ARGS, '--bucket', '1h', ...ALL])).report;
  const tor = hourly.incidents.filter((i) => i.event === 'nis2.tor.blocked');
  assert.equal(tor.length, 1);
  assert.equal(tor[0]!.occurrences, 2);

  // The chart's buckets hold every occurrence and every suppressed count once.
  let sum = 0;
  let dropped = 0;
  for (const b of r.timeline.buckets) {
    assert.equal(b.counts.length, r.timeline.series.length);
    sum += b.counts.reduce((a, c) => a + c, 0);
    dropped += b.notIndividuallyRecorded;
  }
  assert.equal(sum, EXPECTED.occurrences);
  assert.equal(dropped, EXPECTED.suppressed);
  assert.equal(r.timeline.buckets[0]!.start, '2026-11-25T10:00:00.000Z');
  assert.equal(r.timeline.buckets.at(-1)!.start, '2026-11-25T12:00:00.000Z');
});

test('indicators of compromise, affected services and the Art. 23 deadlines', async () => {
  const { report: r } = await reportJson([...HMAC_ARGS, ...ALL]);
  assert.deepEqual(r.indicators.sourcePrefixes.map((p) => [p.value, p.occurrences]), [
    ['203.0.113.0', 43], ['198.51.100.0', 4], ['185.220.101.0', 2], ['192.0.2.0', 2],
  ]);
  assert.deepEqual(r.indicators.uaFamilies.map((u) => [u.value, u.occurrences]), [['curl', 43], ['Chrome/Windows', 1]]);
  assert.deepEqual(r.indicators.rules.map((u) => u.value), ['rate_limit', 'login_failure', 'tor_exit_node', 'ip_deny_list', 'login_lockout', 'session_guard']);
  assert.deepEqual(r.indicators.routes.map((u) => [u.value, u.occurrences]), [['/login', 46], ['/admin', 3], ['/api/orders', 1]]);
  assert.deepEqual(r.services.map((s) => [s.name, s.occurrences, s.notIndividuallyRecorded, s.hosts]), [
    ['shop-api', 48, 25, ['web-1', 'web-3']], ['shop-admin', 5, 0, ['web-2']],
  ]);

  const a = r.art23;
  assert.equal(a.awareness.at, EXPECTED.firstEvent);
  assert.equal(a.earlyWarning.deadline, '2026-11-26T10:01:00.000Z');
  assert.equal(a.notification.deadline, '2026-11-28T10:01:00.000Z');
  assert.equal(a.finalReport.deadline, '2026-12-28T10:01:00.000Z');
  assert.equal(a.earlyWarning.suspectedMalicious.answer, 'yes');
  assert.ok(a.earlyWarning.suspectedMalicious.evidence.some((e) => e.startsWith('1 × Session hijack suspected')));
  assert.equal(a.earlyWarning.suspectedMalicious.toConfirm, true);
  assert.equal(a.earlyWarning.crossBorderImpact.answer, 'possible', 'Tor traffic hides the origin');
  assert.equal(a.notification.severity.level, 'high', 'a session hijack was only monitored');
  assert.ok(a.notification.severity.reasons[0]!.text.includes('Session hijack suspected were not blocked'));
  assert.match(a.notification.initialAssessment, /recorded 78 security event occurrence\(s\) of 8 type\(s\) from 4 source prefix\(es\)/);
  assert.match(a.notification.initialAssessment, /The guard blocked 47 \(88\.7% of the recorded occurrences\)/);
  assert.ok(a.finalReport.mitigations.applied.includes('43 request(s) over the rate limit refused (429 with Retry-After)'));
  assert.ok(a.finalReport.mitigations.applied.includes('2 request(s) from Tor exit nodes refused (403)'));
  assert.ok(a.finalReport.mitigations.toComplete.some((l) => l.includes('session_guard (1)')), 'monitor-only rules are pointed out');
});

test('time window: --since/--until inclusive, --hours from the newest event or from --now', async () => {
  const range = (await reportJson([...HMAC_ARGS, '--since', '2026-11-25T10:00:00Z', '--until', '2026-11-25T10:10:00Z', ...ALL])).report;
  // A: 41 + 3 + 1 and C: 2; B's first event is at 10:30. The suppressed 25 are at 10:07.
  assert.equal(range.summary.occurrences, 47);
  assert.equal(range.summary.notIndividuallyRecorded, 25);
  assert.equal(range.window.basis, 'range');
  assert.equal(range.window.since, '2026-11-25T10:00:00.000Z');
  const edge = (await reportJson([...HMAC_ARGS, '--since', '2026-11-25T10:06:00Z', '--until', '2026-11-25T10:06:00Z', ...ALL])).report;
  assert.equal(edge.summary.occurrences, 1, 'both bounds are inclusive: the lockout at 10:06:00.000');

  const lastHour = (await reportJson([...HMAC_ARGS, '--hours', '1', ...ALL])).report;
  assert.equal(lastHour.window.anchorSource, 'newest-event');
  assert.equal(lastHour.window.until, '2026-11-25T12:00:00.000Z');
  assert.equal(lastHour.window.since, '2026-11-25T11:00:00.000Z');
  assert.equal(lastHour.summary.occurrences, 1);
  assert.equal(lastHour.eventTypes[0]!.event, 'nis2.ip.blocked');
  assert.equal(lastHour.art23.earlyWarning.deadline, '2026-11-26T12:00:00.000Z', 'deadlines run from the first event of the window');

  const anchored = (await reportJson([...HMAC_ARGS, '--hours', '0.5', '--now', '2026-11-25T10:45:00Z', ...ALL])).report;
  assert.equal(anchored.window.anchorSource, 'now-flag');
  // 10:15..10:45: hijack (10:30), Tor ×2 (10:40, 10:41), degraded (10:45).
  assert.equal(anchored.summary.occurrences, 4);

  const empty = await reportJson([...HMAC_ARGS, '--since', '2027-01-01T00:00:00Z', ...ALL]);
  assert.equal(empty.code, 0);
  assert.equal(empty.report.summary.total, 0);
  assert.equal(empty.report.art23.earlyWarning.deadline, null);
  assert.equal(empty.report.art23.earlyWarning.suspectedMalicious.answer, 'no');
  assert.equal(empty.report.art23.notification.severity.level, 'none');
  assert.deepEqual(empty.report.incidents, []);
});

test('tampered copy: reported anyway, integrity stated first and every affected number flagged suspect', async () => {
  const { code, report: r, stderr } = await reportJson([...HMAC_ARGS, fx.aTampered, fx.b, fx.c]);
  assert.equal(code, 1, 'a report on tampered evidence exits 1');
  assert.match(stderr, /TAMPERING DETECTED/);
  assert.equal(r.integrity.status, 'tampered');
  assert.match(r.integrity.headline, /^TAMPERING DETECTED: 1 of 3 stream\(s\) failed verification/);
  const a = r.integrity.streams.find((s) => s.stream === 'stream-A-shop-api-web1')!;
  assert.equal(a.state, 'tampered');
  const bad = a.problems.find((p) => p.kind === 'bad-signature')!;
  assert.deepEqual([bad.from, bad.to, bad.at], [2, 2, '2026-11-25T10:02:00.000Z']);
  assert.equal(r.integrity.streams.find((s) => s.stream === 'stream-B-shop-admin-web2')!.state, 'intact-closed');
  // The forged count is what the file says; it is counted, and marked as unproven.
  assert.equal(r.summary.occurrences, EXPECTED.occurrences - 40 + 4000);
  assert.deepEqual(r.summary.evidence, { verified: 8, unverified: 0, suspect: 4005 });
  assert.ok(r.timeline.entries.some((e) => e.kind === 'integrity' && e.text.startsWith('Integrity: bad-signature at seq 2 of shop-api')));
  assert.ok(r.timeline.buckets.some((b) => b.suspect > 0));
  assert.equal(r.art23.earlyWarning.suspectedMalicious.answer, 'yes');
  assert.match(r.art23.earlyWarning.suspectedMalicious.evidence[0]!, /event log itself fails verification/);
  assert.equal(r.art23.notification.severity.reasons[0]!.level, 'high');
  assert.match(r.art23.notification.severity.reasons.map((x) => x.text).join('\n'), /tampered with/);
  assert.ok(r.services.find((s) => s.name === 'shop-api')!.integrity === 'tampered');
});

test('unverifiable stream (HMAC key not given): numbers kept, marked unverified, exit 1', async () => {
  const { code, report: r } = await reportJson(ALL);
  assert.equal(code, 1);
  assert.equal(r.integrity.status, 'unverifiable');
  assert.equal(r.integrity.keysPinned, false);
  assert.equal(r.summary.occurrences, EXPECTED.occurrences);
  assert.deepEqual(r.summary.evidence, { verified: 50, unverified: 3, suspect: 0 });
  assert.match(r.integrity.headline, /2 stream\(s\) were checked with the key they declare themselves/);
});

test('pinned keys: intact with the right key, cannot-verify with a wrong one', async () => {
  const pinned = await reportJson([...HMAC_ARGS, '--public-key', KEY_A.publicKey!.toString('base64url'), fx.a, fx.c]);
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.equal(pinned.report.integrity.keysPinned, true);
  assert.ok(!pinned.report.integrity.headline.includes('declare themselves'));
  const wrong = await reportJson(['--public-key', Buffer.alloc(32, 9).toString('base64url'), fx.a]);
  assert.equal(wrong.code, 1);
  assert.equal(wrong.report.integrity.streams[0]!.state, 'cannot-verify');
  assert.equal(wrong.report.summary.evidence.unverified, 45);
});

test('replayed records and OTLP/JSON exports give the same numbers', async () => {
  const twice = (await reportJson([...HMAC_ARGS, fx.a, fx.a, fx.b, fx.c])).report;
  assert.equal(twice.integrity.status, 'intact', 'a replay is benign');
  assert.equal(twice.summary.total, EXPECTED.total);
  assert.equal(twice.inputs.envelopes, twice.inputs.distinctRecords + fx.bodies.a.length);

  const otlp = join(fx.dir, 'export.otlp.json');
  const logRecords = [...fx.bodies.a, ...fx.bodies.b, ...fx.bodies.c].map((body) => ({ body: { stringValue: body }, attributes: [] }));
  writeFileSync(otlp, JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: '@nis2/otel' }, logRecords }] }] }, null, 2));
  const viaOtlp = await reportJson([...HMAC_ARGS, otlp]);
  assert.equal(viaOtlp.code, 0, viaOtlp.stderr);
  assert.equal(viaOtlp.report.inputs.files[0]!.format, 'otlp-json');
  assert.deepEqual(viaOtlp.report.summary, (await reportJson([...HMAC_ARGS, ...ALL])).report.summary);
});

test('reproducible: the same log and flags give the same report, apart from generatedAt', async () => {
  const one = (await reportJson([...HMAC_ARGS, '--hours', '2', ...ALL])).report;
  const two = (await reportJson([...HMAC_ARGS, '--hours', '2', ...ALL])).report;
  assert.deepEqual({ ...one, generatedAt: '' }, { ...two, generatedAt: '' });
});

test('edge case: odd aggregate counts are counted once and noted; sealed addresses never printed', () => {
  const attrs = { 'client.address': 'nis2enc:1:kid:AAAA', 'url.path': '/x', 'nis2.action': 'block', 'security_rule.name': 'rate_limit' };
  const events: Ev[] = [
    { at: T0 + 1000, event: 'nis2.rate_limit.exceeded', attrs: { ...attrs, 'nis2.aggregate.count': -5 } },
    { at: T0 + 2000, event: 'nis2.rate_limit.exceeded', attrs: { ...attrs, 'nis2.aggregate.count': 'lots' } },
    { at: T0 + 3000, event: 'nis2.rate_limit.exceeded', attrs: { ...attrs, 'nis2.aggregate.count': 1.5 } },
    { at: T0 + 4000, event: 'nis2.events.suppressed', attrs: { 'nis2.suppressed.count': 7 } },
  ];
  const r = report(signSpec({ key: KEY_A, stream: 'odd', service: 'svc', host: 'h', startMs: T0, endMs: T0 + 5000, events }));
  assert.equal(r.summary.occurrences, 3);
  assert.equal(r.summary.summarised, 0);
  assert.ok(r.notes.some((n) => n.includes('3 record(s) carried an unusable nis2.aggregate.count')));
  assert.deepEqual(r.suppressed, { total: 7, records: 1, byEvent: [], unattributed: 7 }, 'a count without per-event detail stays unattributed');
  assert.equal(r.indicators.sourcePrefixes.length, 0, 'sealed values are no indicator');
  assert.ok(!JSON.stringify(r).includes('nis2enc:'));
});

test('edge case: attacker-controlled values are clipped and cleaned; distinct values are bounded', () => {
  const events: Ev[] = [];
  const n = REPORT_LIMITS.distinctPrefixes + 50;
  for (let i = 0; i < n; i++) {
    events.push({
      at: T0 + i, event: 'nis2.ip.blocked', attrs: {
        'client.address': `10.${(i >> 8) & 255}.${i & 255}.0`, 'url.path': i === 0 ? `/a\u202e\u0000${'x'.repeat(5000)}` : '/p',
        'nis2.action': 'block', 'security_rule.name': 'ip_deny_list',
      },
    });
  }
  const started = performance.now();
  const r = report(signSpec({ key: KEY_A, stream: 'flood', service: 'svc', host: 'h', startMs: T0, endMs: T0 + n + 10, events }));
  assert.ok(performance.now() - started < 10_000, 'a large input stays fast');
  assert.equal(r.summary.occurrences, n);
  assert.equal(r.indicators.sourcePrefixes.length, REPORT_LIMITS.indicatorsPerList);
  assert.equal(r.indicators.omitted.sourcePrefixes, REPORT_LIMITS.distinctPrefixes + 1 - REPORT_LIMITS.indicatorsPerList);
  assert.ok(r.notes.some((x) => x.startsWith(`More than ${REPORT_LIMITS.distinctPrefixes.toLocaleString('en-US')} distinct source prefixes: 50 record(s)`)));
  assert.equal(r.indicators.sourcePrefixes.find((p) => p.value === '(other)')!.occurrences, 50);
  const long = r.indicators.routes.find((x) => x.value.startsWith('/a'))!;
  assert.ok(long.value.length <= REPORT_LIMITS.maxTextLength + 1);
  assert.ok(!long.value.includes('\u0000') && !long.value.includes('\u202e'), 'control and bidi characters are replaced');
  assert.ok(r.incidents.length <= REPORT_LIMITS.incidents);
  // Timeline: service start and stop, the first sighting, then one "new source" per distinct prefix
  // (5,000 and "(other)"); the most important are kept, the rest counted.
  assert.equal(r.timeline.entries.length, REPORT_LIMITS.timelineEntries);
  assert.equal(r.timeline.entries.length + r.timeline.entriesOmitted, 2 + 1 + REPORT_LIMITS.distinctPrefixes);
  assert.ok(r.timeline.entries.some((e) => e.kind === 'service' && e.text.includes('stopped cleanly')), 'the stop outranks the 5,000th new source');
  assert.equal(r.incidents.reduce((s, i) => s + i.occurrences, 0) + r.incidentsOmitted.occurrences, n);
});

test('bad options are refused with a message, not a crash', () => {
  const bodies = fx.bodies.a;
  assert.throws(() => report(bodies, { since: T0 + 1000, until: T0 }), ReportOptionsError);
  assert.throws(() => report(bodies, { since: T0, hours: 1 }), /--hours or --since, not both/);
  assert.throws(() => report(bodies, { now: T0 }), /--now only anchors --hours/);
  assert.throws(() => report(bodies, { since: T0 - 10 * 86_400_000, until: T0, bucketSeconds: 60 }), /choose a larger --bucket/);
});
