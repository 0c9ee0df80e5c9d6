// Stretch targets, same standard: Sumo Logic HTTP source (text lines = envelopes) and generic
// OTLP/HTTP forwarding, both from one collector (composed configs), both byte for byte.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { sendEnvelopes } from './helpers/otlp-sender.ts';
import { parseEnvelope, verifyBodies } from './helpers/envelopes.ts';
import { assertCliAccepts } from './helpers/verify-cli.ts';
import { allFixtures, key } from './helpers/fixtures.ts';
import { SumoLogicMock } from './mocks/sumologic.ts';
import { OtlpMock } from './mocks/otlp.ts';

describe('Sumo Logic + generic OTLP pipelines (sumologic.yaml + otlphttp.yaml)', { timeout: SUITE_TIMEOUT_MS }, () => {
  const fx = allFixtures();
  let sumo: SumoLogicMock;
  let otlp: OtlpMock;
  let collector: Collector | undefined;

  before(async () => {
    sumo = new SumoLogicMock(await freePort(), 'ZaVnC4dhaV2ZxQ');
    otlp = new OtlpMock(await freePort());
    await sumo.start();
    await otlp.start();
    collector = await startCollector({
      configs: ['sumologic.yaml', 'otlphttp.yaml'],
      env: { SUMOLOGIC_ENDPOINT: `${sumo.url}${sumo.path}`, OTLP_ENDPOINT: otlp.url, OTLP_ENCODING: 'json' },
    });
    // a non-NIS2 record on the same endpoint must not reach any SIEM pipeline
    const res = await fetch(`${collector.otlpHttp}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: [{ eventName: 'app.debug', body: { stringValue: 'hello' } }] }] }] }),
    });
    assert.equal(res.status, 200);
    await sendEnvelopes(fx.bodies, { endpoint: collector.otlpHttp, serviceName: 'shop-api', hostName: 'app-host-1' });
    await waitFor('both sinks', () => (sumo.messages.length >= fx.bodies.length && otlp.records.length >= fx.bodies.length ? true : undefined), 60_000);
  });

  after(async () => {
    await stopAllCollectors();
    await sumo?.stop();
    await otlp?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
  });

  it('Sumo Logic: one line per envelope, byte for byte, with source metadata', () => {
    assert.deepEqual(sumo.violations, []);
    assert.equal(sumo.messages.length, fx.bodies.length);
    const seen = new Set<string>();
    for (const m of sumo.messages) {
      const env = parseEnvelope(m.line);
      const k = key(env.stream, env.seq);
      assert.equal(m.line, fx.byKey.get(k)?.body, k);
      seen.add(k);
      assert.equal(m.category, 'security/nis2');
      assert.equal(m.name, 'shop-api');
      assert.equal(m.host, 'app-host-1');
    }
    assert.equal(seen.size, fx.bodies.length);
    assert.deepEqual(verifyBodies(sumo.messages.map((m) => m.line)).problems, []);
  });

  it('OTLP: records forwarded unchanged (eventName, severity, body, attributes), non-NIS2 records filtered', () => {
    assert.deepEqual(otlp.violations, []);
    assert.equal(otlp.records.length, fx.bodies.length);
    for (const r of otlp.records) {
      assert.ok(r.body !== undefined);
      const env = parseEnvelope(r.body);
      assert.equal(r.body, fx.byKey.get(key(env.stream, env.seq))?.body);
      assert.equal(r.eventName, env.event);
      assert.equal(r.severityText, env.severity);
      assert.equal(r.attributes.get('nis2.stream'), env.stream);
      assert.equal(r.resource.get('service.name'), 'shop-api');
    }
    assert.ok(!otlp.records.some((r) => r.eventName === 'app.debug'));
    assert.deepEqual(verifyBodies(otlp.records.map((r) => r.body ?? '')).problems, []);
  });

  it('the package\'s nis2-otel verify accepts the envelopes exported from Sumo Logic (raw messages)', (t) => {
    assertCliAccepts(t, sumo.messages.map((m) => m.line), 3);
  });
});
