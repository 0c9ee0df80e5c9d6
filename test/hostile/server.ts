// Helpers of the hostile-input tests: the guard in this process on a real http server on
// 127.0.0.1 whose own limits (headersTimeout, requestTimeout, maxHeaderSize) the test sets, raw
// sockets that send exactly the bytes a hostile client would, and a GC-backed memory probe.
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { Ed25519SigningKey, loadConfig, Nis2Instrumentation, Nis2SigningProcessor, StreamSigner } from '../../dist/esm/index.js';
import type { Nis2Options } from '../../dist/esm/index.js';
import type { Envelope, Handler } from '../helpers/in-process.ts';

export interface HostileServer {
  url: string;
  port: number;
  server: http.Server;
  instrumentation: Nis2Instrumentation;
  /** Requests the app's handler saw. */
  handled: () => number;
  events: (name?: string) => Promise<Envelope[]>;
  /** Keys tracked by every rate-limit store (0 when the limiter is off). */
  limiterKeys: () => number;
  close: () => Promise<void>;
}

/** The guard with events kept in memory, like test/helpers/in-process.ts, on a server built with `serverOptions`. */
export async function startHostile(options: Nis2Options, serverOptions: http.ServerOptions = {}, handler?: Handler): Promise<HostileServer> {
  const exporter = new InMemoryLogRecordExporter();
  const signing = new Nis2SigningProcessor({
    signer: new StreamSigner(Ed25519SigningKey.fromSeed(Buffer.alloc(32, 9))),
    downstream: [new SimpleLogRecordProcessor({ exporter })],
    chainAccessRecords: false, checkpointIntervalMs: 60_000, checkpointEvery: 1000,
  });
  const provider = new LoggerProvider({ processors: [signing] });
  const dir = mkdtempSync(join(tmpdir(), 'nis2-hostile-'));
  const config = loadConfig({ options: { signing: { keyDir: dir }, export: { otlp: 'off', eventsFile: join(dir, 'e.jsonl') }, ...options }, env: {} });
  const instrumentation = new Nis2Instrumentation({ resolvedConfig: config, loggerProvider: provider });
  let handled = 0;
  const server = http.createServer(serverOptions, (req, res) => { handled++; if (handler) handler(req, res); else res.end('ok'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const limiter = instrumentation.defenses.find((d) => d.name === 'rate_limit') as unknown as { stores: Array<{ size: number }> } | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    instrumentation,
    handled: () => handled,
    events: async (name?: string) => {
      instrumentation.emitter.drain();
      await new Promise((r) => setImmediate(r));
      return exporter.getFinishedLogRecords()
        .map((r) => JSON.parse(r.body as string) as Envelope)
        .filter((e) => name === undefined || e.event === name);
    },
    limiterKeys: () => (limiter ? limiter.stores.reduce((n, s) => n + s.size, 0) : 0),
    close: async () => {
      instrumentation.disable();
      await instrumentation.closeDefenses();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await provider.shutdown();
    },
  };
}

/** A raw connection: what was received, and whether the server closed it. */
export interface RawClient {
  socket: Socket;
  /** Resolves with everything received once the server closes the connection (rejects after `timeoutMs`). */
  closed: Promise<string>;
  received: () => string;
  isClosed: () => boolean;
}

/** Opens a socket (optionally from another loopback address) and writes `head` once connected. */
export function rawClient(port: number, head: string | Buffer, opts: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    let data = '';
    let closed = false;
    const socket = connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    const done = new Promise<string>((res, rej) => {
      const timer = setTimeout(() => { socket.destroy(); rej(new Error(`the server kept the connection open for ${opts.timeoutMs ?? 10_000} ms; received ${JSON.stringify(data.slice(0, 200))}`)); }, opts.timeoutMs ?? 10_000);
      socket.on('close', () => { closed = true; clearTimeout(timer); res(data); });
    });
    done.catch(() => {});
    socket.on('data', (d) => { data += d.toString('latin1'); });
    // A reset while we still write (the server answered and closed first) is an answer, not a failure.
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(head, () => resolve({ socket, closed: done, received: () => data, isClosed: () => closed }));
    });
    socket.once('error', reject);
  });
}

/** Writes one byte every `everyMs` until the socket closes: a slowloris sender. */
export function trickle(client: RawClient, byte: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (client.isClosed() || client.socket.destroyed) { clearInterval(timer); return; }
    client.socket.write(byte);
  }, everyMs);
  client.closed.finally(() => clearInterval(timer)).catch(() => {});
}

/** The HTTP status of a raw response, or 0 when none came. */
export function statusOf(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(raw);
  return m ? Number(m[1]) : 0;
}

/** Heap plus Buffer memory after two full collections (gc is reached through a fresh context when not exposed). */
export function memory(): number {
  const gc = (globalThis as { gc?: () => void }).gc ?? exposeGc();
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Resolves when `check` holds, polling every 20 ms; rejects after `timeoutMs` with `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
export const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';

/** One request with the given headers from `localAddress`; resolves with status and body. */
export function request(url: string, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string; localAddress?: string; agent?: http.Agent } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: opts.agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.path ?? '/'} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
