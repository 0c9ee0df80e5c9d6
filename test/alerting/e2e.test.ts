// End to end in one process: the guard on a real http server, the signed-event pipeline built by
// createNis2LogPipeline from configuration, and a Slack receiver on 127.0.0.1. A rate-limit block
// must reach Slack as an alert, with the client's network but never its address; a failing
// webhook must not stop the app from serving.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { createNis2LogPipeline, Nis2Instrumentation, type Nis2Options } from '../../dist/esm/index.js';
import { resetWarnings } from '../../dist/esm/warn.js';
import { request, waitFor } from '../helpers/server.ts';
import { startReceiver, type Receiver } from './receiver.ts';

interface App {
  port: number;
  exporter: InMemoryLogRecordExporter;
  instrumentation: Nis2Instrumentation;
  close(): Promise<void>;
}

async function startApp(alerting: NonNullable<Nis2Options['alerting']>): Promise<App> {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-alerting-e2e-'));
  const exporter = new InMemoryLogRecordExporter();
  const pipeline = createNis2LogPipeline({
    nis2: {
      signing: { key: Buffer.alloc(32, 9).toString('base64') },
      export: { otlp: 'off', eventsFile: join(dir, 'events.jsonl') },
      rateLimit: { limit: '3/60s' },
      alerting,
    },
    downstream: [new SimpleLogRecordProcessor({ exporter })],
  });
  const provider = new LoggerProvider({ processors: [pipeline.processor] });
  const instrumentation = new Nis2Instrumentation({ resolvedConfig: pipeline.config, loggerProvider: provider });
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    exporter,
    instrumentation,
    close: async () => {
      instrumentation.disable();
      await instrumentation.closeDefenses();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      instrumentation.flushEvents();
      await provider.shutdown();
    },
  };
}

const receivers: Receiver[] = [];
after(async () => { for (const r of receivers) await r.close(); });

/** Runs `fn` with an app and always closes it: two guards enabled at once would both wrap the next server. */
async function withApp(alerting: NonNullable<Nis2Options['alerting']>, fn: (app: App) => Promise<void>): Promise<void> {
  const app = await startApp(alerting);
  let closed = false;
  const close = app.close;
  app.close = async () => { if (!closed) { closed = true; await close(); } };
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

async function receiver(behaviour?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(behaviour);
  receivers.push(r);
  return r;
}

describe('guard → signed pipeline → webhook', () => {
  test('a rate-limit block produces a Slack alert at the local receiver, with the network and never the address', async () => {
    const slack = await receiver();
    await withApp({ webhooks: [{ type: 'slack', url: slack.url }] }, async (app) => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push((await request(app.port, { path: '/login', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' } })).status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429]);
      await waitFor(() => slack.deliveries.length >= 1, 'Slack alert', 5000);
      const { json, raw } = slack.deliveries[0]!;
      const blocks = json['blocks'] as Array<Record<string, unknown>>;
      assert.equal((blocks[0]!['text'] as Record<string, unknown>)['text'], '[WARN] Rate limit exceeded');
      assert.match(json['text'] as string, /nis2\.rate_limit\.exceeded from client network 127\.0\.0\.0/);
      const fields = blocks.flatMap((b) => (b['fields'] as Array<{ text: string }> | undefined) ?? []).map((f) => f.text);
      for (const expected of ['*nis2.action*\nblock', '*security_rule.name*\nrate_limit', '*http.response.status_code*\n429', '*user_agent.family*\nFirefox/Linux', '*url.path*\n/login']) {
        assert.ok(fields.includes(expected), `missing field ${JSON.stringify(expected)} in ${JSON.stringify(fields)}`);
      }
      assert.ok(!raw.includes('127.0.0.1'), 'the raw client address never leaves');
      assert.ok(!raw.includes('Gecko/20100101'), 'the raw user agent never leaves');

      // The alert points at the signed record it is about.
      const signed = app.exporter.getFinishedLogRecords().filter((r) => r.eventName === 'nis2.rate_limit.exceeded');
      assert.equal(signed.length, 1, 'the guard aggregates repeats itself');
      const context = ((blocks.at(-1)!['elements'] as Array<{ text: string }>)[0]!).text;
      assert.ok(context.includes(`seq ${String(signed[0]!.attributes['nis2.seq'])}`), context);
      assert.ok(context.includes(`stream ${String(signed[0]!.attributes['nis2.stream'])}`), context);

      // At shutdown the guard writes its summary record (nis2.aggregate.count = 4); the webhook's
      // summary counts the events it stands for.
      await app.close();
      assert.equal(slack.deliveries.length, 2);
      assert.match(slack.deliveries[1]!.json['text'] as string, /4 × nis2\.rate_limit\.exceeded from client network 127\.0\.0\.0/);
    });
  });

  test('a failing webhook does not stop the app: requests keep being answered, the failure is counted and warned', async () => {
    resetWarnings();
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => { if (w.code) warnings.push(w.code); };
    process.on('warning', onWarning);
    try {
      const broken = await receiver({ status: () => 500 });
      await withApp({ webhooks: [{ type: 'teams', url: broken.url, minSeverity: 'INFO' }], retries: 1, timeout: '500ms' }, async (app) => {
        for (let i = 0; i < 30; i++) {
          const r = await request(app.port, { path: `/item/${i}` });
          assert.ok(r.status === 200 || r.status === 429);
        }
        await waitFor(() => broken.arrivals.length >= 2, 'first attempt and one retry', 10_000);
        await waitFor(() => warnings.includes('NIS2_WRN_WEBHOOK_FAILED'), 'warning', 10_000);
        const t0 = Date.now();
        const r = await request(app.port, { path: '/still-here' });
        assert.equal(r.status, 429);
        assert.ok(Date.now() - t0 < 500, 'the app answers at once while the webhook is failing');
      });
    } finally {
      process.off('warning', onWarning);
    }
  });
});
