// Shared plumbing for the HTTP SIEM mocks: a 127.0.0.1 server whose handler gets the fully read,
// gunzipped request body, and that can be stopped and started again on the same port (outage tests).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { once } from 'node:events';
import { HOST } from '../helpers/net.ts';

export interface MockRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** Decompressed body. */
  body: Buffer;
  /** Content-Encoding the client used, '' when none. */
  encoding: string;
}

export interface MockReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type MockHandler = (req: MockRequest) => MockReply;

export class HttpMock {
  readonly port: number;
  /** Every protocol violation seen; tests assert it stays empty. */
  readonly violations: string[] = [];
  readonly requests: MockRequest[] = [];
  private server: Server | undefined;
  private readonly handler: MockHandler;
  private readonly extraHeaders: Record<string, string>;

  constructor(port: number, handler: MockHandler, extraHeaders: Record<string, string> = {}) {
    this.port = port;
    this.handler = handler;
    this.extraHeaders = extraHeaders;
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 1000;
    server.listen(this.port, HOST);
    await once(server, 'listening');
    this.server = server;
  }

  /** Stops listening and drops every open connection (a SIEM that went away). */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  violation(msg: string): void {
    this.violations.push(msg);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let reply: MockReply;
      const raw = Buffer.concat(chunks);
      const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
      let body = raw;
      try {
        if (encoding === 'gzip') body = gunzipSync(raw);
        else if (encoding === 'deflate') body = inflateSync(raw);
        else if (encoding !== '' && encoding !== 'identity') throw new Error(`unsupported content-encoding ${encoding}`);
        const request: MockRequest = {
          method: req.method ?? '',
          url: new URL(req.url ?? '/', this.url),
          headers: req.headers,
          body,
          encoding,
        };
        this.requests.push(request);
        reply = this.handler(request);
      } catch (err) {
        this.violation(`${req.method} ${req.url}: ${(err as Error).message}`);
        reply = { status: 400, body: JSON.stringify({ error: (err as Error).message }) };
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...this.extraHeaders, ...(reply.headers ?? {}) });
      res.end(reply.body ?? '');
    });
  }
}
