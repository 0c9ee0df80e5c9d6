// Datadog: the datadog exporter cannot be built from the module proxy this project reaches (see
// collector-config/README.md), so the exporter's wire format is not exercised here. What is
// proven with the real collector is datadog.yaml's own part: its transform/datadog processor,
// cut out of the file verbatim and run in front of an OTLP/JSON exporter to a mock, producing the
// Datadog standard attributes, ddsource and ddtags, and leaving the body (the future `message`)
// byte for byte and no attribute that the exporter would turn into the message or status.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_DIR, startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { sendEnvelopes } from './helpers/otlp-sender.ts';
import { parseEnvelope, verifyBodies } from './helpers/envelopes.ts';
import { allFixtures, key, pick } from './helpers/fixtures.ts';
import { OtlpMock, type OtlpRecord } from './mocks/otlp.ts';

/** The `processors:` section of datadog.yaml, exactly as shipped. */
function datadogProcessors(): string {
  const text = readFileSync(join(CONFIG_DIR, 'datadog.yaml'), 'utf8');
  const start = text.indexOf('\nprocessors:\n');
  const end = text.indexOf('\nexporters:\n');
  assert.ok(start >= 0 && end > start, 'datadog.yaml layout changed: processors: must precede exporters:');
  return text.slice(start + 1, end + 1);
}

describe('Datadog mapping (transform/datadog from datadog.yaml)', { timeout: SUITE_TIMEOUT_MS }, () => {
  const fx = allFixtures();
  let otlp: OtlpMock;
  let collector: Collector | undefined;
  let dir = '';
  const byKey = new Map<string, OtlpRecord>();

  before(async () => {
    otlp = new OtlpMock(await freePort());
    await otlp.start();
    dir = mkdtempSync(join(tmpdir(), 'nis2-dd-'));
    const cfg = join(dir, 'datadog-mapping.yaml');
    writeFileSync(
      cfg,
      `${datadogProcessors()}
exporters:
  otlp_http/ddmapping:
    endpoint: ${otlp.url}
    encoding: json
service:
  pipelines:
    logs/ddmapping:
      receivers: [otlp]
      processors: [memory_limiter, filter/nis2_only, transform/datadog]
      exporters: [otlp_http/ddmapping]
`,
    );
    collector = await startCollector({ configs: [cfg], env: { DD_ENV: 'staging' } });
    await sendEnvelopes(fx.bodies, { endpoint: collector.otlpHttp, serviceName: 'shop-api', hostName: 'app-host-1' });
    await waitFor('mapped records', () => (otlp.records.length >= fx.bodies.length ? true : undefined), 60_000);
    for (const r of otlp.records) {
      const env = parseEnvelope(r.body ?? '');
      byKey.set(key(env.stream, env.seq), r);
    }
  });

  after(async () => {
    await stopAllCollectors();
    await otlp?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
    if (dir !== '') removeDir(dir);
  });

  const attrs = (event: string): Map<string, unknown> => {
    const { env } = pick(fx, event);
    return byKey.get(key(env.stream, env.seq))!.attributes;
  };

  it('keeps every body byte for byte and adds no attribute the exporter would use as message/status', () => {
    assert.deepEqual(otlp.violations, []);
    assert.equal(otlp.records.length, fx.bodies.length);
    for (const [k, { body }] of fx.byKey) assert.equal(byKey.get(k)?.body, body, k);
    for (const r of otlp.records) {
      for (const reserved of ['message', 'msg', 'log', 'status', 'severity', 'level', 'syslog.severity']) {
        assert.ok(!r.attributes.has(reserved), `${reserved} would replace the envelope/status in Datadog`);
      }
    }
    assert.deepEqual(verifyBodies(otlp.records.map((r) => r.body ?? '')).problems, []);
  });

  it('sets ddsource, evt.name and ddtags on every record', () => {
    for (const [k, { env }] of fx.byKey) {
      const a = byKey.get(k)!.attributes;
      assert.equal(a.get('ddsource'), 'nis2-otel');
      assert.equal(a.get('evt.name'), env.event);
      const tags = String(a.get('ddtags')).split(',');
      assert.ok(tags.includes('env:staging'), String(a.get('ddtags')));
      assert.ok(tags.includes('source:nis2-otel'));
      assert.ok(tags.includes(`nis2_event:${env.event}`));
      assert.ok(tags.includes(`nis2_domain:${env.event.split('.')[1]}`));
    }
  });

  it('maps a blocked request to standard attributes', () => {
    const a = attrs('nis2.rate_limit.exceeded');
    assert.equal(a.get('network.client.ip'), '203.0.113.0');
    assert.equal(a.get('http.method'), 'GET');
    assert.equal(a.get('http.url_details.path'), '/login');
    assert.match(String(a.get('http.useragent')), /Firefox/);
    assert.equal(a.get('evt.outcome'), 'failure');
    assert.ok(String(a.get('ddtags')).split(',').includes('nis2_action:block'));
  });

  it('maps a failed login (usr.id, failure) and monitor mode (success)', () => {
    const l = attrs('nis2.auth.login_failed');
    assert.equal(l.get('usr.id'), 'alice@example.com');
    assert.equal(l.get('evt.outcome'), 'failure');
    assert.equal(l.get('http.status_code'), '401');
    const h = attrs('nis2.session.hijack_suspected');
    assert.equal(h.get('evt.outcome'), 'success');
    assert.equal(h.get('usr.id'), 'bob');
    assert.equal(attrs('nis2.integrity.checkpoint').get('evt.outcome'), undefined);
  });
});
