import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AppProcess } from '../helpers/app-process.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

type Mode = 'fast' | 'slow' | '503' | '429';

/** An OTLP/HTTP endpoint that answers at once, very slowly, or with 503/429. */
async function sink(mode: Mode): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      if (mode === 'slow') setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 5000).unref();
      else if (mode === '503') res.writeHead(503, { 'retry-after': '1' }).end();
      else if (mode === '429') res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

async function latencies(mode: Mode): Promise<{ median: number; p90: number; failures: number; sinkHits: number }> {
  const s = await sink(mode);
  const dir = mkdtempSync(join(tmpdir(), `nis2-bp-${mode}-`));
  const app = await AppProcess.start({
    OTEL_EXPORTER_OTLP_ENDPOINT: s.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_EXPORTER: 'none',
    OTEL_EXPORTER_OTLP_TIMEOUT: '10000', NIS2_KEY_DIR: join(dir, 'keys'), NIS2_SPOOL_DIR: join(dir, 'spool'),
    NIS2_RATE_LIMIT: '1000000/60s', NIS2_ACCESS_LOG: 'all', NIS2_SIGNING_MODE: 'chain', NIS2_SHUTDOWN_TIMEOUT: '1s',
  });
  cleanups.push(() => app.stop());
  // Warm up, then measure: every request produces a signed record the exporter must carry.
  for (let i = 0; i < 50; i++) await fetch(`${app.url}/w${i}`).then((r) => r.text());
  const times: number[] = [];
  let failures = 0;
  for (let i = 0; i < 400; i++) {
    const t0 = performance.now();
    const res = await fetch(`${app.url}/m${i}`);
    await res.text();
    times.push(performance.now() - t0);
    if (res.status !== 200) failures++;
  }
  await app.stop();
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p90: times[Math.floor(times.length * 0.9)]!, failures, sinkHits: s.hits() };
}

test('a slow or refusing collector does not slow the request path (compared with a healthy one in the same run)', async () => {
  const healthy = await latencies('fast');
  const results = { slow: await latencies('slow'), unavailable: await latencies('503'), throttled: await latencies('429') };
  for (const [name, r] of Object.entries(results)) {
    assert.equal(r.failures, 0, `${name}: every request served`);
    assert.ok(r.sinkHits > 0, `${name}: the exporter did try the collector`);
    // Noise on a shared 2-core machine is large; a request path that waited on export would be
    // orders of magnitude slower (seconds), so a 3× bound on the median separates the two.
    assert.ok(r.median < healthy.median * 3 + 1, `${name}: median ${r.median.toFixed(2)} ms vs healthy ${healthy.median.toFixed(2)} ms`);
    assert.ok(r.p90 < 1000, `${name}: p90 ${r.p90.toFixed(1)} ms`);
  }
  console.log(`# latency medians (ms): healthy ${healthy.median.toFixed(2)}, slow ${results.slow.median.toFixed(2)}, 503 ${results.unavailable.median.toFixed(2)}, 429 ${results.throttled.median.toFixed(2)}`);
});
