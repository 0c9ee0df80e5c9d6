import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Ed25519SigningKey, loadConfig, Nis2Instrumentation, Nis2SigningProcessor, StreamSigner } from '../../dist/esm/index.js';

const exporter = new InMemoryLogRecordExporter();
const signing = new Nis2SigningProcessor({
  signer: new StreamSigner(Ed25519SigningKey.fromSeed(Buffer.alloc(32, 3))),
  downstream: [new SimpleLogRecordProcessor({ exporter })],
  chainAccessRecords: false, checkpointIntervalMs: 60_000, checkpointEvery: 1000,
});
const provider = new LoggerProvider({ processors: [signing] });
const config = loadConfig({ options: { signing: { keyDir: '/tmp/nis2-unused' }, export: { otlp: 'off', eventsFile: '/tmp/nis2-unused/e.jsonl' }, rateLimit: { headers: true } }, env: {} });
const instrumentation = new Nis2Instrumentation({ resolvedConfig: config, loggerProvider: provider, rateLimiter: new RateLimiterMemory({ points: 2, duration: 60 }) });

let handled = 0;
const server = http.createServer((_req, res) => { handled++; res.end('ok'); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
after(async () => { instrumentation.disable(); server.close(); await provider.shutdown(); });

test('a rate-limiter-flexible limiter drives the default policy through the async guard path', async () => {
  const res = [];
  for (let i = 0; i < 4; i++) res.push(await fetch(url));
  assert.deepEqual(res.map((r) => r.status), [200, 200, 429, 429]);
  assert.equal(handled, 2, 'the app handler ran only for allowed requests');
  assert.equal(res[0]!.headers.get('ratelimit-policy'), '"default";q=2;w=60');
  assert.match(res[2]!.headers.get('retry-after') ?? '', /^\d+$/);
  instrumentation.flushEvents();
  await new Promise((r) => setImmediate(r));
  const events = exporter.getFinishedLogRecords().filter((r) => r.eventName === 'nis2.rate_limit.exceeded');
  assert.ok(events.length >= 1);
  const envelope = JSON.parse(events[0]!.body as string);
  assert.equal(envelope.attrs['nis2.rate_limit.limit'], 2);
  assert.equal(envelope.attrs['client.address'], '127.0.0.0');
});
