import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { loadConfig, type Nis2Config, type Nis2Options } from '../config/load.js';
import { createAlertingProcessor } from '../alerting/processor.js';
import type { DeliveryFailure } from '../alerting/types.js';
import { resolveSigningKey, type ResolvedSigningKey } from '../integrity/key-source.js';
import { StreamSigner } from '../integrity/stream-signer.js';
import { Nis2Error } from '../errors.js';
import { sealKeyId } from '../privacy/seal.js';
import { warnOnce } from '../warn.js';
import { JsonlFileProcessor } from './jsonl-file.js';
import { createOtlpLogExporter, createOtlpProcessor } from './otlp.js';
import { DurableSpool } from './spool.js';
import { Nis2SigningProcessor } from './signing-processor.js';

/** Options of {@link createNis2LogProcessor}. */
export interface CreateNis2LogProcessorOptions {
  /** Package options (highest precedence over `NIS2_*` env and the config file). */
  nis2?: Nis2Options;
  /** A config already loaded (used by `register`). */
  resolvedConfig?: Nis2Config;
  /** Resource for the integrity records written before any event arrives. */
  resource?: Resource;
  /** Extra processors to receive the signed records (e.g. an in-memory exporter in tests). */
  extraDownstream?: LogRecordProcessor[];
  /** Replace the OTLP/JSONL processors the config implies (tests, custom sinks). */
  downstream?: LogRecordProcessor[];
}

/** The signing processor plus what it was built from, for `register` and `nis2-otel check`. */
export interface Nis2LogPipeline {
  readonly processor: Nis2SigningProcessor;
  readonly key: ResolvedSigningKey;
  readonly config: Nis2Config;
  readonly eventsFile: string | undefined;
  /** The durable spool in front of the OTLP exporter, when both are on. */
  readonly spool: DurableSpool | undefined;
  /** Where webhook delivery failures go (register turns them into signed events). */
  onAlertDeliveryFailure(sink: (failure: DeliveryFailure) => void): void;
}

/** The kid of the PII sealing key when sealing is on (same rule as the emitter's PII step). */
function piiKeyId(config: Nis2Config): string | undefined {
  const raw = config.values.get('privacy.sealKey') as Buffer | undefined;
  return config.values.get('privacy.seal') !== 'off' && raw !== undefined ? sealKeyId(raw) : undefined;
}

/** File-system set-up at start: an unusable path fails with the key to fix, not a stack trace. */
function startupIo<T>(key: string, path: string, create: () => T): T {
  try {
    return create();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', `${key} '${path}' cannot be used (${code}); point it at a writable directory`);
  }
}

/** Builds the signed-event pipeline and says once where its output goes and which key signs it. */
export function createNis2LogPipeline(options: CreateNis2LogProcessorOptions = {}): Nis2LogPipeline {
  const config = options.resolvedConfig ?? loadConfig({ options: options.nis2 });
  const key = resolveSigningKey(config);
  if (key.origin === 'generated' || key.origin === 'persisted-generated') {
    warnOnce('NIS2_WRN_GENERATED_KEY',
      `NO SIGNING KEY CONFIGURED. Security events are signed with a key ${key.origin === 'generated' ? 'generated now and saved' : 'generated earlier and kept'} at ${key.path} (kid ${key.key.kid}). ` +
      'Anyone with that file can forge events: create a key with `nis2-otel keygen` and set NIS2_SIGNING_KEY_FILE.');
  } else if (key.unsafeMode) {
    warnOnce('NIS2_WRN_KEY_FILE_MODE', `the signing key file ${key.path ?? ''} is readable by group or others; chmod 600 it.`);
  }
  const downstream: LogRecordProcessor[] = [];
  let eventsFile: string | undefined;
  let spool: DurableSpool | undefined;
  if (options.downstream) {
    downstream.push(...options.downstream);
  } else {
    if (config.export.otlp && config.export.spool) {
      const spoolOptions = config.export.spool;
      spool = startupIo('export.spoolDir (NIS2_SPOOL_DIR)', spoolOptions.dir, () => new DurableSpool({ ...spoolOptions, exporter: createOtlpLogExporter() }));
      downstream.push(spool);
    } else if (config.export.otlp) {
      downstream.push(createOtlpProcessor());
    }
    if (config.export.eventsFile) {
      eventsFile = config.export.eventsFile;
      const path = eventsFile;
      downstream.push(startupIo('export.eventsFile (NIS2_EVENTS_FILE)', path, () => new JsonlFileProcessor({ path, maxBytes: config.export.eventsFileMaxBytes, maxFiles: config.export.eventsFileMaxFiles })));
      if (!config.export.otlp) {
        warnOnce('NIS2_WRN_EVENTS_FILE', `no OTLP endpoint configured: signed security events are written to ${eventsFile} (set OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector).`);
      }
    }
  }
  if (options.extraDownstream) downstream.push(...options.extraDownstream);
  // Last, so webhooks see each record after it is signed and already on its way to the log.
  // Delivery failures are reported back into the stream by whoever owns the emitter (register).
  let alertFailureSink: ((failure: DeliveryFailure) => void) | undefined;
  const alerting = createAlertingProcessor(config, { onDeliveryFailure: (failure) => alertFailureSink?.(failure) });
  if (alerting) downstream.push(alerting);
  const processor = new Nis2SigningProcessor({
    signer: new StreamSigner(key.key),
    downstream,
    chainAccessRecords: config.signing.mode === 'chain',
    checkpointIntervalMs: config.signing.checkpointIntervalMs,
    checkpointEvery: config.signing.checkpointEvery,
    resource: options.resource,
    serviceName: config.serviceName,
    piiKeyId: piiKeyId(config),
  });
  return { processor, key, config, eventsFile, spool, onAlertDeliveryFailure: (sink) => { alertFailureSink = sink; } };
}

/**
 * The signed-event pipeline as a LogRecordProcessor for your own NodeSDK:
 * `new NodeSDK({ instrumentations: [new Nis2Instrumentation()], logRecordProcessors: [createNis2LogProcessor()] })`.
 * It exports signed records itself (OTLP per `OTEL_*`, and/or the JSONL file), so it needs no
 * exporter of yours.
 */
export function createNis2LogProcessor(options: CreateNis2LogProcessorOptions = {}): Nis2SigningProcessor {
  return createNis2LogPipeline(options).processor;
}
