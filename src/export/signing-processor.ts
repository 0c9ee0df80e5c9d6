import { hostname } from 'node:os';
import { SeverityNumber, type Attributes, type AttributeValue, type Context } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { defaultResource, type Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import type { SealedRecord, StreamSigner } from '../integrity/stream-signer.js';
import {
  ATTR_NIS2_CHECKPOINT_INTERVAL_S, ATTR_NIS2_KID, ATTR_NIS2_PUBLIC_KEY, ATTR_NIS2_SEQ, ATTR_NIS2_STREAM,
  ATTR_SERVICE_NAME, EVENT_HTTP_ACCESS,
} from '../semconv.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { IntegrityLogRecord } from './integrity-record.js';

/** Options of {@link Nis2SigningProcessor}. */
export interface Nis2SigningProcessorOptions {
  readonly signer: StreamSigner;
  /** Where signed records go next (OTLP batch processor, JSONL file, …), in order. */
  readonly downstream: readonly LogRecordProcessor[];
  /** Seal `nis2.http.access` records in `chain` mode (covered by signed checkpoints). */
  readonly chainAccessRecords: boolean;
  readonly checkpointIntervalMs: number;
  readonly checkpointEvery: number;
  /** Resource of the integrity records; event records keep the resource they were emitted with. */
  readonly resource?: Resource;
  readonly serviceName?: string;
  /** Key id of the investigator key PII is sealed to, declared in `stream_start` (DESIGN §4). */
  readonly piiKeyId?: string;
  readonly now?: () => number;
}

const SCOPE: InstrumentationScope = { name: PACKAGE_NAME, version: PACKAGE_VERSION };
const NIS2_PREFIX = 'nis2.';
const INTEGRITY_PREFIX = 'nis2.integrity.';

const SEVERITY_TEXT: Partial<Record<number, string>> = {
  [SeverityNumber.INFO]: 'INFO', [SeverityNumber.WARN]: 'WARN', [SeverityNumber.ERROR]: 'ERROR', [SeverityNumber.FATAL]: 'FATAL',
};

function envelopeValue(value: AttributeValue | undefined): EnvelopeAttrValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => envelopeValue(v as AttributeValue) ?? null);
  return undefined;
}

function envelopeAttrs(attributes: Attributes): Record<string, EnvelopeAttrValue> {
  const out: Record<string, EnvelopeAttrValue> = {};
  for (const key in attributes) {
    const v = envelopeValue(attributes[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * The signed-event pipeline as an OpenTelemetry `LogRecordProcessor`: every `nis2.*` record that
 * passes through gets its body replaced by the signed, hash-chained envelope (DESIGN §4) and the
 * index attributes `nis2.stream`/`nis2.seq`/`nis2.kid`, then goes to this processor's own
 * downstream processors. Other log records are left alone (and not forwarded), so the processor can
 * sit in an app's NodeSDK next to its ordinary log pipeline.
 *
 * It writes `stream_start` before the first record, a signed checkpoint every `checkpointEvery` records or
 * `checkpointIntervalMs` (a heartbeat even when idle), and a checkpoint plus `stream_end` at shutdown.
 */
export class Nis2SigningProcessor implements LogRecordProcessor {
  readonly signer: StreamSigner;
  readonly #downstream: readonly LogRecordProcessor[];
  readonly #chainAccess: boolean;
  readonly #every: number;
  readonly #intervalMs: number;
  #lastCheckpointMs = 0;
  readonly #now: () => number;
  #resource: Resource;
  readonly #timer: NodeJS.Timeout;
  #shutdown: Promise<void> | undefined;
  readonly #serviceName: string | undefined;
  readonly #piiKeyId: string | undefined;
  readonly #intervalS: number;
  #started = false;
  /** Records that arrived after shutdown began and could not join the stream. */
  droppedAfterShutdown = 0;

  constructor(options: Nis2SigningProcessorOptions) {
    this.signer = options.signer;
    this.#downstream = options.downstream;
    this.#chainAccess = options.chainAccessRecords;
    this.#every = options.checkpointEvery;
    this.#intervalMs = options.checkpointIntervalMs;
    this.#now = options.now ?? Date.now;
    this.#lastCheckpointMs = this.#now();
    this.#resource = options.resource ?? defaultResource();
    this.#serviceName = options.serviceName;
    this.#piiKeyId = options.piiKeyId;
    this.#intervalS = options.checkpointIntervalMs / 1000;
    this.#timer = setInterval(() => this.checkpoint(), options.checkpointIntervalMs);
    this.#timer.unref();
  }

  /**
   * Writes `stream_start` just before the stream's first record (event, heartbeat or shutdown), so
   * it names the service of the resource the events really carry (the app's NodeSDK resource on
   * the programmatic path), read only once the resource's async attributes have settled.
   */
  #ensureStarted(): void {
    if (this.#started) return;
    this.#started = true;
    const key = this.signer.key;
    const attrs: Record<string, EnvelopeAttrValue> = {
      [ATTR_NIS2_CHECKPOINT_INTERVAL_S]: this.#intervalS,
      'nis2.package.version': PACKAGE_VERSION,
      'host.name': hostname(),
      'process.pid': process.pid,
    };
    if (key.publicKey) attrs[ATTR_NIS2_PUBLIC_KEY] = key.publicKey.toString('base64url');
    if (this.#piiKeyId) attrs['nis2.pii.kid'] = this.#piiKeyId;
    const fromResource = this.#resource.asyncAttributesPending ? undefined : this.#resource.attributes[ATTR_SERVICE_NAME];
    const serviceName = this.#serviceName ?? fromResource;
    if (typeof serviceName === 'string') attrs[ATTR_SERVICE_NAME] = serviceName;
    this.#forwardIntegrity(this.signer.start(attrs, this.#now()));
  }

  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    const name = record.eventName;
    if (name === undefined || !name.startsWith(NIS2_PREFIX) || name.startsWith(INTEGRITY_PREFIX)) return;
    if (this.#shutdown !== undefined) {
      this.droppedAfterShutdown++;
      return;
    }
    this.#resource = record.resource;
    this.#ensureStarted();
    // Verifiers flag a stream whose checkpoints lag its records by more than the declared interval
    // as truncated; a stalled event loop can delay the timer, so an overdue checkpoint goes first.
    if (this.#now() - this.#lastCheckpointMs >= this.#intervalMs) this.checkpoint();
    const [s, ns] = record.hrTime;
    const sealed = this.signer.seal(
      name,
      record.severityText ?? SEVERITY_TEXT[record.severityNumber ?? SeverityNumber.INFO] ?? 'INFO',
      envelopeAttrs(record.attributes),
      s * 1000 + Math.floor(ns / 1e6),
      this.#chainAccess && name === EVENT_HTTP_ACCESS,
    );
    record.setBody(sealed.body);
    record.setAttribute(ATTR_NIS2_STREAM, this.signer.stream);
    record.setAttribute(ATTR_NIS2_SEQ, sealed.seq);
    record.setAttribute(ATTR_NIS2_KID, this.signer.key.kid);
    for (const p of this.#downstream) p.onEmit(record, context);
    if (this.signer.sinceCheckpoint >= this.#every) this.checkpoint();
  }

  /** Writes a signed checkpoint now (also the idle heartbeat). */
  checkpoint(): void {
    if (this.#shutdown !== undefined || this.signer.ended) return;
    this.#ensureStarted();
    this.#lastCheckpointMs = this.#now();
    this.#forwardIntegrity(this.signer.checkpoint(this.#lastCheckpointMs));
  }

  #forwardIntegrity(sealed: SealedRecord): void {
    const envelope = JSON.parse(sealed.body) as { event: string; attrs: Attributes };
    const record = new IntegrityLogRecord({
      resource: this.#resource,
      scope: SCOPE,
      tsMs: sealed.tsMs,
      eventName: envelope.event,
      severityText: 'INFO',
      severityNumber: SeverityNumber.INFO,
      body: sealed.body,
      attributes: { ...flattenForIndex(envelope.attrs), [ATTR_NIS2_STREAM]: this.signer.stream, [ATTR_NIS2_SEQ]: sealed.seq, [ATTR_NIS2_KID]: this.signer.key.kid },
    });
    for (const p of this.#downstream) p.onEmit(record);
  }

  forceFlush(): Promise<void> {
    return Promise.all(this.#downstream.map((p) => p.forceFlush())).then(() => undefined);
  }

  /** Final checkpoint and `stream_end`, then flushes and shuts the downstream processors down. */
  shutdown(): Promise<void> {
    if (this.#shutdown) return this.#shutdown;
    clearInterval(this.#timer);
    this.#ensureStarted();
    if (!this.signer.ended) {
      if (this.signer.sinceCheckpoint > 0) this.#forwardIntegrity(this.signer.checkpoint(this.#now()));
      this.#forwardIntegrity(this.signer.end(this.#now()));
    }
    this.#shutdown = Promise.allSettled(this.#downstream.map((p) => p.shutdown())).then(() => undefined);
    return this.#shutdown;
  }
}

function flattenForIndex(attrs: Attributes): Attributes {
  // Checkpoint attrs (`from`, `head`, `to`) are namespaced for the index copy so SIEM fields stay unambiguous.
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) out[k.includes('.') ? k : `nis2.checkpoint.${k}`] = v;
  return out;
}
