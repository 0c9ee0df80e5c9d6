// Splunk HEC end to end: real collector (base.yaml + splunk.yaml) → mock HEC speaking the real
// wire format. Asserts routing metadata, CIM fields per event type, and that every envelope
// arrives byte for byte as the HEC `event` (Splunk's _raw) and still verifies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { sendEnvelopes } from './helpers/otlp-sender.ts';
import { verifyBodies, parseEnvelope } from './helpers/envelopes.ts';
import { assertCliAccepts } from './helpers/verify-cli.ts';
import { allFixtures, key, pick } from './helpers/fixtures.ts';
import { SplunkHecMock, type HecEvent } from './mocks/splunk-hec.ts';

const TOKEN = '11111111-2222-3333-4444-555555555555';

describe('Splunk HEC pipeline (splunk.yaml)', { timeout: SUITE_TIMEOUT_MS }, () => {
  const fx = allFixtures();
  let hec: SplunkHecMock;
  let collector: Collector | undefined;
  const byKey = new Map<string, HecEvent>();

  before(async () => {
    hec = new SplunkHecMock(await freePort(), TOKEN);
    await hec.start();
    collector = await startCollector({
      configs: ['splunk.yaml'],
      env: {
        SPLUNK_HEC_ENDPOINT: `${hec.url}/services/collector`,
        SPLUNK_HEC_TOKEN: TOKEN,
        SPLUNK_INDEX: 'security',
        SPLUNK_ACCESS_INDEX: 'web',
      },
    });
    await sendEnvelopes(fx.bodies, { endpoint: collector.otlpHttp, serviceName: 'shop-api', hostName: 'app-host-1' });
    await waitFor('all events at the HEC mock', () => (hec.events.length >= fx.bodies.length ? true : undefined), 60_000);
    for (const e of hec.events) {
      assert.equal(typeof e.event, 'string', 'the envelope must stay a string event');
      const env = parseEnvelope(e.event as string);
      byKey.set(key(env.stream, env.seq), e);
    }
  });

  after(async () => {
    await stopAllCollectors();
    await hec?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
  });

  it('speaks HEC correctly: token, JSON event stream, no protocol violations', () => {
    assert.deepEqual(hec.violations, []);
    assert.ok(hec.requests.length > 0);
    for (const r of hec.requests) assert.equal(r.headers.authorization, `Splunk ${TOKEN}`);
  });

  it('delivers every envelope exactly once, byte for byte, and they verify', () => {
    assert.equal(hec.events.length, fx.bodies.length);
    for (const [k, { body }] of fx.byKey) {
      const got = byKey.get(k);
      assert.ok(got, `missing ${k}`);
      assert.ok(Buffer.from(got.event as string, 'utf8').equals(Buffer.from(body, 'utf8')), `${k} changed in transit`);
    }
    const result = verifyBodies(hec.events.map((e) => e.event as string));
    assert.deepEqual(result.problems, []);
    assert.equal(result.streams, 3);
  });

  it('sets time, host, source, sourcetype and index (com.splunk.* not left in fields)', () => {
    for (const [k, { env }] of fx.byKey) {
      const e = byKey.get(k)!;
      assert.equal(e.time, Date.parse(env.ts) / 1000, k);
      assert.equal(e.host, 'app-host-1');
      assert.equal(e.source, 'nis2-otel:shop-api');
      assert.equal(e.sourcetype, 'nis2:security');
      assert.equal(e.index, env.event === 'nis2.http.access' ? 'web' : 'security', k);
      for (const f of Object.keys(e.fields ?? {})) assert.ok(!f.startsWith('com.splunk.'), `${k}: ${f} leaked into fields`);
    }
  });

  it('maps a blocked rate-limit event to CIM Intrusion Detection fields', () => {
    const { env } = pick(fx, 'nis2.rate_limit.exceeded');
    const f = byKey.get(key(env.stream, env.seq))!.fields!;
    assert.equal(f.action, 'blocked');
    assert.equal(f.src, '203.0.113.0');
    assert.equal(f.src_ip, '203.0.113.0');
    assert.equal(f.signature, 'rate_limit');
    assert.equal(f.signature_id, 'nis2.rate_limit.exceeded');
    assert.equal(f.category, 'rate_limit');
    assert.equal(f.severity, 'medium');
    assert.equal(f.severity_id, 13);
    assert.equal(f.log_level, 'WARN');
    assert.equal(f.ids_type, 'application');
    assert.equal(f.vendor_product, 'NIS2 OTel');
    assert.equal(f.app, 'shop-api');
    assert.equal(f.dest, 'shop-api');
    assert.equal(f.http_method, 'GET');
    assert.equal(f.uri_path, '/login');
    assert.equal(f.http_user_agent, env.attrs['user_agent.original']);
    // the OTel attribute copies stay available too
    assert.equal(f['nis2.action'], 'block');
    assert.equal(f['nis2.rate_limit.limit'], 5);
    assert.equal(f['nis2.stream'], env.stream);
    assert.equal(f['nis2.seq'], env.seq);
    assert.equal(f['nis2.kid'], env.kid);
  });

  it('maps a failed login to the CIM Authentication model', () => {
    const { env } = pick(fx, 'nis2.auth.login_failed');
    const f = byKey.get(key(env.stream, env.seq))!.fields!;
    assert.equal(f.action, 'failure');
    assert.equal(f.user, 'alice@example.com');
    assert.equal(f.src, '192.0.2.0');
    assert.equal(f.signature, 'auth_failure');
    assert.equal(f.category, 'auth');
    assert.equal(f.session_id, 'hS1bH-5mKp0');
    assert.equal(f.status, 401);
  });

  it('maps monitor mode to "allowed", rule categories and severities', () => {
    const hijack = pick(fx, 'nis2.session.hijack_suspected').env;
    const fh = byKey.get(key(hijack.stream, hijack.seq))!.fields!;
    assert.equal(fh.action, 'allowed');
    assert.equal(fh['nis2.action'], 'monitor');
    assert.equal(fh.severity, 'high');
    assert.equal(fh.src, '2001:db8:1234::');
    const tor = pick(fx, 'nis2.tor.blocked').env;
    const ft = byKey.get(key(tor.stream, tor.seq))!.fields!;
    assert.equal(ft.category, 'threat_intel');
    assert.equal(ft.uri_path, '/admin?x=1&y=2');
    const degraded = pick(fx, 'nis2.defense.degraded').env;
    const fd = byKey.get(key(degraded.stream, degraded.seq))!.fields!;
    assert.equal(fd.severity, 'critical');
    assert.equal(fd.action, undefined);
  });

  it('maps access records to the CIM Web model', () => {
    // the path holds a U+2028 LINE SEPARATOR: it must survive as data
    const { env } = pick(fx, 'nis2.http.access', ['http.response.status_code', 404]);
    const f = byKey.get(key(env.stream, env.seq))!.fields!;
    assert.equal(f.action, 'allowed');
    assert.equal(f.status, 404);
    assert.equal(f.http_method, 'POST');
    assert.equal(f.uri_path, '/c\u2028x');
    assert.equal(f.severity, 'informational');
    assert.equal(f.category, 'http');
    assert.equal(f.ids_type, undefined);
  });

  it('keeps integrity records as they are (no action, informational)', () => {
    const { env } = pick(fx, 'nis2.integrity.checkpoint');
    const f = byKey.get(key(env.stream, env.seq))!.fields!;
    assert.equal(f.signature_id, 'nis2.integrity.checkpoint');
    assert.equal(f.category, 'integrity');
    assert.equal(f.action, undefined);
    assert.equal(f.severity, 'informational');
  });

  it('the package\'s nis2-otel verify accepts the envelopes exported from Splunk (_raw)', (t) => {
    assertCliAccepts(t, hec.events.map((e) => e.event as string), 3);
  });
});
