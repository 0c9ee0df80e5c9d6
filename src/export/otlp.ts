import { OTLPLogExporter as OTLPHttpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';

/**
 * The OTLP log exporter the standard `OTEL_*` variables describe: `http/protobuf` by default,
 * `http/json` on request. Endpoint, headers, timeout and TLS are read by the exporter itself from
 * `OTEL_EXPORTER_OTLP_[LOGS_]*`, exactly as for any OTel JS app.
 */
export function createOtlpLogExporter(env: NodeJS.ProcessEnv = process.env): LogRecordExporter {
  const protocol = (env['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? 'http/protobuf').trim();
  if (protocol === 'http/json') return new OTLPHttpJsonLogExporter();
  if (protocol !== 'http/protobuf') {
    process.emitWarning(`nis2: OTLP protocol '${protocol}' is not supported for security events; using http/protobuf`, { code: 'NIS2_WRN_EXPORT_FAILED' });
  }
  return new OTLPProtoLogExporter();
}

/** Batching in front of the OTLP exporter: export never runs on the request path. */
export function createOtlpProcessor(env: NodeJS.ProcessEnv = process.env): BatchLogRecordProcessor {
  return new BatchLogRecordProcessor({ exporter: createOtlpLogExporter(env), scheduledDelayMillis: 200, maxQueueSize: 8192, maxExportBatchSize: 512 });
}
