import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AnyRequest, AnyResponse, Verdict } from '../defenses/types.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const ERROR_NAMES: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 429: 'too_many_requests' };

/** True for browsers (an `Accept` that asks for HTML); they get pages and redirects, APIs get JSON. */
export function wantsHtml(req: AnyRequest): boolean {
  const accept = req.headers['accept'];
  return typeof accept === 'string' && accept.includes('text/html');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Writes the block response of DESIGN §6: JSON `{error, reason, requestId}` for APIs, a minimal
 * HTML page for browsers, never internals. Returns false (and writes nothing) when the response has
 * already started: the guard then records a failed block instead of pretending.
 */
export function writeBlock(req: AnyRequest, res: AnyResponse, verdict: Verdict, requestId: string, extra: Array<[string, string]> | undefined): boolean {
  if (res.headersSent || res.writableEnded) return false;
  const error = ERROR_NAMES[verdict.status] ?? 'blocked';
  let body: string;
  let type: string;
  if (wantsHtml(req)) {
    type = 'text/html; charset=utf-8';
    const title = `${verdict.status} ${STATUS_CODES[verdict.status] ?? ''}`.trim();
    body = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>Request ID: ${escapeHtml(requestId)}</p></body></html>`;
  } else {
    type = 'application/json; charset=utf-8';
    // The block path is the flood path: reasons and ids are plain tokens, so no JSON.stringify.
    body = TOKEN.test(verdict.reason) && TOKEN.test(requestId)
      ? `{"error":"${error}","reason":"${verdict.reason}","requestId":"${requestId}"}`
      : JSON.stringify({ error, reason: verdict.reason, requestId });
  }
  // One writeHead with every header instead of a setHeader call each.
  const headers: Record<string, string | number> = {};
  if (extra) for (const [k, v] of extra) headers[k] = v;
  if (verdict.headers) for (const [k, v] of verdict.headers) headers[k] = v;
  headers['Content-Type'] = type;
  headers['Content-Length'] = Buffer.byteLength(body);
  headers['Cache-Control'] = 'no-store';
  (res as import('node:http').ServerResponse).writeHead(verdict.status, headers).end(body);
  return true;
}

/** Block on an `upgrade` request: a plain HTTP/1.1 response on the raw socket, then close it. */
export function writeUpgradeBlock(socket: Duplex, verdict: Verdict, requestId: string): boolean {
  if (socket.destroyed || !socket.writable) return false;
  const body = JSON.stringify({ error: ERROR_NAMES[verdict.status] ?? 'blocked', reason: verdict.reason, requestId });
  const headers = (verdict.headers ?? []).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${verdict.status} ${STATUS_CODES[verdict.status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`);
  return true;
}
