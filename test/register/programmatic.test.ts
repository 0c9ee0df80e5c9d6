// The programmatic path: the guard and the signed-event pipeline added to the app's own NodeSDK;
// and `register` next to an SDK the app registered first.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { logs } from '@opentelemetry/api-logs';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { createNis2LogProcessor, Nis2Instrumentation, type Nis2Options } from '../../dist/esm/index.js';
import { close, listen, request, waitFor } from '../helpers/server.ts';
import { APPS, cleanup, countCode, spawnApp, tempDir, TEST_PUBLIC_KEY_RAW, TEST_SIGNING_KEY, verifyEnvelope, type Envelope } from '../helpers/spawn-app.ts';

after(cleanup);

describe('NodeSDK built by the app (in-process)', () => {
  const logExporter = new InMemoryLogRecordExporter();
  const spanExporter = new InMemorySpanExporter();
  let sdk: NodeSDK;
  let server: import('node:http').Server;
  let port = 0;

  before(async () => {
    const nis2: Nis2Options = {
      rateLimit: { limit: '2/60s' },
      signing: { key: TEST_SIGNING_KEY },
      export: { eventsFile: join(tempDir('programmatic'), 'unused.jsonl') },
    };
    sdk = new NodeSDK({
      serviceName: 'programmatic-test',
      resourceDetectors: [],
      instrumentations: [new HttpInstrumentation(), new Nis2Instrumentation({ nis2 })],
      spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })],
      logRecordProcessors: [createNis2LogProcessor({ nis2, downstream: [new SimpleLogRecordProcessor({ exporter: logExporter })] })],
      metricReaders: [],
    });
    sdk.start();
    // node:http required after start, as an app's code would be, so the HTTP instrumentation hooks it.
    const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
    server = http.createServer((req, res) => res.end('ok'));
    port = await listen(server);
  });

  after(async () => {
    await close(server);
    await sdk.shutdown();
  });

  const records = (): ReadableLogRecord[] => logExporter.getFinishedLogRecords();

  test('over-limit requests are blocked and reported as signed envelopes in the app\'s own log pipeline', async () => {
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await request(port, { path: `/p${i}` }));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 429, 429]);

    const event = await waitFor(() => records().find((r) => r.eventName === 'nis2.rate_limit.exceeded'), 'a rate-limit record in the in-memory exporter');
    const start = records().find((r) => r.eventName === 'nis2.integrity.stream_start');
    assert.ok(start, 'stream_start went through the same pipeline');
    const startEnv = JSON.parse(String(start.body)) as Envelope;
    assert.equal(startEnv.seq, 0);
    assert.equal(startEnv.attrs['nis2.public_key'], TEST_PUBLIC_KEY_RAW.toString('base64url'));

    assert.equal(typeof event.body, 'string');
    const env = JSON.parse(event.body as string) as Envelope;
    assert.ok(verifyEnvelope(event.body as string), 'the envelope verifies');
    assert.equal(env.stream, startEnv.stream);
    assert.equal(env.event, 'nis2.rate_limit.exceeded');
    assert.equal(env.attrs['url.path'], '/p2');
    assert.equal(env.attrs['client.address'], '127.0.0.0');
    assert.equal(event.attributes['nis2.seq'], env.seq);
    assert.equal(event.attributes['nis2.stream'], env.stream);
    assert.equal(event.attributes['nis2.kid'], env.kid);

    // Correlated with the blocked request's server span, which carries the verdict.
    const sc = event.spanContext;
    assert.ok(sc, 'the record has a span context');
    assert.equal(JSON.parse(responses[2]!.body).requestId, sc.traceId);
    const span = await waitFor(() => spanExporter.getFinishedSpans().find((s) => s.spanContext().spanId === sc.spanId), 'the blocked server span');
    assert.equal(span.attributes['security_rule.name'], 'rate_limit');
    assert.equal(span.attributes['nis2.action'], 'block');
    assert.equal(span.attributes['http.response.status_code'], 429);
    assert.equal(span.status.code, 0, 'UNSET');
  });

  test('a block that came too late (another listener already answered) is recorded on the span as nis2.block_failed', async () => {
    const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
    const late = http.createServer();
    // Added around the guard's patch, like a listener registered before the guard was enabled.
    EventEmitter.prototype.on.call(late, 'request', (_req: unknown, res: import('node:http').ServerResponse) => res.end('first'));
    let appCalls = 0;
    late.on('request', () => { appCalls++; });
    const latePort = await listen(late);
    try {
      // This client already spent its 2 points in the test above.
      const r = await request(latePort, { path: '/late' });
      assert.equal(r.body, 'first');
      assert.equal(appCalls, 0);
      const span = await waitFor(() => spanExporter.getFinishedSpans().find((s) => s.attributes['url.path'] === '/late' || String(s.attributes['http.target'] ?? '') === '/late'), 'the /late server span');
      assert.equal(span.attributes['nis2.block_failed'], true);
      assert.equal(span.attributes['security_rule.name'], 'rate_limit');
      assert.equal(span.attributes['http.response.status_code'], 200, 'the span keeps the status that really went out');
    } finally {
      await close(late);
    }
  });

  test('stream_start names the service configured on the app\'s NodeSDK', () => {
    const start = records().find((r) => r.eventName === 'nis2.integrity.stream_start');
    assert.ok(start);
    const startEnv = JSON.parse(String(start.body)) as Envelope;
    const event = records().find((r) => r.eventName === 'nis2.rate_limit.exceeded');
    assert.equal(event?.resource.attributes['service.name'], 'programmatic-test', 'the SDK\'s resource reaches the event records');
    assert.equal(startEnv.attrs['service.name'], 'programmatic-test', 'the signed stream_start must name the same service as its events');
  });

  test('the stream has no gaps: seq 0, 1, 2 … with each prev the hash of the previous body', async () => {
    const all = records().filter((r) => typeof r.body === 'string' && String(r.eventName).startsWith('nis2.'));
    const envs = all.map((r) => JSON.parse(r.body as string) as Envelope).sort((a, b) => a.seq - b.seq);
    assert.ok(envs.length >= 2);
    assert.deepEqual(envs.map((e) => e.seq), envs.map((_, i) => i));
    const { createHash } = await import('node:crypto');
    const bodies = new Map(all.map((r) => [(JSON.parse(r.body as string) as Envelope).seq, r.body as string]));
    for (const e of envs.slice(1)) {
      assert.equal(e.prev, createHash('sha256').update(bodies.get(e.seq - 1)!, 'utf8').digest('base64url'), `prev of seq ${e.seq}`);
    }
  });

  test('the app\'s ordinary log records are not signed or forwarded by the nis2 processor', () => {
    logs.getLogger('app').emit({ body: 'ordinary app log', eventName: 'app.hello' });
    assert.ok(!records().some((r) => r.body === 'ordinary app log' || r.eventName === 'app.hello'));
  });
});

describe('register next to an SDK the app registered first (child process)', () => {
  // One run, several assertions: the app preloads its own NodeSDK (with a console diag logger at
  // WARN), then `--require @nis2/otel/register`.
  let run: { stdout: string; stderr: string; statuses: number[]; calls: number; signal: string | null; events: Envelope[] };

  before(async () => {
    const app = await spawnApp({
      app: 'http.cjs',
      nodeArgs: ['--require', join(APPS, 'preload-sdk.cjs')],
      env: { NIS2_RATE_LIMIT: '2/60s', NIS2_RATE_LIMIT_ROUTES: 'GET /count=1000/60s' },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await request(app.port, { path: `/x${i}` })).status);
      const calls = JSON.parse((await request(app.port, { path: '/count' })).body).calls as number;
      const exit = await app.stop('SIGTERM');
      run = { stdout: app.stdout(), stderr: app.stderr(), statuses, calls, signal: exit.signal, events: app.events() };
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('installs only the guard: no duplicate-registration errors and NIS2_WRN_SDK_PRESENT once', () => {
    assert.match(run.stdout, /^APP_SDK_STARTED\n/, 'the app\'s SDK started before the hook');
    assert.equal(countCode(run.stderr, 'NIS2_WRN_SDK_PRESENT'), 1, run.stderr);
    assert.doesNotMatch(run.stderr, /duplicate/i);
    assert.doesNotMatch(run.stderr, /Error/);
  });

  test('requests are still limited, and the events are signed into a stream that ends cleanly', () => {
    assert.deepEqual(run.statuses, [200, 200, 429, 429]);
    assert.equal(run.calls, 2);
    assert.equal(run.signal, 'SIGTERM');
    assert.equal(run.events[0]?.event, 'nis2.integrity.stream_start');
    assert.ok(run.events.some((e) => e.event === 'nis2.rate_limit.exceeded'));
    assert.equal(run.events.at(-1)?.event, 'nis2.integrity.stream_end');
    for (const e of run.events) assert.ok(verifyEnvelope(JSON.stringify(e)));
  });

  test('does not read the OTel resource before its async attributes settled (no diag error at start)', () => {
    assert.doesNotMatch(run.stderr, /before async attributes settled/, run.stderr);
  });
});
