// What a collector receives: an app under `--require @nis2/otel/register` exporting to an OTLP/HTTP
// sink on 127.0.0.1, in http/json and in the default http/protobuf.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startOtlpSink, type OtlpSink, type SinkLogRecord } from '../helpers/otlp-sink.ts';
import { request, waitFor } from '../helpers/server.ts';
import { cleanup, spawnApp, TEST_PUBLIC_KEY_RAW, verifyEnvelope, type Envelope } from '../helpers/spawn-app.ts';

const sinks: OtlpSink[] = [];
after(async () => {
  cleanup();
  for (const s of sinks) await s.close();
});

for (const protocol of ['http/json', 'http/protobuf'] as const) {
  describe(`OTLP ${protocol}`, () => {
    test('over-limit requests arrive as signed nis2.rate_limit.exceeded records tied to the blocked request\'s server span', async () => {
      const sink = await startOtlpSink();
      sinks.push(sink);
      const app = await spawnApp({
        app: 'http.cjs',
        env: {
          NIS2_RATE_LIMIT: '2/60s',
          NIS2_EVENTS_FILE: undefined,
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol === 'http/json' ? 'http/json' : undefined,
          OTEL_BSP_SCHEDULE_DELAY: '100',
          OTEL_SERVICE_NAME: 'otlp-sink-test',
        },
      });
      try {
        const statuses: number[] = [];
        let blockedBody = '';
        for (let i = 0; i < 4; i++) {
          const r = await request(app.port, { path: `/api/${i}`, headers: { 'user-agent': 'sink-test/1.0' } });
          statuses.push(r.status);
          if (r.status === 429 && !blockedBody) blockedBody = r.body;
        }
        assert.deepEqual(statuses, [200, 200, 429, 429]);

        const record = await waitFor(() => sink.logs.find((l) => l.eventName === 'nis2.rate_limit.exceeded'), `a nis2.rate_limit.exceeded record at the sink (got ${sink.logs.map((l) => l.eventName).join(',')}; errors ${sink.errors.join(';')})`);
        assert.deepEqual(sink.errors, []);
        const logRequests = sink.requests.filter((r) => r.path === '/v1/logs');
        assert.ok(logRequests.length > 0);
        for (const r of logRequests) {
          assert.equal(r.contentType, protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
          assert.ok(r.bytes > 0);
        }
        assert.ok(sink.logs.every((l) => l.encoding === (protocol === 'http/json' ? 'json' : 'protobuf')));

        // eventName, severity and the body: a string holding the signed envelope.
        assert.equal(record.severityText, 'WARN');
        assert.equal(record.severityNumber, 13);
        assert.equal(typeof record.body, 'string');
        const envelope = JSON.parse(record.body as string) as Envelope;
        assert.equal(envelope.v, 1);
        assert.equal(envelope.event, record.eventName);
        assert.equal(envelope.severity, 'WARN');
        assert.equal(envelope.alg, 'Ed25519');
        assert.ok(verifyEnvelope(record.body as string), 'the received body verifies with the app\'s key');

        // Index attributes: copies of the envelope's fields and attrs.
        assert.equal(record.attributes['nis2.stream'], envelope.stream);
        assert.equal(record.attributes['nis2.seq'], envelope.seq);
        assert.equal(record.attributes['nis2.kid'], envelope.kid);
        assert.equal(record.attributes['client.address'], '127.0.0.0', 'anonymised to /24');
        assert.equal(envelope.attrs['client.address'], '127.0.0.0');
        for (const key of ['security_rule.name', 'nis2.action', 'url.path', 'http.request.method', 'http.response.status_code', 'user_agent.original']) {
          assert.deepEqual(record.attributes[key], envelope.attrs[key], key);
        }
        assert.equal(record.attributes['security_rule.name'], 'rate_limit');
        assert.equal(record.attributes['nis2.action'], 'block');
        assert.equal(record.attributes['url.path'], '/api/2');
        assert.equal(record.attributes['http.response.status_code'], 429);
        assert.equal(record.resource['service.name'], 'otlp-sink-test');

        // The stream's first record declares the key; the event record continues the same stream.
        const start = await waitFor(() => sink.logs.find((l) => l.eventName === 'nis2.integrity.stream_start'), 'stream_start at the sink');
        const startEnv = JSON.parse(start.body as string) as Envelope;
        assert.equal(startEnv.seq, 0);
        assert.equal(startEnv.stream, envelope.stream);
        assert.equal(startEnv.attrs['nis2.public_key'], TEST_PUBLIC_KEY_RAW.toString('base64url'));
        assert.ok(envelope.seq > 0);

        // Trace correlation: the record carries the ids of the blocked request's server span.
        assert.match(record.traceId, /^[0-9a-f]{32}$/);
        assert.match(record.spanId, /^[0-9a-f]{16}$/);
        assert.notEqual(record.traceId, '0'.repeat(32));
        assert.equal(JSON.parse(blockedBody).requestId, record.traceId, 'the 429 body\'s requestId is the trace id');
        const span = await waitFor(() => sink.spans.find((s) => s.spanId === record.spanId), `the server span ${record.spanId} at /v1/traces (got ${sink.spans.length} spans)`);
        assert.equal(span.traceId, record.traceId);
        assert.equal(span.kind, 2, 'SPAN_KIND_SERVER');
        assert.equal(span.attributes['security_rule.name'], 'rate_limit');
        assert.equal(span.attributes['nis2.action'], 'block');
        assert.equal(span.attributes['http.response.status_code'], 429);
        assert.equal(span.statusCode, 0, 'a 4xx server span stays UNSET');
        // Allowed requests have server spans without a security verdict.
        const allowed = sink.spans.filter((s) => s.kind === 2 && s.attributes['http.response.status_code'] === 200);
        assert.ok(allowed.length >= 1);
        assert.ok(allowed.every((s) => s.attributes['security_rule.name'] === undefined));
      } finally {
        await app.stop('SIGKILL');
      }
    });
  });
}

describe('OTLP and the local file together', () => {
  test('with an endpoint and NIS2_EVENTS_FILE, the same signed bodies go to both, and the sink sees stream_end at shutdown', async () => {
    const sink = await startOtlpSink();
    sinks.push(sink);
    const app = await spawnApp({
      app: 'http.cjs',
      env: { NIS2_RATE_LIMIT: '1/60s', OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_EXPORTER: 'none' },
    });
    try {
      for (let i = 0; i < 3; i++) await request(app.port, { path: '/both' });
      const exit = await app.stop('SIGTERM');
      assert.equal(exit.signal, 'SIGTERM');
      // The last POST may still be in the sink's socket buffer when the child's exit is seen.
      await waitFor(() => sink.logs.some((l) => l.eventName === 'nis2.integrity.stream_end'), 'stream_end at the sink', 5_000);
      const bodies = (l: SinkLogRecord): string => l.body as string;
      // Batches may arrive in any order (concurrent POSTs): the stream's order is `seq`.
      const fromSink = sink.logs.map(bodies).sort((a, b) => JSON.parse(a).seq - JSON.parse(b).seq);
      const fromFile = app.events().map((e) => JSON.stringify(e));
      assert.ok(fromSink.length >= 3, `sink got ${fromSink.length}`);
      assert.equal(JSON.parse(fromSink.at(-1)!).event, 'nis2.integrity.stream_end');
      assert.deepEqual(fromSink.map((b) => JSON.parse(b)), fromFile.map((b) => JSON.parse(b)), 'one stream, two destinations');
      assert.deepEqual(sink.spans, [], 'OTEL_TRACES_EXPORTER=none is honoured');
    } finally {
      await app.stop('SIGKILL');
    }
  });
});
