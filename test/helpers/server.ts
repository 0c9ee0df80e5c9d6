// Small client/server helpers for integration tests: everything on 127.0.0.1, every wait bounded.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';

export const HOST = '127.0.0.1';

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Listens on 127.0.0.1 with an ephemeral port and returns it. */
export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Closes a server and its open connections. */
export function close(server: net.Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  protocol?: 'http' | 'https';
  /** CA for https (self-signed test certificates). */
  ca?: string;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

/** One HTTP/1.1 request to 127.0.0.1:port; resolves with status, headers and body. */
export function request(port: number, options: RequestOptions = {}): Promise<Response> {
  const mod = options.protocol === 'https' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({
      host: HOST,
      port,
      method: options.method ?? 'GET',
      path: options.path ?? '/',
      headers: options.headers,
      agent: options.agent ?? false,
      ca: options.ca,
      servername: options.protocol === 'https' ? 'localhost' : undefined,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`request ${options.path ?? '/'} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sequential requests; returns the responses in order. */
export async function requests(port: number, n: number, options: RequestOptions | ((i: number) => RequestOptions) = {}): Promise<Response[]> {
  const out: Response[] = [];
  for (let i = 0; i < n; i++) out.push(await request(port, typeof options === 'function' ? options(i) : options));
  return out;
}

/** One HTTP/2 request on an existing session. */
export function h2request(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': 'GET', ...headers });
    let status = 0;
    let resHeaders: Record<string, string | string[] | undefined> = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      status = Number(h[':status']);
      resHeaders = h as Record<string, string | string[] | undefined>;
    });
    stream.on('data', (d: string) => { body += d; });
    stream.on('end', () => resolve({ status, headers: resHeaders, body }));
    stream.on('error', reject);
    stream.setTimeout(10_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.end();
  });
}

/** Writes raw bytes to 127.0.0.1:port and returns everything read until the peer closes (bounded). */
export function rawRequest(port: number, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); resolve(data); }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(text));
    socket.on('data', (d: string) => {
      data += d;
      // A 101 answer keeps the socket open: stop at the end of its head.
      if (data.startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) { clearTimeout(timer); socket.destroy(); resolve(data); }
    });
    socket.on('end', () => { clearTimeout(timer); resolve(data); });
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/** An upgrade request as a browser would send it (WebSocket handshake shape). */
export function upgradeRequest(path: string, extra: Record<string, string> = {}): string {
  const headers = {
    Host: 'localhost', Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...extra,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** Polls `fn` until it returns a truthy value or the time is up (then throws `message`). */
export async function waitFor<T>(fn: () => T | Promise<T>, message: string, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A self-signed certificate for `localhost`/127.0.0.1, made with the openssl CLI in `dir`. */
export function selfSignedCert(dir: string): { key: string; cert: string; keyPath: string; certPath: string } {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore', timeout: 10_000 });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), keyPath, certPath };
}

/** Parses the draft-ietf-httpapi-ratelimit-headers fields as the guard writes them. */
export function parseRateLimitHeaders(headers: Record<string, string | string[] | undefined>): {
  policy: { name: string; q: number; w: number } | undefined;
  limit: { name: string; r: number; t: number } | undefined;
} {
  const p = /^"([^"]+)";q=(\d+);w=(\d+)$/.exec(String(headers['ratelimit-policy'] ?? ''));
  const l = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(String(headers['ratelimit'] ?? ''));
  return {
    policy: p ? { name: p[1]!, q: Number(p[2]), w: Number(p[3]) } : undefined,
    limit: l ? { name: l[1]!, r: Number(l[2]), t: Number(l[3]) } : undefined,
  };
}
