// Helpers for the threat-list and IP-list tests: a list server on 127.0.0.1 that speaks ETag and
// Last-Modified, an in-process guard whose signed events land in memory, and bounded waits. No
// test touches anything but 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { createNis2LogProcessor, Nis2Instrumentation, type Nis2Options } from '../../dist/esm/index.js';

export const HOST = '127.0.0.1';

const dirs: string[] = [];

/** A fresh temp dir; all are removed by `removeTempDirs()`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nis2-${prefix}-`));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Polls until `fn` is truthy; fails after `timeoutMs`. */
export async function waitFor<T>(fn: () => T, message: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${message}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface SeenRequest {
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly status: number;
}

/** An HTTP server serving one list with an ETag; it answers conditional requests with 304. */
export interface ListServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Serve this body from now on, under a new ETag. */
  set(body: string): void;
  /** Answer with this status (e.g. 503), or cut connections (`'reset'`), or serve again (`undefined`). */
  fail(mode: number | 'reset' | undefined): void;
  /** Serve this body with status 200 and no ETag (e.g. an HTML error page from a captive portal). */
  serveRaw(body: string, contentType: string): void;
  close(): Promise<void>;
}

export async function listServer(body: string): Promise<ListServer> {
  let current = body;
  let version = 1;
  let failure: number | 'reset' | undefined;
  let raw: { body: string; type: string } | undefined;
  const lastModified = new Date(Date.UTC(2026, 10, 25, 10, 0, 0)).toUTCString();
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const seen = { ifNoneMatch: req.headers['if-none-match'], ifModifiedSince: req.headers['if-modified-since'] };
    if (failure === 'reset') {
      requests.push({ ...seen, status: 0 });
      req.socket.destroy();
      return;
    }
    if (typeof failure === 'number') {
      requests.push({ ...seen, status: failure });
      res.writeHead(failure, { 'Content-Type': 'text/plain' }).end('unavailable');
      return;
    }
    if (raw) {
      requests.push({ ...seen, status: 200 });
      res.writeHead(200, { 'Content-Type': raw.type }).end(raw.body);
      return;
    }
    const etag = `"v${version}"`;
    if (seen.ifNoneMatch === etag) {
      requests.push({ ...seen, status: 304 });
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    requests.push({ ...seen, status: 200 });
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', ETag: etag, 'Last-Modified': lastModified }).end(current);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${port}/torbulkexitlist`,
    requests,
    set(next) { current = next; version++; raw = undefined; },
    fail(mode) { failure = mode; },
    serveRaw(b, type) { raw = { body: b, type }; },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to 127.0.0.1:port, no keep-alive, bounded. */
export function get(port: number, headers: Record<string, string> = {}, path = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, headers, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** A request as if it came through the trusted local proxy from `ip`. */
export function getFrom(port: number, ip: string, headers: Record<string, string> = {}): Promise<Reply> {
  return get(port, { 'X-Forwarded-For': ip, ...headers });
}

export interface CapturedEvent {
  readonly name: string;
  readonly attrs: Record<string, unknown>;
  readonly body: string;
}

/** An app behind an in-process guard, its signed events captured in memory. */
export interface GuardedApp {
  readonly inst: Nis2Instrumentation;
  readonly port: number;
  /** How many requests reached the app handler. */
  handled(): number;
  events(name?: string): CapturedEvent[];
  stop(): Promise<void>;
}

/** The Ed25519 seed these tests sign with. */
const SIGNING_KEY = Buffer.alloc(32, 0x3c).toString('base64');

/**
 * Starts the guard with `nis2` (plus a test key, loopback as trusted proxy so X-Forwarded-For sets
 * the client address, and a temp events file) and an app that answers 200 `ok`.
 */
export async function guardedApp(nis2: Nis2Options): Promise<GuardedApp> {
  const exporter = new InMemoryLogRecordExporter();
  const dir = tempDir('guard');
  const options: Nis2Options = {
    trustedProxies: 'loopback',
    ...nis2,
    signing: { key: SIGNING_KEY, keyDir: join(dir, '.nis2') },
    export: { otlp: 'off', eventsFile: join(dir, 'events.jsonl') },
  };
  const loggerProvider = new LoggerProvider({
    processors: [createNis2LogProcessor({ nis2: options, downstream: [new SimpleLogRecordProcessor({ exporter })] })],
  });
  const inst = new Nis2Instrumentation({ nis2: options, loggerProvider });
  let handled = 0;
  const server = http.createServer((_req, res) => { handled++; res.end('ok'); });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as AddressInfo).port;
  return {
    inst,
    port,
    handled: () => handled,
    events: (name) => exporter.getFinishedLogRecords()
      .filter((r) => r.eventName !== undefined && !r.eventName.startsWith('nis2.integrity.') && (name === undefined || r.eventName === name))
      .map((r) => ({ name: r.eventName!, attrs: JSON.parse(r.body as string).attrs as Record<string, unknown>, body: r.body as string })),
    async stop() {
      inst.disable();
      await inst.closeDefenses();
      inst.flushEvents();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await loggerProvider.shutdown();
    },
  };
}
