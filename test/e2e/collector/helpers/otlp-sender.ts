// The one place that turns signed envelopes into OTLP log records and sends them to the collector.
// It stands in for the package's own exporter (`@nis2/otel/register` → OTLP): when that is wired
// into this suite, only this file changes. Records look exactly like the package's (DESIGN §4):
// eventName = envelope.event, severity from envelope.severity, body = the envelope string
// itself, attributes = the envelope's attrs + nis2.stream / nis2.seq / nis2.kid.
import { parseEnvelope } from './envelopes.ts';

type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean };

interface KeyValue {
  key: string;
  value: AnyValue;
}

const SEVERITY_NUMBER: Record<string, number> = {
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  WARN: 13,
  ERROR: 17,
  FATAL: 21,
};

function anyValue(v: unknown): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: JSON.stringify(v) };
}

export interface SenderOptions {
  /** http://127.0.0.1:<port> of the collector's OTLP/HTTP receiver. */
  endpoint: string;
  serviceName?: string;
  hostName?: string;
}

/** Builds the OTLP/JSON ExportLogsServiceRequest for these envelope bodies (one resource). */
export function toOtlpJson(bodies: string[], opts: Omit<SenderOptions, 'endpoint'> = {}): unknown {
  const logRecords = bodies.map((body) => {
    const env = parseEnvelope(body);
    const attrs: KeyValue[] = Object.entries(env.attrs).map(([key, v]) => ({ key, value: anyValue(v) }));
    attrs.push({ key: 'nis2.stream', value: { stringValue: env.stream } });
    attrs.push({ key: 'nis2.seq', value: { intValue: String(env.seq) } });
    attrs.push({ key: 'nis2.kid', value: { stringValue: env.kid } });
    const nanos = (BigInt(Date.parse(env.ts)) * 1_000_000n).toString();
    return {
      timeUnixNano: nanos,
      observedTimeUnixNano: nanos,
      severityNumber: SEVERITY_NUMBER[env.severity] ?? 9,
      severityText: env.severity,
      eventName: env.event,
      body: { stringValue: body },
      attributes: attrs,
    };
  });
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: opts.serviceName ?? 'shop-api' } },
            { key: 'host.name', value: { stringValue: opts.hostName ?? 'app-host-1' } },
          ],
        },
        scopeLogs: [{ scope: { name: '@nis2/otel', version: '0.1.0' }, logRecords }],
      },
    ],
  };
}

/** POSTs the records to /v1/logs; resolves when the collector accepted them (HTTP 200, no rejects). */
export async function sendEnvelopes(bodies: string[], opts: SenderOptions): Promise<void> {
  const res = await fetch(`${opts.endpoint}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(toOtlpJson(bodies, opts)),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${text}`);
  if (text !== '' && text !== '{}') {
    const parsed = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: string | number } };
    const rejected = Number(parsed.partialSuccess?.rejectedLogRecords ?? 0);
    if (rejected > 0) throw new Error(`collector rejected ${rejected} records: ${text}`);
  }
}
