// OTLP/HTTP logs receiver mock (JSON encoding): POST /v1/logs, ExportLogsServiceRequest.
import { HttpMock, type MockReply, type MockRequest } from './http-base.ts';

export interface OtlpRecord {
  eventName: string | undefined;
  severityText: string | undefined;
  body: string | undefined;
  attributes: Map<string, unknown>;
  resource: Map<string, unknown>;
}

interface KV {
  key: string;
  value: Record<string, unknown>;
}

function kvMap(list: KV[] | undefined): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
    m.set(key, v);
  }
  return m;
}

export class OtlpMock extends HttpMock {
  readonly records: OtlpRecord[] = [];

  constructor(port: number) {
    super(port, (req) => this.handle(req));
  }

  private handle(req: MockRequest): MockReply {
    if (req.method !== 'POST' || req.url.pathname !== '/v1/logs') {
      this.violation(`unexpected ${req.method} ${req.url.pathname}`);
      return { status: 404 };
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      this.violation(`content-type ${String(req.headers['content-type'])}`);
      return { status: 415 };
    }
    const payload = JSON.parse(req.body.toString('utf8')) as {
      resourceLogs?: { resource?: { attributes?: KV[] }; scopeLogs?: { logRecords?: Record<string, unknown>[] }[] }[];
    };
    for (const rl of payload.resourceLogs ?? []) {
      const resource = kvMap(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) {
        for (const lr of sl.logRecords ?? []) {
          const body = lr.body as { stringValue?: string } | undefined;
          this.records.push({
            eventName: lr.eventName as string | undefined,
            severityText: lr.severityText as string | undefined,
            body: body?.stringValue,
            attributes: kvMap(lr.attributes as KV[] | undefined),
            resource,
          });
        }
      }
    }
    return { status: 200, body: '{}' };
  }
}
