// Splunk HTTP Event Collector mock: POST /services/collector with a stream of JSON event objects
// (not an array; concatenated, optionally whitespace-separated), "Authorization: Splunk <token>",
// gzip allowed. Parses strictly: an unknown key, a missing/empty event, a non-numeric time or a
// nested object in `fields` is a protocol violation answered like Splunk does (400, code 6/12/15).
import { HttpMock, type MockReply, type MockRequest } from './http-base.ts';

export interface HecEvent {
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  event: unknown;
  fields?: Record<string, string | number | boolean | (string | number)[]>;
}

const ALLOWED_KEYS = new Set(['time', 'host', 'source', 'sourcetype', 'index', 'event', 'fields']);

/** Splits "{...}{...} {...}" into the JSON texts of each top-level object. */
export function splitJsonStream(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inStr = false;
  let esc = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (ch === '\\') esc = true;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth < 0) throw new Error(`unbalanced '}' at ${i}`);
      if (depth === 0) out.push(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(ch ?? '')) {
      throw new Error(`unexpected ${JSON.stringify(ch)} between events at ${i}`);
    }
  }
  if (depth !== 0 || inStr) throw new Error('truncated event stream');
  return out;
}

function checkEvent(e: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(e)) if (!ALLOWED_KEYS.has(k)) return `unknown key ${k}`;
  if (!('event' in e) || e.event === '' || e.event === null) return 'event is required';
  if (typeof e.event !== 'string' && typeof e.event !== 'object') return 'event must be a string or an object';
  if (e.time !== undefined && (typeof e.time !== 'number' || !Number.isFinite(e.time))) return 'time must be epoch seconds';
  for (const k of ['host', 'source', 'sourcetype', 'index'] as const) {
    if (e[k] !== undefined && (typeof e[k] !== 'string' || e[k] === '')) return `${k} must be a non-empty string`;
  }
  if (e.fields !== undefined) {
    if (typeof e.fields !== 'object' || e.fields === null || Array.isArray(e.fields)) return 'fields must be an object';
    for (const [k, v] of Object.entries(e.fields)) {
      const flat = (x: unknown): boolean => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
      if (!(flat(v) || (Array.isArray(v) && v.every(flat)))) return `fields.${k}: indexed fields must be flat`;
    }
  }
  return undefined;
}

export class SplunkHecMock extends HttpMock {
  readonly events: HecEvent[] = [];
  readonly token: string;

  constructor(port: number, token: string) {
    super(port, (req) => this.handle(req));
    this.token = token;
  }

  private handle(req: MockRequest): MockReply {
    if (req.method === 'GET' && req.url.pathname === '/services/collector/health') {
      return { status: 200, body: JSON.stringify({ text: 'HEC is healthy', code: 17 }) };
    }
    if (req.method !== 'POST' || (req.url.pathname !== '/services/collector' && req.url.pathname !== '/services/collector/event')) {
      this.violation(`unexpected ${req.method} ${req.url.pathname}`);
      return { status: 404, body: JSON.stringify({ text: 'The requested URL was not found on this server.', code: 404 }) };
    }
    const auth = String(req.headers.authorization ?? '');
    if (auth === '') return { status: 401, body: JSON.stringify({ text: 'Token is required', code: 2 }) };
    if (auth !== `Splunk ${this.token}`) {
      this.violation(`bad Authorization header: ${auth}`);
      return { status: 403, body: JSON.stringify({ text: 'Invalid token', code: 4 }) };
    }
    let texts: string[];
    try {
      texts = splitJsonStream(req.body.toString('utf8'));
    } catch (err) {
      this.violation(`invalid data format: ${(err as Error).message}`);
      return { status: 400, body: JSON.stringify({ text: 'Invalid data format', code: 6 }) };
    }
    if (texts.length === 0) return { status: 400, body: JSON.stringify({ text: 'No data', code: 5 }) };
    const batch: HecEvent[] = [];
    for (const [i, t] of texts.entries()) {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(t) as Record<string, unknown>;
      } catch {
        this.violation(`event ${i} is not JSON`);
        return { status: 400, body: JSON.stringify({ text: 'Invalid data format', code: 6, 'invalid-event-number': i }) };
      }
      const problem = checkEvent(e);
      if (problem !== undefined) {
        this.violation(`event ${i}: ${problem}`);
        const code = problem.startsWith('event is') ? 12 : problem.startsWith('fields') ? 15 : 6;
        return { status: 400, body: JSON.stringify({ text: problem, code, 'invalid-event-number': i }) };
      }
      batch.push(e as unknown as HecEvent);
    }
    this.events.push(...batch);
    return { status: 200, body: JSON.stringify({ text: 'Success', code: 0 }) };
  }
}
