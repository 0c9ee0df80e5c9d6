// Preload (`node --require`) for the OpenTelemetry variants of the HTTP overhead benchmark:
// a NodeSDK with instrumentation-http only, spans through the usual BatchSpanProcessor into an
// exporter that discards them (no network, but the SDK's whole per-span cost is paid).
// BENCH_GUARD=1 adds the @nis2/otel guard the programmatic way the README shows: Nis2Instrumentation
// next to the HTTP instrumentation, and createNis2LogProcessor() as the SDK's log processor (signed
// events to NIS2_EVENTS_FILE; NIS2_* env picks rate limit, access log and signing mode).
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace');

let exported = 0;
const discard = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 }); // ExportResultCode.SUCCESS
  },
  shutdown() { return Promise.resolve(); },
  forceFlush() { return Promise.resolve(); },
};

const instrumentations = [new HttpInstrumentation()];
const logRecordProcessors = [];
if (process.env.BENCH_GUARD === '1') {
  const { Nis2Instrumentation, createNis2LogProcessor } = require('@nis2/otel');
  instrumentations.push(new Nis2Instrumentation());
  logRecordProcessors.push(createNis2LogProcessor());
}

const sdk = new NodeSDK({
  resourceDetectors: [],
  instrumentations,
  spanProcessors: [new BatchSpanProcessor(discard)],
  metricReaders: [],
  logRecordProcessors,
});
sdk.start();

process.once('SIGTERM', () => {
  sdk.shutdown().finally(() => {
    if (process.env.BENCH_REPORT_SPANS === '1') process.stderr.write(`spans exported: ${exported}\n`);
    process.exit(0);
  });
});
