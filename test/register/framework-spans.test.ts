import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startOtlpSink, type OtlpSink } from '../helpers/otlp-sink.ts';
import { cleanup, spawnApp } from '../helpers/spawn-app.ts';

const sinks: OtlpSink[] = [];
after(async () => { cleanup(); for (const s of sinks) await s.close(); });

for (const [hook, app] of [['import', 'express.mjs'], ['require', 'express.cjs']] as const) {
  test(`--${hook}: an Express app gets framework spans under the server span, and blocked requests never reach the router`, async () => {
    const sink = await startOtlpSink();
    sinks.push(sink);
    const proc = await spawnApp({
      app, hook,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', NIS2_RATE_LIMIT: '2/60s' },
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`http://127.0.0.1:${proc.port}/items/${i}`)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    await proc.stop('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !sink.spans.some((s) => s.attributes['express.type'] !== undefined)) await new Promise((r) => setTimeout(r, 100));
    const expressSpans = sink.spans.filter((s) => s.attributes['express.type'] !== undefined);
    assert.ok(expressSpans.length > 0, `express spans: ${sink.spans.map((s) => s.name).join(', ')}`);
    const servers = sink.spans.filter((s) => s.kind === 2);
    assert.equal(servers.length, 3);
    const blocked = servers.find((s) => s.attributes['http.response.status_code'] === 429);
    assert.ok(blocked);
    assert.equal(blocked.attributes['security_rule.name'], 'rate_limit');
    assert.ok(!expressSpans.some((s) => s.traceId === blocked.traceId), 'the router never ran for the blocked request');
    assert.deepEqual(sink.errors, []);
  });
}
