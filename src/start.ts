import { diag, trace, ProxyTracerProvider } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  detectResources, envDetector, hostDetector, osDetector, processDetector, resourceFromAttributes,
  serviceInstanceIdDetector, defaultResource, type ResourceDetector,
} from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { loadConfig, type Nis2Options } from './config/load.js';
import { Nis2Error } from './errors.js';
import { createNis2LogPipeline } from './export/create-processor.js';
import { Nis2Instrumentation } from './guard/instrumentation.js';
import { installShutdownHooks } from './lifecycle.js';
import { ATTR_NIS2_REASON, ATTR_NIS2_SUPPRESSED_COUNT, EVENT_EVENTS_SUPPRESSED } from './semconv.js';
import { warnOnce } from './warn.js';

const DETECTORS: Record<string, ResourceDetector> = {
  env: envDetector, host: hostDetector, os: osDetector, process: processDetector, serviceinstance: serviceInstanceIdDetector,
};

/**
 * Resource detection without the cloud detectors (DESIGN §1): they probe metadata addresses off the
 * machine. `OTEL_NODE_RESOURCE_DETECTORS` picks among the local ones; `all` means all local ones.
 */
export function localResourceDetectors(env: NodeJS.ProcessEnv = process.env): ResourceDetector[] {
  const wanted = (env['OTEL_NODE_RESOURCE_DETECTORS'] ?? 'env,host,os,process,serviceinstance').split(',').map((s) => s.trim());
  if (wanted.includes('none')) return [];
  if (wanted.includes('all')) return Object.values(DETECTORS);
  return wanted.flatMap((w) => (DETECTORS[w] ? [DETECTORS[w]] : []));
}

function sdkAlreadyRegistered(): boolean {
  const provider = trace.getTracerProvider();
  // The API hands out a ProxyTracerProvider whose delegate is a no-op until an SDK registers one.
  if (provider instanceof ProxyTracerProvider) return provider.getDelegate().constructor.name !== 'NoopTracerProvider';
  return true;
}

/**
 * Whether the user asked for a signal to be exported. NodeSDK defaults every signal to OTLP on
 * localhost; with no endpoint configured that means failed exports and a multi-second shutdown,
 * so an unconfigured signal gets no exporter at all (security events have their own pipeline).
 */
function exportConfigured(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS' | 'LOGS'): boolean {
  const exporter = env[`OTEL_${signal}_EXPORTER`];
  if (exporter !== undefined && exporter.trim() !== '') return exporter.trim() !== 'none';
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

/** What `register` started, for tests and for code that wants to stop it early. */
export interface Nis2Registration {
  readonly instrumentation: Nis2Instrumentation;
  readonly loggerProvider: LoggerProvider;
  readonly sdk: NodeSDK | undefined;
  shutdown(): Promise<void>;
}

let registration: Nis2Registration | undefined;

/**
 * Starts everything `node --require/--import @nis2/otel/register` promises: config, the signed-event
 * pipeline on a LoggerProvider of our own (held directly, never looked up globally), the guard, and
 * a NodeSDK with the HTTP instrumentation unless another SDK is already registered.
 */
export function startNis2(options?: Nis2Options): Nis2Registration {
  if (registration) return registration;
  const env = process.env;
  const config = loadConfig({ options });
  const detectors = localResourceDetectors(env);
  let resource = defaultResource().merge(detectResources({ detectors }));
  if (config.serviceName) resource = resource.merge(resourceFromAttributes({ 'service.name': config.serviceName }));
  const pipeline = createNis2LogPipeline({ resolvedConfig: config, resource });
  const loggerProvider = new LoggerProvider({ resource, processors: [pipeline.processor] });
  const instrumentation = new Nis2Instrumentation({ resolvedConfig: config, loggerProvider, enabled: false });
  // A webhook that cannot be reached is itself a security-relevant fact: it goes into the stream.
  pipeline.onAlertDeliveryFailure((failure) => instrumentation.emitter.emit({
    name: 'nis2.alerting.delivery_failed',
    severity: 'WARN',
    attrs: {
      'nis2.alerting.destination': failure.destination, 'nis2.alerting.type': failure.type, 'nis2.alerting.event': failure.event,
      'nis2.alerting.attempts': failure.attempts, [ATTR_NIS2_REASON]: failure.reason, ...(failure.status !== undefined && { 'http.response.status_code': failure.status }),
    },
    aggregateKey: `alerting|${failure.destination}|${failure.reason}`,
  }));
  if (pipeline.spool) {
    // What a spool cap drops must show in the signed stream itself.
    pipeline.spool.onDrop = (dropped) => instrumentation.emitter.emit({
      name: EVENT_EVENTS_SUPPRESSED,
      severity: 'ERROR',
      attrs: { 'nis2.reason': 'spool_full', [ATTR_NIS2_SUPPRESSED_COUNT]: dropped.security + dropped.access, 'nis2.suppressed.security': dropped.security, 'nis2.suppressed.access': dropped.access },
    });
  }

  let sdk: NodeSDK | undefined;
  const traces = exportConfigured(env, 'TRACES');
  const metrics = exportConfigured(env, 'METRICS');
  const appLogs = exportConfigured(env, 'LOGS');
  if (sdkAlreadyRegistered()) {
    warnOnce('NIS2_WRN_SDK_PRESENT', 'an OpenTelemetry SDK is already registered: @nis2/otel installs only its guard and its own LoggerProvider.');
    registerInstrumentations({ instrumentations: [instrumentation] });
  } else if (!traces && !metrics && !appLogs) {
    // Nothing of the app's telemetry would be exported: instrumenting http anyway costs more CPU
    // per request than the guard itself (measured in bench/), for spans no one receives. The guard
    // alone; security events have their own pipeline.
    registerInstrumentations({ instrumentations: [instrumentation] });
  } else {
    sdk = new NodeSDK({
      resource,
      resourceDetectors: [],
      // Express spans too (route and middleware), for CommonJS and, through register.mjs's
      // import-in-the-middle hook, ESM apps; other frameworks' instrumentations can be added with
      // the programmatic NodeSDK path.
      instrumentations: [new HttpInstrumentation(), ...(traces ? [new ExpressInstrumentation()] : []), instrumentation],
      ...(traces ? {} : { spanProcessors: [] as SpanProcessor[] }),
      ...(metrics ? {} : { metricReaders: [] }),
      ...(appLogs ? {} : { logRecordProcessors: [] }),
    });
    sdk.start();
  }
  instrumentation.enable();

  const stop = async (): Promise<void> => {
    instrumentation.disable();
    await instrumentation.closeDefenses();
    instrumentation.flushEvents();
    await loggerProvider.shutdown();
    if (sdk) await sdk.shutdown();
  };
  const removeHooks = installShutdownHooks(stop, config.shutdown.timeoutMs, config.shutdown.handleSignals);
  registration = {
    instrumentation,
    loggerProvider,
    sdk,
    shutdown: async () => { removeHooks(); await stop(); },
  };
  diag.debug('@nis2/otel started');
  return registration;
}

/** Entry point of the register hook: a misconfiguration stops the process with one clear line. */
export function startFromHook(): void {
  try {
    startNis2();
  } catch (err) {
    if (err instanceof Nis2Error) {
      process.stderr.write(`@nis2/otel: ${err.message}\n`);
      process.exit(78); // EX_CONFIG: the app must not run unguarded because of a typo.
    }
    throw err;
  }
}
