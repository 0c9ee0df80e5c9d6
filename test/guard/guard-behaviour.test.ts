// How the guard sits among the app's own listeners: exceptions keep their normal behaviour, one
// decision per request however many listeners, removeListener still works, and a block that comes
// too late is recorded as failed instead of crashing or pretending.
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createNis2LogProcessor, Nis2Instrumentation, type Nis2Options } from '../../dist/esm/index.js';
import { close, listen, request, waitFor } from '../helpers/server.ts';
import { cleanup, spawnApp, tempDir, TEST_SIGNING_KEY, type Hook } from '../helpers/spawn-app.ts';

after(cleanup);

describe('exceptions thrown by the app handler (child process)', () => {
  async function crash(app: string, hook: Hook, env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> {
    const child = await spawnApp({ app, hook, env });
    const r = await request(child.port, { path: '/boom' }).catch((err: Error) => err);
    assert.ok(r instanceof Error, 'the connection dies with the process');
    const exit = await child.waitExit(10_000);
    return { ...exit, stderr: child.stderr(), stdout: child.stdout() };
  }

  for (const [label, app, baselineHook, guardedHook] of [
    ['--require (synchronous decision)', 'throws.cjs', 'none', 'require'],
    ['programmatic with an asynchronous decision (deferred handler)', 'throws-programmatic.mjs', 'none', 'none'],
  ] as const) {
    test(`${label}: a synchronous throw stays an uncaught exception that ends the process as without the guard`, async () => {
      const baseline = await crash(app, baselineHook, { APP_GUARD: '0' });
      const guarded = await crash(app, guardedHook, { APP_GUARD: '1' });
      assert.equal(baseline.code, 1, `baseline: ${baseline.stderr}`);
      assert.equal(guarded.code, baseline.code, `guarded: ${guarded.stderr}`);
      assert.equal(guarded.signal, baseline.signal);
      for (const run of [baseline, guarded]) {
        assert.match(run.stderr, /Error: boom-from-handler/);
        assert.doesNotMatch(run.stderr, /unhandled ?rejection|triggerUncaughtException\(err, true/i, 'not turned into an unhandled rejection');
      }
    });

    test(`${label}: the app's own uncaughtException handler receives the error and the server keeps serving`, async () => {
      for (const guard of ['0', '1']) {
        const child = await spawnApp({ app, hook: guard === '1' ? guardedHook : baselineHook, env: { APP_GUARD: guard, APP_CATCH: '1' } });
        try {
          // The app swallows the error, so /boom never gets an answer: do not wait for one.
          void request(child.port, { path: '/boom', timeoutMs: 5_000 }).catch(() => undefined);
          await waitFor(() => child.stdout().includes('CAUGHT boom-from-handler'), `APP_GUARD=${guard}: the app's handler saw the error`);
          assert.equal((await request(child.port, { path: '/ok' })).status, 200);
          assert.equal(child.child.exitCode, null);
        } finally {
          await child.stop('SIGKILL');
        }
      }
    });
  }

});

// ---------------------------------------------------------------- in-process guard

interface Guarded {
  inst: Nis2Instrumentation;
  exporter: InMemoryLogRecordExporter;
  events(): Array<{ eventName: string; attributes: Record<string, unknown>; body: unknown }>;
  stop(): Promise<void>;
}

/** A guard enabled in this process, its signed events captured in memory. */
function guard(nis2: Nis2Options, rateLimiter?: RateLimiterMemory): Guarded {
  const exporter = new InMemoryLogRecordExporter();
  const dir = tempDir('guard');
  const options: Nis2Options = { ...nis2, signing: { key: TEST_SIGNING_KEY }, export: { eventsFile: join(dir, 'unused.jsonl') } };
  const loggerProvider = new LoggerProvider({
    processors: [createNis2LogProcessor({ nis2: options, downstream: [new SimpleLogRecordProcessor({ exporter })] })],
  });
  const inst = new Nis2Instrumentation({ nis2: options, loggerProvider, ...(rateLimiter ? { rateLimiter } : {}) });
  return {
    inst,
    exporter,
    events: () => exporter.getFinishedLogRecords()
      .filter((r) => r.eventName !== undefined && !r.eventName.startsWith('nis2.integrity.'))
      .map((r) => ({ eventName: r.eventName!, attributes: r.attributes as Record<string, unknown>, body: r.body })),
    async stop() {
      inst.disable();
      inst.flushEvents();
      await loggerProvider.shutdown();
    },
  };
}

// The guard's two paths: a synchronous verdict (built-in store) and a promise (an external
// rate-limiter-flexible limiter), after which the app's listeners run deferred.
const modes: Array<[string, (points: number) => RateLimiterMemory | undefined]> = [
  ['synchronous decision (memory store)', () => undefined],
  ['asynchronous decision (rate-limiter-flexible)', (points) => new RateLimiterMemory({ points, duration: 60 })],
];

const warnings: string[] = [];
process.on('warning', (w: Error & { code?: string }) => { if (w.code) warnings.push(w.code); });

describe('listeners on a guarded server (in-process)', () => {
  for (const [label, limiter] of modes) {
    test(`${label}: several request listeners on one server are decided once per request`, async () => {
      const g = guard({ rateLimit: { limit: '2/60s' } }, limiter(2));
      const server = http.createServer();
      let first = 0;
      let second = 0;
      server.on('request', () => { first++; });
      server.on('request', (req, res) => { second++; res.end('ok'); });
      const port = await listen(server);
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await request(port, { path: '/multi' })).status);
        assert.deepEqual(statuses, [200, 200, 429, 429], 'two listeners must not spend two points per request');
        assert.equal(first, 2);
        assert.equal(second, 2);
        await waitFor(() => g.events().length > 0, 'rate-limit event');
        const stats = g.inst.emitter.stats;
        assert.equal(stats.emitted + stats.aggregated + stats.suppressed, 2, `one verdict per blocked request: ${JSON.stringify(stats)}`);
      } finally {
        await close(server);
        await g.stop();
      }
    });

    test(`${label}: if another listener already sent the response, the guard does not crash and records nis2.block_failed=true`, async () => {
      // Registered before the guard is enabled, so it is not wrapped and answers first.
      const server = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('answered-early');
      });
      const g = guard({ rateLimit: { limit: '1/60s' } }, limiter(1));
      let appCalls = 0;
      server.on('request', () => { appCalls++; });
      const port = await listen(server);
      try {
        const r1 = await request(port, { path: '/late' });
        const r2 = await request(port, { path: '/late' });
        assert.deepEqual([r1.status, r1.body, r2.status, r2.body], [200, 'answered-early', 200, 'answered-early']);
        assert.equal(appCalls, 1, 'the guarded listener still did not run for the blocked request');
        const ev = await waitFor(() => g.events().find((e) => e.eventName === 'nis2.rate_limit.exceeded'), 'rate-limit event');
        assert.equal(ev.attributes['nis2.block_failed'], true);
        const envelope = JSON.parse(String(ev.body)) as { attrs: Record<string, unknown> };
        assert.equal(envelope.attrs['nis2.block_failed'], true, 'the signed envelope says so too');
        // The server is still healthy.
        assert.equal((await request(port, { path: '/after' })).body, 'answered-early');
        await waitFor(() => warnings.includes('NIS2_WRN_BLOCK_AFTER_HEADERS'), 'a NIS2_WRN_BLOCK_AFTER_HEADERS warning');
        assert.equal(warnings.filter((c) => c === 'NIS2_WRN_BLOCK_AFTER_HEADERS').length, 1, 'warned once per process');
      } finally {
        await close(server);
        await g.stop();
      }
    });
  }

  test('a failed block does not claim in its event that the response status was 429', async () => {
    const server = http.createServer((req, res) => res.end('answered-early'));
    const g = guard({ rateLimit: { limit: '1/60s' } });
    server.on('request', () => undefined);
    const port = await listen(server);
    try {
      await request(port, { path: '/late' });
      const r = await request(port, { path: '/late' });
      assert.equal(r.status, 200);
      const ev = await waitFor(() => g.events().find((e) => e.eventName === 'nis2.rate_limit.exceeded'), 'rate-limit event');
      assert.equal(ev.attributes['nis2.block_failed'], true);
      assert.notEqual(ev.attributes['http.response.status_code'], 429, 'the client got 200; the event must not record a 429 response (DESIGN §6: do not pretend)');
    } finally {
      await close(server);
      await g.stop();
    }
  });

  test('removeListener/off remove listeners added with on, addListener and prependListener, and listeners() shows the app\'s functions', async () => {
    const g = guard({});
    try {
      const handler = (_req: http.IncomingMessage, res: http.ServerResponse): void => { res.end('h'); };
      const server = http.createServer(handler);
      assert.deepEqual(server.listeners('request'), [handler]);
      server.removeListener('request', handler);
      assert.equal(server.listenerCount('request'), 0);
      server.addListener('request', handler);
      server.off('request', handler);
      assert.equal(server.listenerCount('request'), 0);
      server.prependListener('request', handler);
      assert.deepEqual(server.listeners('request'), [handler]);
      server.removeListener('request', handler);
      assert.equal(server.listenerCount('request'), 0);
      const onUpgrade = (): void => undefined;
      server.on('upgrade', onUpgrade);
      server.removeListener('upgrade', onUpgrade);
      assert.equal(server.listenerCount('upgrade'), 0);
      // A removed handler no longer answers: a replacement does.
      server.on('request', handler);
      server.removeListener('request', handler);
      server.on('request', (_req, res) => res.end('replacement'));
      const port = await listen(server);
      assert.equal((await request(port)).body, 'replacement');
      await close(server);
    } finally {
      await g.stop();
    }
  });

  test('a once() request listener runs once and removes itself', async () => {
    const g = guard({});
    const server = http.createServer((_req, res) => res.end('main'));
    try {
      let calls = 0;
      server.once('request', () => { calls++; });
      const port = await listen(server);
      await request(port);
      await request(port);
      assert.equal(calls, 1, 'once means once');
      assert.equal(server.listenerCount('request'), 1, 'the once listener removed itself');
    } finally {
      await close(server);
      await g.stop();
    }
  });

  test('removeListener(fn) removes a listener added with once(fn) or prependOnceListener(fn)', async () => {
    const g = guard({});
    const server = http.createServer((_req, res) => res.end('main'));
    try {
      let calls = 0;
      const fn = (): void => { calls++; };
      server.once('request', fn);
      server.removeListener('request', fn);
      server.prependOnceListener('request', fn);
      server.off('request', fn);
      assert.equal(server.listenerCount('request'), 1, 'only the main handler is left');
      const port = await listen(server);
      await request(port);
      assert.equal(calls, 0, 'the removed once listener did not run');
    } finally {
      await close(server);
      await g.stop();
    }
  });

  test('listeners() shows the function given to once(), as without the guard', async () => {
    const g = guard({});
    try {
      const server = http.createServer();
      const fn = (): void => undefined;
      server.once('request', fn);
      assert.deepEqual(server.listeners('request'), [fn]);
    } finally {
      await g.stop();
    }
  });
});
