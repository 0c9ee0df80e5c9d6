// Shared pieces of the alerting tests: a LoggerProvider that feeds records to an AlertingProcessor
// the way the signing processor does, and typical event attributes.
import { SeverityNumber } from '@opentelemetry/api';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlertingProcessor, type AlertingProcessorOptions } from '../../dist/esm/alerting/index.js';
import { parseWebhooks } from '../../dist/esm/config/keys/alerting.js';

export const SEVERITY = { INFO: SeverityNumber.INFO, WARN: SeverityNumber.WARN, ERROR: SeverityNumber.ERROR } as const;

export interface Harness {
  processor: AlertingProcessor;
  emit(event: string, attrs: Record<string, string | number | boolean | string[]>, severity?: keyof typeof SEVERITY): void;
  close(): Promise<void>;
}

/** Processor options with short timings for tests; `webhooks` goes through the real config parser. */
export function harness(webhooks: unknown[], options: Partial<AlertingProcessorOptions> = {}): Harness {
  const processor = new AlertingProcessor({
    destinations: parseWebhooks(webhooks),
    aggregateWindowMs: 60_000, rate: { points: 1000, windowMs: 60_000 }, timeoutMs: 1000, retries: 2,
    retryBaseMs: 20, retryMaxMs: 200, concurrency: 2, queueSize: 100, flushTimeoutMs: 1000, ...options,
  });
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop-api' }), processors: [processor] });
  const logger = provider.getLogger('test');
  let seq = 0;
  return {
    processor,
    emit(event, attrs, severity = 'WARN') {
      logger.emit({
        eventName: event, severityText: severity, severityNumber: SEVERITY[severity], body: '{"v":1}',
        attributes: { ...attrs, 'nis2.stream': 'stream-1', 'nis2.seq': ++seq, 'nis2.kid': 'kid-1' },
      });
    },
    close: () => provider.shutdown(),
  };
}

/** Attributes of a rate-limit block as the guard writes them (client address already anonymised). */
export function rateLimitAttrs(client = '203.0.113.0', extra: Record<string, string | number | boolean | string[]> = {}): Record<string, string | number | boolean | string[]> {
  return {
    'security_rule.name': 'rate_limit', 'security_rule.category': 'rate_limiting', 'nis2.action': 'block',
    'nis2.reason': 'limit_exceeded', 'nis2.rate_limit.limit': 5, 'nis2.rate_limit.window_s': 60,
    'nis2.rate_limit.policy': 'default', 'http.request.method': 'POST', 'url.path': '/login',
    'client.address': client, 'http.response.status_code': 429,
    'user_agent.original': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    ...extra,
  };
}
