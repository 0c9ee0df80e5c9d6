// Elastic end to end: the elastic distribution (builder-elastic.yaml) with base.yaml + elastic.yaml
// → Elasticsearch mock (GET / probe, _bulk NDJSON, X-Elastic-Product). Asserts the ECS fields per
// event type, that eventName lands in event.action (and nothing else does), document ids for
// idempotent retries, and that `message` carries each envelope byte for byte and they verify.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { sendEnvelopes } from './helpers/otlp-sender.ts';
import { parseEnvelope, verifyBodies } from './helpers/envelopes.ts';
import { assertCliAccepts } from './helpers/verify-cli.ts';
import { allFixtures, key, pick } from './helpers/fixtures.ts';
import { ElasticsearchMock, type BulkDoc } from './mocks/elasticsearch.ts';

const API_KEY = 'bmlzMi1lMmU6c2VjcmV0';

/** Reads an ECS field from a document whether the exporter nested it (dedot) or kept dots. */
function field(doc: Record<string, unknown>, path: string): unknown {
  if (path in doc) return doc[path];
  const parts = path.split('.');
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i).join('.');
    const v = doc[head];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const found = field(v as Record<string, unknown>, parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

describe('Elasticsearch ECS pipeline (elastic.yaml)', { timeout: SUITE_TIMEOUT_MS }, () => {
  const fx = allFixtures();
  let es: ElasticsearchMock;
  let collector: Collector | undefined;
  const byKey = new Map<string, BulkDoc>();

  before(async () => {
    es = new ElasticsearchMock(await freePort(), API_KEY);
    await es.start();
    collector = await startCollector({
      dist: 'elastic',
      configs: ['elastic.yaml'],
      env: { ELASTIC_ENDPOINT: es.url, ELASTIC_API_KEY: API_KEY },
    });
    await sendEnvelopes(fx.bodies, { endpoint: collector.otlpHttp, serviceName: 'shop-api', hostName: 'app-host-1' });
    try {
      await waitFor('all documents at the Elasticsearch mock', () => (es.docs.length >= fx.bodies.length ? true : undefined), 90_000);
    } catch (err) {
      const detail = `docs=${es.docs.length} requests=${es.requests.map((r) => `${r.method} ${r.url.pathname}${r.url.search}`).join(', ')} violations=${JSON.stringify(es.violations)}\n--- collector ---\n${collector.output().slice(-6000)}`;
      throw new Error(`${(err as Error).message}\n${detail}`, { cause: err });
    }
    for (const d of es.docs) {
      const env = parseEnvelope(String(d.source.message));
      byKey.set(key(env.stream, env.seq), d);
    }
  });

  after(async () => {
    await stopAllCollectors();
    await es?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
  });

  const doc = (event: string, attr?: [string, unknown]): Record<string, unknown> => {
    const { env } = pick(fx, event, attr);
    const d = byKey.get(key(env.stream, env.seq));
    assert.ok(d, `no document for ${event}`);
    return d.source;
  };

  it('speaks the bulk API correctly: API key, create into the data stream, no violations', () => {
    assert.deepEqual(es.violations, []);
    assert.deepEqual(es.conflicts, []);
    for (const d of es.docs) {
      assert.equal(d.op, 'create');
      assert.equal(d.index, 'logs-nis2.security-default');
    }
    assert.ok(es.requests.some((r) => r.url.pathname.endsWith('/_bulk')));
  });

  it('stores every envelope once, byte for byte in message, with _id = event.id = stream:seq', () => {
    assert.equal(es.docs.length, fx.bodies.length);
    for (const [k, { body, env }] of fx.byKey) {
      const d = byKey.get(k);
      assert.ok(d, `missing ${k}`);
      assert.ok(Buffer.from(String(d.source.message), 'utf8').equals(Buffer.from(body, 'utf8')), `${k} changed in transit`);
      assert.equal(d.id, `${env.stream}:${env.seq}`);
      assert.equal(field(d.source, 'event.id'), `${env.stream}:${env.seq}`);
      assert.equal(Date.parse(String(d.source['@timestamp'])), Date.parse(env.ts), `${k} @timestamp`);
      assert.equal(field(d.source, 'event.action'), env.event, `${k} event.action`);
      assert.equal(field(d.source, 'event.name'), undefined, `${k} event.name must not survive`);
      assert.equal(field(d.source, 'log.level'), env.severity);
      assert.equal(field(d.source, 'event.dataset'), 'nis2.security');
      assert.equal(field(d.source, 'event.module'), 'nis2');
      // stream_start records carry their own service.name attribute, which wins over the resource's
      assert.equal(field(d.source, 'service.name'), env.attrs['service.name'] ?? 'shop-api');
      assert.equal(field(d.source, 'host.name'), 'app-host-1');
      assert.equal(field(d.source, 'nis2.stream'), env.stream);
      assert.equal(field(d.source, 'nis2.seq'), env.seq);
    }
    const res = verifyBodies(es.docs.map((d) => String(d.source.message)));
    assert.deepEqual(res.problems, []);
    assert.equal(res.streams, 3);
  });

  it('maps a blocked rate-limit event to an ECS alert', () => {
    const d = doc('nis2.rate_limit.exceeded');
    assert.equal(field(d, 'event.kind'), 'alert');
    assert.deepEqual(field(d, 'event.category'), ['intrusion_detection', 'web']);
    assert.deepEqual(field(d, 'event.type'), ['denied', 'info']);
    assert.equal(field(d, 'event.outcome'), 'failure');
    assert.equal(field(d, 'event.severity'), 13);
    assert.equal(field(d, 'source.ip'), '203.0.113.0');
    assert.equal(field(d, 'client.ip'), '203.0.113.0');
    assert.equal(field(d, 'rule.name'), 'rate_limit');
    assert.equal(field(d, 'url.path'), '/login');
    assert.equal(field(d, 'http.request.method'), 'GET');
    assert.match(String(field(d, 'user_agent.original')), /Firefox\/140\.0 — “ü” 🚀$/);
  });

  it('maps a failed login to ECS authentication', () => {
    const d = doc('nis2.auth.login_failed');
    assert.equal(field(d, 'event.kind'), 'event');
    assert.deepEqual(field(d, 'event.category'), ['authentication']);
    assert.deepEqual(field(d, 'event.type'), ['start']);
    assert.equal(field(d, 'event.outcome'), 'failure');
    assert.equal(field(d, 'user.id'), 'alice@example.com');
    assert.equal(field(d, 'source.ip'), '192.0.2.0');
    assert.equal(field(d, 'http.response.status_code'), 401);
  });

  it('maps monitor mode, rule categories, MFA and degraded defenses', () => {
    const h = doc('nis2.session.hijack_suspected');
    assert.equal(field(h, 'event.kind'), 'alert');
    assert.deepEqual(field(h, 'event.category'), ['session', 'intrusion_detection']);
    assert.deepEqual(field(h, 'event.type'), ['allowed', 'info']);
    assert.equal(field(h, 'event.outcome'), 'success');
    assert.equal(field(h, 'source.ip'), '2001:db8:1234::');
    const t = doc('nis2.tor.blocked');
    assert.equal(field(t, 'rule.category'), 'threat_intel');
    const m = doc('nis2.mfa.required');
    assert.deepEqual(field(m, 'event.category'), ['authentication']);
    assert.deepEqual(field(m, 'event.type'), ['denied', 'info']);
    const dg = doc('nis2.defense.degraded');
    assert.deepEqual(field(dg, 'event.category'), ['configuration']);
    assert.deepEqual(field(dg, 'event.type'), ['change']);
    assert.equal(field(dg, 'event.kind'), 'event');
  });

  it('maps access records to ECS web access with an outcome from the status', () => {
    const ok = doc('nis2.http.access', ['http.response.status_code', 201]);
    assert.equal(field(ok, 'event.kind'), 'event');
    assert.deepEqual(field(ok, 'event.category'), ['web']);
    assert.deepEqual(field(ok, 'event.type'), ['access']);
    assert.equal(field(ok, 'event.outcome'), 'success');
    const nf = doc('nis2.http.access', ['http.response.status_code', 404]);
    assert.equal(field(nf, 'event.outcome'), 'failure');
    assert.equal(field(nf, 'url.path'), '/c\u2028x');
  });

  it('maps integrity records to process start/info/end events', () => {
    assert.deepEqual(field(doc('nis2.integrity.stream_start'), 'event.type'), ['start']);
    assert.deepEqual(field(doc('nis2.integrity.checkpoint'), 'event.type'), ['info']);
    assert.deepEqual(field(doc('nis2.integrity.stream_end'), 'event.type'), ['end']);
    assert.deepEqual(field(doc('nis2.integrity.checkpoint'), 'event.category'), ['process']);
    assert.equal(field(doc('nis2.integrity.checkpoint'), 'event.outcome'), undefined);
  });

  it('the package\'s nis2-otel verify accepts the envelopes exported from Elasticsearch (message)', (t) => {
    assertCliAccepts(t, es.docs.map((d) => String(d.source.message)), 3);
  });
});
