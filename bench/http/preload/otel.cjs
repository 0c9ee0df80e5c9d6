// Preload (`node --require`) for the OpenTelemetry variants of the HTTP overhead benchmark:
// a NodeSDK with instrumentation-http only, spans through the usual BatchSpanProcessor into an
// exporter that discards them (no network, but the SDK's whole per-span cost is paid).
// BENCH_SPANS=none registers no span processor, as `register` does without an OTLP endpoint: the
// SDK then installs no tracer provider and instrumentation-http runs with the API's no-op tracer.
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
// BENCH_EXPRESS_INSTR=1 adds instrumentation-express, as `register` does (for the (5ref) variant).
if (process.env.BENCH_EXPRESS_INSTR === '1') {
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
  instrumentations.push(new ExpressInstrumentation());
}
const logRecordProcessors = [];
if (process.env.BENCH_GUARD === '1') {
  const { Nis2Instrumentation, createNis2LogProcessor } = require('@nis2/otel');
  instrumentations.push(new Nis2Instrumentation());
  logRecordProcessors.push(createNis2LogProcessor());
}

const sdk = new NodeSDK({
  resourceDetectors: [],
  instrumentations,
  spanProcessors: process.env.BENCH_SPANS === 'none' ? [] : [new BatchSpanProcessor(discard)],
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
