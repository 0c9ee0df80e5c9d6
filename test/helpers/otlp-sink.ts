// An OTLP/HTTP receiver on 127.0.0.1 for tests: accepts POST /v1/logs, /v1/traces (and /v1/metrics),
// decodes http/json (`ExportLogsServiceRequest` / `ExportTraceServiceRequest` as JSON) and
// http/protobuf (a small wire-format reader following opentelemetry-proto's logs.proto,
// trace.proto and common.proto field numbers), and keeps what arrived in a flat, comparable form.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { close, listen } from './server.ts';

export type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue };

export interface SinkLogRecord {
  eventName: string;
  severityText: string;
  severityNumber: number;
  body: AttrValue | undefined;
  attributes: Record<string, AttrValue>;
  /** Lower-case hex; '' when absent. */
  traceId: string;
  spanId: string;
  resource: Record<string, AttrValue>;
  scope: string;
  encoding: 'json' | 'protobuf';
}

export interface SinkSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, AttrValue>;
  /** 0 UNSET, 1 OK, 2 ERROR. */
  statusCode: number;
  encoding: 'json' | 'protobuf';
}

export interface SinkRequest {
  path: string;
  contentType: string;
  bytes: number;
}

export interface OtlpSink {
  readonly port: number;
  readonly endpoint: string;
  readonly logs: SinkLogRecord[];
  readonly spans: SinkSpan[];
  readonly requests: SinkRequest[];
  /** Decoding failures (a test should assert this stays empty). */
  readonly errors: string[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------- JSON

type JsonAny = {
  stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number;
  arrayValue?: { values?: JsonAny[] }; kvlistValue?: { values?: JsonKv[] }; bytesValue?: string;
};
type JsonKv = { key: string; value?: JsonAny };
type JsonLogs = {
  resourceLogs?: Array<{
    resource?: { attributes?: JsonKv[] };
    scopeLogs?: Array<{
      scope?: { name?: string };
      logRecords?: Array<{
        eventName?: string; severityText?: string; severityNumber?: number; body?: JsonAny;
        attributes?: JsonKv[]; traceId?: string; spanId?: string;
      }>;
    }>;
  }>;
};
type JsonTraces = {
  resourceSpans?: Array<{
    scopeSpans?: Array<{
      spans?: Array<{
        name?: string; kind?: number; traceId?: string; spanId?: string; parentSpanId?: string;
        attributes?: JsonKv[]; status?: { code?: number };
      }>;
    }>;
  }>;
};

function jsonValue(v: JsonAny | undefined): AttrValue {
  if (v === undefined || v === null) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue);
  if (v.kvlistValue !== undefined) return jsonAttrs(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function jsonAttrs(kvs: JsonKv[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) out[kv.key] = jsonValue(kv.value);
  return out;
}

function jsonId(v: unknown): string {
  if (typeof v !== 'string') return '';
  // OTLP/JSON uses hex; accept base64 from other encoders too.
  if (/^[0-9a-fA-F]*$/.test(v)) return v.toLowerCase();
  return Buffer.from(v, 'base64').toString('hex');
}

function decodeJsonLogs(data: JsonLogs): SinkLogRecord[] {
  const out: SinkLogRecord[] = [];
  for (const rl of data.resourceLogs ?? []) {
    const resource = jsonAttrs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        out.push({
          eventName: r.eventName ?? '',
          severityText: r.severityText ?? '',
          severityNumber: Number(r.severityNumber ?? 0),
          body: r.body === undefined ? undefined : jsonValue(r.body),
          attributes: jsonAttrs(r.attributes),
          traceId: jsonId(r.traceId),
          spanId: jsonId(r.spanId),
          resource,
          scope: sl.scope?.name ?? '',
          encoding: 'json',
        });
      }
    }
  }
  return out;
}

function decodeJsonSpans(data: JsonTraces): SinkSpan[] {
  const out: SinkSpan[] = [];
  for (const rs of data.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          name: s.name ?? '',
          kind: Number(s.kind ?? 0),
          traceId: jsonId(s.traceId),
          spanId: jsonId(s.spanId),
          parentSpanId: jsonId(s.parentSpanId),
          attributes: jsonAttrs(s.attributes),
          statusCode: Number(s.status?.code ?? 0),
          encoding: 'json',
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- protobuf

/** One field of a protobuf message: wire type 0 → varint (bigint), 1/5 → fixed bytes, 2 → bytes. */
type PbField = { no: number; wire: number; varint?: bigint; bytes?: Buffer };

function readVarint(buf: Buffer, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.i >= buf.length) throw new Error('truncated varint');
    const b = buf[pos.i++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
    if (shift > 70n) throw new Error('varint too long');
  }
}

function pbFields(buf: Buffer): PbField[] {
  const out: PbField[] = [];
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const tag = Number(readVarint(buf, pos));
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, varint: readVarint(buf, pos) });
    else if (wire === 1) { out.push({ no, wire, bytes: buf.subarray(pos.i, pos.i + 8) }); pos.i += 8; }
    else if (wire === 5) { out.push({ no, wire, bytes: buf.subarray(pos.i, pos.i + 4) }); pos.i += 4; }
    else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      if (pos.i + len > buf.length) throw new Error('truncated length-delimited field');
      out.push({ no, wire, bytes: buf.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const all = (fields: PbField[], no: number): PbField[] => fields.filter((f) => f.no === no);
const one = (fields: PbField[], no: number): PbField | undefined => fields.findLast((f) => f.no === no);
const str = (f: PbField | undefined): string => (f?.bytes ? f.bytes.toString('utf8') : '');
const hex = (f: PbField | undefined): string => (f?.bytes ? f.bytes.toString('hex') : '');
const num = (f: PbField | undefined): number => (f?.varint !== undefined ? Number(BigInt.asIntN(64, f.varint)) : 0);

// common.proto AnyValue: string_value=1 bool_value=2 int_value=3 double_value=4 array_value=5 kvlist_value=6 bytes_value=7
function pbAnyValue(buf: Buffer): AttrValue {
  const f = pbFields(buf);
  const v = f[f.length - 1];
  if (!v) return null;
  switch (v.no) {
    case 1: return str(v);
    case 2: return v.varint !== 0n;
    case 3: return num(v);
    case 4: return v.bytes!.readDoubleLE(0);
    case 5: return all(pbFields(v.bytes!), 1).map((x) => pbAnyValue(x.bytes!));
    case 6: return pbAttrs(pbFields(v.bytes!), 1);
    case 7: return v.bytes!.toString('base64');
    default: return null;
  }
}

// KeyValue: key=1 value=2
function pbAttrs(fields: PbField[], no: number): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of all(fields, no)) {
    const f = pbFields(kv.bytes!);
    const value = one(f, 2);
    out[str(one(f, 1))] = value?.bytes ? pbAnyValue(value.bytes) : null;
  }
  return out;
}

// ExportLogsServiceRequest: resource_logs=1; ResourceLogs: resource=1 scope_logs=2; Resource: attributes=1;
// ScopeLogs: scope=1 log_records=2; InstrumentationScope: name=1;
// LogRecord: time=1 severity_number=2 severity_text=3 body=5 attributes=6 flags=8 trace_id=9 span_id=10 observed=11 event_name=12
function decodePbLogs(buf: Buffer): SinkLogRecord[] {
  const out: SinkLogRecord[] = [];
  for (const rl of all(pbFields(buf), 1)) {
    const rlf = pbFields(rl.bytes!);
    const res = one(rlf, 1);
    const resource = res ? pbAttrs(pbFields(res.bytes!), 1) : {};
    for (const sl of all(rlf, 2)) {
      const slf = pbFields(sl.bytes!);
      const scope = one(slf, 1);
      const scopeName = scope ? str(one(pbFields(scope.bytes!), 1)) : '';
      for (const lr of all(slf, 2)) {
        const f = pbFields(lr.bytes!);
        const body = one(f, 5);
        out.push({
          eventName: str(one(f, 12)),
          severityText: str(one(f, 3)),
          severityNumber: num(one(f, 2)),
          body: body ? pbAnyValue(body.bytes!) : undefined,
          attributes: pbAttrs(f, 6),
          traceId: hex(one(f, 9)),
          spanId: hex(one(f, 10)),
          resource,
          scope: scopeName,
          encoding: 'protobuf',
        });
      }
    }
  }
  return out;
}

// ExportTraceServiceRequest: resource_spans=1; ResourceSpans: scope_spans=2; ScopeSpans: spans=2;
// Span: trace_id=1 span_id=2 parent_span_id=4 name=5 kind=6 attributes=9 status=15; Status: code=3
function decodePbSpans(buf: Buffer): SinkSpan[] {
  const out: SinkSpan[] = [];
  for (const rs of all(pbFields(buf), 1)) {
    for (const ss of all(pbFields(rs.bytes!), 2)) {
      for (const sp of all(pbFields(ss.bytes!), 2)) {
        const f = pbFields(sp.bytes!);
        const status = one(f, 15);
        out.push({
          name: str(one(f, 5)),
          kind: num(one(f, 6)),
          traceId: hex(one(f, 1)),
          spanId: hex(one(f, 2)),
          parentSpanId: hex(one(f, 4)),
          attributes: pbAttrs(f, 9),
          statusCode: status ? num(one(pbFields(status.bytes!), 3)) : 0,
          encoding: 'protobuf',
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- server

/** Starts the sink on 127.0.0.1 (ephemeral port). */
export async function startOtlpSink(): Promise<OtlpSink> {
  const logs: SinkLogRecord[] = [];
  const spans: SinkSpan[] = [];
  const requests: SinkRequest[] = [];
  const errors: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const path = (req.url ?? '').split('?')[0]!;
      const contentType = String(req.headers['content-type'] ?? '');
      requests.push({ path, contentType, bytes: body.length });
      const isJson = contentType.includes('json');
      try {
        if (req.method !== 'POST') throw new Error(`${req.method} ${path}`);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (path === '/v1/logs') logs.push(...(isJson ? decodeJsonLogs(JSON.parse(body.toString('utf8')) as JsonLogs) : decodePbLogs(body)));
        else if (path === '/v1/traces') spans.push(...(isJson ? decodeJsonSpans(JSON.parse(body.toString('utf8')) as JsonTraces) : decodePbSpans(body)));
        else if (path !== '/v1/metrics') throw new Error(`unexpected path ${path}`);
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
        res.writeHead(400).end();
        return;
      }
      // An empty Export*ServiceResponse: full success, in the request's encoding.
      if (isJson) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  const port = await listen(server);
  return { port, endpoint: `http://127.0.0.1:${port}`, logs, spans, requests, errors, close: () => close(server) };
}
