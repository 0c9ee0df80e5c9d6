import type { AlertSeverity, WebhookDestination, WebhookType } from '../../alerting/types.js';
import { ValueError, parseDuration, parseInteger, parseRate } from '../parse-values.js';
import type { KeySpec } from '../schema.js';

const TYPES: readonly WebhookType[] = ['slack', 'teams', 'discord', 'json'];
const SEVERITIES: readonly AlertSeverity[] = ['INFO', 'WARN', 'ERROR'];
const FIELDS = new Set(['type', 'url', 'events', 'minSeverity', 'secret', 'name']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const EVENT_GLOB = /^[A-Za-z0-9_.*-]{1,128}$/;
const NAME = /^[A-Za-z0-9 _.:#-]{1,64}$/;
const MAX_DESTINATIONS = 32;
const MIN_SECRET_LENGTH = 16;

/** `nis2.session.*`: `*` matches any run of characters (dots included), the rest is literal. */
export function compileEventGlob(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
}

/**
 * The webhook URL: https, or plain http only to this machine (local relays and tests). Errors
 * never quote the URL: chat webhook URLs carry their credential in the path.
 */
function parseWebhookUrl(value: unknown, label: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValueError(`${label}: \`url\` must be a non-empty string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValueError(`${label}: \`url\` is not an absolute URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ValueError(`${label}: \`url\` must not carry user:password@ (fetch refuses it); put the credential in the path or query as the service issues it`);
  }
  if (url.protocol === 'https:') return url.href;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return url.href;
  throw new ValueError(`${label}: \`url\` must use https:// (http:// is accepted only for 127.0.0.1, localhost or [::1])`);
}

function parseDestination(entry: unknown, index: number): WebhookDestination {
  let label = `webhook #${index + 1}`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ValueError(`${label} must be an object {type, url, events?, minSeverity?, secret?, name?}`);
  }
  const o = entry as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new ValueError(`${label}: unknown field '${k.slice(0, 32)}' (allowed: ${[...FIELDS].join(', ')})`);
  const name = o['name'];
  if (name !== undefined) {
    if (typeof name !== 'string' || !NAME.test(name)) throw new ValueError(`${label}: \`name\` must be 1–64 letters, digits, spaces or _ . : # -`);
    label = `webhook '${name}'`;
  }
  const type = o['type'];
  if (typeof type !== 'string' || !(TYPES as readonly string[]).includes(type)) {
    throw new ValueError(`${label}: \`type\` must be one of ${TYPES.map((t) => `'${t}'`).join(', ')}`);
  }
  const url = parseWebhookUrl(o['url'], label);
  const rawEvents = o['events'] ?? ['nis2.*'];
  const events = typeof rawEvents === 'string' ? rawEvents.split(',').map((s) => s.trim()).filter(Boolean) : rawEvents;
  if (!Array.isArray(events) || events.length === 0 || !events.every((e) => typeof e === 'string' && EVENT_GLOB.test(e))) {
    throw new ValueError(`${label}: \`events\` must be a non-empty list of event-name globs such as 'nis2.session.*' (letters, digits, _ . - and *)`);
  }
  const minSeverity = o['minSeverity'] ?? 'WARN';
  if (typeof minSeverity !== 'string' || !(SEVERITIES as readonly string[]).includes(minSeverity)) {
    throw new ValueError(`${label}: \`minSeverity\` must be one of ${SEVERITIES.map((s) => `'${s}'`).join(', ')}`);
  }
  const secret = o['secret'];
  if (type === 'json') {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
      throw new ValueError(`${label}: a json webhook needs a \`secret\` of at least ${MIN_SECRET_LENGTH} characters (the HMAC key of X-NIS2-Signature), e.g. from \`openssl rand -base64 32\``);
    }
  } else if (secret !== undefined) {
    throw new ValueError(`${label}: \`secret\` is used only by json webhooks (Slack, Teams and Discord authenticate by the URL)`);
  }
  return {
    name: typeof name === 'string' ? name : `${type}#${index + 1}`,
    type: type as WebhookType,
    url,
    events: events as string[],
    eventPatterns: (events as string[]).map(compileEventGlob),
    minSeverity: minSeverity as AlertSeverity,
    ...(type === 'json' ? { secret: secret as string } : {}),
  };
}

/** Parses `alerting.webhooks`: a list of destination objects, or (from `NIS2_WEBHOOKS`) that list as JSON. */
export function parseWebhooks(value: unknown): WebhookDestination[] {
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      throw new ValueError('expected a JSON list of webhooks, e.g. [{"type":"slack","url":"https://hooks.slack.com/services/…"}]');
    }
  }
  if (!Array.isArray(list)) throw new ValueError('expected a list of webhooks {type, url, events?, minSeverity?, secret?, name?}');
  if (list.length > MAX_DESTINATIONS) throw new ValueError(`at most ${MAX_DESTINATIONS} webhooks`);
  const out = list.map(parseDestination);
  const names = new Set<string>();
  for (const d of out) {
    if (names.has(d.name)) throw new ValueError(`two webhooks are named '${d.name}'; names must be unique`);
    names.add(d.name);
  }
  return out;
}

/** Configuration keys of real-time alerting (documented in the README table like every key). */
export const ALERTING_KEYS: readonly KeySpec[] = [
  { key: 'alerting.webhooks', env: 'NIS2_WEBHOOKS', defaultValue: [], secret: true, parse: parseWebhooks,
    doc: "Webhooks that receive alerts: a list of `{type, url, events?, minSeverity?, secret?, name?}` (in env, as JSON). `type` is `slack`, `teams` (Workflows webhook, Adaptive Card), `discord` or `json` (signed with `X-NIS2-Signature`; needs `secret`, ≥ 16 characters). `url` must be https (http only to 127.0.0.1/localhost). `events`: event-name globs (`nis2.session.*`; default `nis2.*`); `minSeverity`: `INFO`, `WARN` (default) or `ERROR`. Never echoed: URLs and secrets are credentials." },
  { key: 'alerting.aggregateWindow', env: 'NIS2_ALERTING_AGGREGATE_WINDOW', defaultValue: '5m', parse: parseDuration,
    doc: 'One alert per destination, event and key (anonymised client address, else rule name) at once; repeats within this window become one summary alert with a count.' },
  { key: 'alerting.rate', env: 'NIS2_ALERTING_RATE', defaultValue: '20/60s', parse: parseRate,
    doc: 'Alerts per destination per window, at most; beyond it alerts are folded into one digest with per-event counts (an attack cannot turn the app into a webhook cannon).' },
  { key: 'alerting.timeout', env: 'NIS2_ALERTING_TIMEOUT', defaultValue: '5s', parse: parseDuration,
    doc: 'Time limit of one delivery attempt (connect to response headers).' },
  { key: 'alerting.retries', env: 'NIS2_ALERTING_RETRIES', defaultValue: 3, parse: parseInteger(0, 10),
    doc: 'Retries after a timeout, network error, 408, 429 or 5xx, with exponential backoff and jitter (`Retry-After` honoured up to 60 s); other 4xx are not retried.' },
  { key: 'alerting.concurrency', env: 'NIS2_ALERTING_CONCURRENCY', defaultValue: 2, parse: parseInteger(1, 32),
    doc: 'Deliveries in flight per destination, at most.' },
  { key: 'alerting.queueSize', env: 'NIS2_ALERTING_QUEUE_SIZE', defaultValue: 100, parse: parseInteger(1, 100_000),
    doc: 'Alerts waiting per destination, at most; when full the oldest is dropped and counted.' },
  { key: 'alerting.maxKeys', env: 'NIS2_ALERTING_MAX_KEYS', defaultValue: 1000, parse: parseInteger(16, 1_000_000),
    doc: 'Aggregation keys held per destination; beyond it new keys are counted together under `*`.' },
];

/** Options of real-time alerting, as accepted in code and in the config file. */
export interface AlertingOptions {
  alerting?: {
    webhooks?: string | Array<{
      type: WebhookType; url: string; events?: string | string[]; minSeverity?: AlertSeverity; secret?: string; name?: string;
    }>;
    aggregateWindow?: string | number; rate?: string; timeout?: string | number; retries?: number | string;
    concurrency?: number | string; queueSize?: number | string; maxKeys?: number | string;
  };
}
