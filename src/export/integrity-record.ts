import type { AnyValue, Attributes, HrTime, SeverityNumber } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/**
 * A log record the signing processor writes itself (stream_start, checkpoints, stream_end). A
 * processor has no Logger of its own, and these records must enter the stream at an exact position
 * (between two event records), so they are built here and handed to the downstream processors
 * directly, in order.
 */
export class IntegrityLogRecord implements ReadWriteLogRecord {
  hrTime: HrTime;
  hrTimeObserved: HrTime;
  severityText?: string;
  severityNumber?: SeverityNumber;
  body?: AnyValue;
  eventName?: string;
  droppedAttributesCount = 0;
  readonly attributes: Attributes;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;

  constructor(init: {
    resource: Resource; scope: InstrumentationScope; tsMs: number; eventName: string;
    severityText: string; severityNumber: SeverityNumber; body: string; attributes: Attributes;
  }) {
    const hr: HrTime = [Math.floor(init.tsMs / 1000), (init.tsMs % 1000) * 1e6];
    this.hrTime = hr;
    this.hrTimeObserved = hr;
    this.resource = init.resource;
    this.instrumentationScope = init.scope;
    this.eventName = init.eventName;
    this.severityText = init.severityText;
    this.severityNumber = init.severityNumber;
    this.body = init.body;
    this.attributes = init.attributes;
  }

  setAttribute(key: string, value?: AnyValue): this {
    if (value !== undefined) (this.attributes as Record<string, AnyValue>)[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    Object.assign(this.attributes, attributes);
    return this;
  }
  setBody(body: AnyValue): this {
    this.body = body;
    return this;
  }
  setEventName(eventName: string): this {
    this.eventName = eventName;
    return this;
  }
  setSeverityNumber(severityNumber: SeverityNumber): this {
    this.severityNumber = severityNumber;
    return this;
  }
  setSeverityText(severityText: string): this {
    this.severityText = severityText;
    return this;
  }
}
