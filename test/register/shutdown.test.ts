// Shutdown under the register hook: bounded flush, stream_end, then the signal is re-raised so the
// process ends as it would have; never a hang on a dead or silent collector; the app's own signal
// handler decides when it has one.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { close, closedPort, listen, request, sleep } from '../helpers/server.ts';
import { cleanup, spawnApp, verifyEnvelope, type AppProcess } from '../helpers/spawn-app.ts';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
after(async () => {
  cleanup();
  for (const s of sockets) s.destroy();
  for (const s of servers) await close(s);
});

const TIMEOUT_MS = 1000;
const SLACK_MS = 1500;

/** Makes the app write a few security events, then lets an export attempt start. */
async function produceEvents(app: AppProcess): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await request(app.port, { path: `/s${i}` })).status);
  assert.deepEqual(statuses, [200, 429, 429]);
  await sleep(300);
}

function assertCleanStream(app: AppProcess): void {
  const events = app.events();
  assert.ok(events.length >= 3, `events: ${events.map((e) => e.event).join(',')}`);
  assert.equal(events[0]!.event, 'nis2.integrity.stream_start');
  assert.ok(events.some((e) => e.event === 'nis2.rate_limit.exceeded'));
  assert.equal(events.at(-1)!.event, 'nis2.integrity.stream_end', `last record: ${events.at(-1)!.event}`);
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i));
  for (const e of events) assert.ok(verifyEnvelope(JSON.stringify(e)), `seq ${e.seq} verifies`);
}

describe('SIGTERM/SIGINT with the collector unreachable', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} with the collector down (connection refused): exits within the shutdown timeout by the same signal, file ends with stream_end`, async () => {
      const port = await closedPort();
      const app = await spawnApp({
        app: 'http.cjs',
        env: {
          NIS2_RATE_LIMIT: '1/60s',
          NIS2_SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_BSP_SCHEDULE_DELAY: '100',
        },
      });
      await produceEvents(app);
      const exit = await app.stop(signal, 10_000);
      assert.equal(exit.signal, signal, `re-raised ${signal}, not exit code ${exit.code}`);
      assert.equal(exit.code, null);
      assert.ok(exit.ms <= TIMEOUT_MS + SLACK_MS, `exited after ${Math.round(exit.ms)} ms`);
      assertCleanStream(app);
    });
  }

  test('SIGTERM with a collector that accepts connections and never answers: still exits within the timeout', async () => {
    const blackHole = net.createServer((socket) => { sockets.add(socket); socket.on('error', () => undefined); });
    servers.push(blackHole);
    const port = await listen(blackHole);
    const app = await spawnApp({
      app: 'http.cjs',
      env: {
        NIS2_RATE_LIMIT: '1/60s',
        NIS2_SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    await produceEvents(app);
    const exit = await app.stop('SIGTERM', 10_000);
    assert.equal(exit.signal, 'SIGTERM');
    assert.ok(exit.ms <= TIMEOUT_MS + SLACK_MS, `exited after ${Math.round(exit.ms)} ms`);
    assertCleanStream(app);
  });
});

describe('who decides how the process ends', () => {
  test('an app with its own SIGTERM handler decides: its graceful shutdown runs to the end and its exit code stands', async () => {
    const app = await spawnApp({
      app: 'sigterm-handler.cjs',
      env: { NIS2_RATE_LIMIT: '1/60s', APP_SHUTDOWN_MS: '400', APP_EXIT_CODE: '3', NIS2_SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms` },
    });
    await produceEvents(app);
    const exit = await app.stop('SIGTERM', 10_000);
    assert.match(app.stdout(), /APP_SIGTERM\n/);
    assert.match(app.stdout(), /APP_DONE\n/, 'the hook did not kill the app in the middle of its shutdown');
    assert.deepEqual([exit.code, exit.signal], [3, null]);
    assertCleanStream(app);
  });

  test('NIS2_HANDLE_SIGNALS=false leaves signals alone: SIGTERM kills at once and no stream_end is written', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '1/60s', NIS2_HANDLE_SIGNALS: 'false' } });
    await produceEvents(app);
    const exit = await app.stop('SIGTERM', 10_000);
    assert.equal(exit.signal, 'SIGTERM');
    assert.ok(exit.ms < 1000, `${Math.round(exit.ms)} ms`);
    const events = app.events().map((e) => e.event);
    assert.ok(events.includes('nis2.rate_limit.exceeded'));
    assert.ok(!events.includes('nis2.integrity.stream_end'), events.join(','));
  });

  test('a process that ends by itself (empty event loop) still closes the stream and keeps exit code 0', async () => {
    const app = await spawnApp({ app: 'self-requests.cjs', env: { NIS2_RATE_LIMIT: '1/60s' }, waitForPort: false });
    const exit = await app.waitExit(10_000);
    assert.match(app.stdout(), /STATUSES=200,429,429\n/);
    assert.deepEqual([exit.code, exit.signal], [0, null], app.stderr());
    assertCleanStream(app);
  });
});
