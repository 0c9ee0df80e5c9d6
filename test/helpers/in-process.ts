import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { Ed25519SigningKey, loadConfig, Nis2Instrumentation, Nis2SigningProcessor, StreamSigner } from '../../dist/esm/index.js';
import type { Nis2InstrumentationConfig, Nis2Options } from '../../dist/esm/index.js';

export interface Envelope {
  event: string;
  seq: number;
  attrs: Record<string, unknown>;
}

/** The guard in this process, on a real http server on 127.0.0.1, with events kept in memory. */
export interface Guarded {
  url: string;
  instrumentation: Nis2Instrumentation;
  handled: () => number;
  events: (name?: string) => Promise<Envelope[]>;
  close: () => Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export async function startGuarded(options: Nis2Options, extra: Omit<Nis2InstrumentationConfig, 'nis2' | 'resolvedConfig' | 'loggerProvider'> = {}, env: NodeJS.ProcessEnv = {}, handler?: Handler): Promise<Guarded> {
  const exporter = new InMemoryLogRecordExporter();
  const signing = new Nis2SigningProcessor({
    signer: new StreamSigner(Ed25519SigningKey.fromSeed(Buffer.alloc(32, 5))),
    downstream: [new SimpleLogRecordProcessor({ exporter })],
    chainAccessRecords: false, checkpointIntervalMs: 60_000, checkpointEvery: 1000,
  });
  const provider = new LoggerProvider({ processors: [signing] });
  const dir = mkdtempSync(join(tmpdir(), 'nis2-inproc-'));
  const config = loadConfig({ options: { signing: { keyDir: dir }, export: { otlp: 'off', eventsFile: join(dir, 'e.jsonl') }, ...options }, env });
  const instrumentation = new Nis2Instrumentation({ ...extra, resolvedConfig: config, loggerProvider: provider });
  let handled = 0;
  const server = http.createServer((req, res) => { handled++; if (handler) handler(req, res); else res.end('ok'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    instrumentation,
    handled: () => handled,
    events: async (name?: string) => {
      instrumentation.emitter.drain();
      await new Promise((r) => setImmediate(r));
      return exporter.getFinishedLogRecords()
        .map((r) => JSON.parse(r.body as string) as Envelope)
        .filter((e) => name === undefined || e.event === name);
    },
    close: async () => {
      instrumentation.disable();
      await instrumentation.closeDefenses();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await provider.shutdown();
    },
  };
}

export const CHROME_120 = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
export const CHROME_121 = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36';
export const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';
