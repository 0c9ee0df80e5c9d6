import { parseCidr, type Cidr } from '../net/ip.js';
import {
  ValueError,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  parseRate,
  parseString,
  parseStringList,
} from './parse-values.js';
import { ALERTING_KEYS } from './keys/alerting.js';
import { IP_LISTS_KEYS } from './keys/ip-lists.js';
import { LOGIN_KEYS } from './keys/login.js';
import { MFA_KEYS } from './keys/mfa.js';
import { PRIVACY_KEYS } from './keys/privacy.js';
import { REDIS_KEYS } from './keys/redis.js';
import { SESSION_KEYS } from './keys/session.js';
import { TELEMETRY_KEYS } from './keys/telemetry.js';
import { TOR_KEYS } from './keys/tor.js';
import { parseRoutePolicies } from './routes.js';

/** How one configuration key is read, documented and defaulted. The README table is made from this. */
export interface KeySpec {
  /** Dotted path in the options object and the config file, e.g. `rateLimit.limit`. */
  readonly key: string;
  /** Environment variable, when the key has one. */
  readonly env?: string;
  /** Default as documented (the parsed default comes from `parse(defaultValue)`). */
  readonly defaultValue?: unknown;
  /** Human text for the default when it is computed. */
  readonly defaultText?: string;
  readonly doc: string;
  /** Secrets are never echoed in errors or `nis2-otel check`. */
  readonly secret?: boolean;
  /** Accepts any value without parsing (functions and objects given in code). */
  readonly programmaticOnly?: boolean;
  readonly parse: (value: unknown) => unknown;
}

const mode = parseEnum('enforce', 'monitor');
const defenseMode = parseEnum('enforce', 'monitor', 'off');

function parseProxies(value: unknown): Cidr[] {
  const entries = parseStringList(value);
  const out: Cidr[] = [];
  for (const entry of entries) {
    const aliases = PROXY_ALIASES[entry];
    for (const text of aliases ?? [entry]) {
      const cidr = parseCidr(text);
      if (!cidr) throw new ValueError(`'${entry}' is not a CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32), an address, 'loopback' or 'private'`);
      out.push(cidr);
    }
  }
  return out;
}

const PROXY_ALIASES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Keys of the core: mode, signing, export, client IP, rate limit, events, privacy, lifecycle. */
const CORE_KEYS: readonly KeySpec[] = [
  { key: 'mode', env: 'NIS2_MODE', defaultValue: 'enforce', parse: mode,
    doc: "`enforce` blocks; `monitor` lets every request through and logs what would have been blocked (`nis2.action=monitor`). Each defense's own `mode` overrides it." },
  { key: 'serviceName', env: 'OTEL_SERVICE_NAME', defaultText: 'from the OTel resource', parse: parseString,
    doc: 'Service name written into `stream_start` when the OTel resource has none.' },
  // Signing
  { key: 'signing.key', env: 'NIS2_SIGNING_KEY', secret: true, parse: parseString,
    doc: 'Ed25519 signing key: 32-byte seed or tweetnacl 64-byte secret key (base64/base64url), or a PKCS#8 PEM.' },
  { key: 'signing.keyFile', env: 'NIS2_SIGNING_KEY_FILE', parse: parseString,
    doc: 'File holding the Ed25519 key (same formats). Must not be readable by group/others.' },
  { key: 'signing.hmacKey', env: 'NIS2_HMAC_KEY', secret: true, parse: parseString,
    doc: 'HMAC-SHA256 key (base64, ≥ 32 bytes) used instead of Ed25519. Not publicly verifiable: only key holders can verify.' },
  { key: 'signing.hmacKeyId', env: 'NIS2_HMAC_KEY_ID', parse: parseString, defaultText: 'derived from the key',
    doc: 'Key id string for the HMAC key (its `kid` is derived from this string).' },
  { key: 'signing.keyDir', env: 'NIS2_KEY_DIR', defaultValue: '.nis2', parse: parseString,
    doc: 'Where a generated key is persisted when no key is configured (with a loud warning).' },
  { key: 'signing.mode', env: 'NIS2_SIGNING_MODE', defaultValue: 'record', parse: parseEnum('record', 'chain'),
    doc: '`record`: every record signed. `chain`: `nis2.http.access` records are hash-chained only and covered by signed checkpoints (security events stay signed).' },
  { key: 'signing.checkpointInterval', env: 'NIS2_CHECKPOINT_INTERVAL', defaultValue: '60s', parse: parseDuration,
    doc: 'A signed checkpoint at least this often, even when idle (a heartbeat that makes truncation detectable).' },
  { key: 'signing.checkpointEvery', env: 'NIS2_CHECKPOINT_EVERY', defaultValue: 1000, parse: parseInteger(1, 1_000_000),
    doc: 'A signed checkpoint after this many records.' },
  // Export
  { key: 'export.otlp', env: 'NIS2_OTLP', defaultValue: 'auto', parse: parseEnum('auto', 'on', 'off'),
    doc: '`auto`: export over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` is set. Protocol from `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`/`OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` default, `http/json`).' },
  { key: 'export.eventsFile', env: 'NIS2_EVENTS_FILE', defaultText: '`.nis2/events.jsonl` when OTLP is off', parse: parseString,
    doc: 'Local JSONL file of signed envelopes, one per line. Set it to keep a file alongside OTLP; `off` disables it.' },
  { key: 'export.eventsFileMaxBytes', env: 'NIS2_EVENTS_FILE_MAX_BYTES', defaultValue: 50 * 1024 * 1024, parse: parseInteger(4096, 2 ** 40),
    doc: 'Size at which the events file is rotated (`events.jsonl.1`, …).' },
  { key: 'export.eventsFileMaxFiles', env: 'NIS2_EVENTS_FILE_MAX_FILES', defaultValue: 5, parse: parseInteger(1, 1000),
    doc: 'Rotated files kept.' },
  { key: 'export.spool', env: 'NIS2_SPOOL', defaultValue: 'on', parse: parseEnum('on', 'off'),
    doc: 'Durable spool in front of the OTLP exporter: records are on disk before export and deleted once acknowledged; a collector outage or a crash loses nothing (replayed at the next start).' },
  { key: 'export.spoolDir', env: 'NIS2_SPOOL_DIR', defaultText: '`<signing.keyDir>/spool`', parse: parseString,
    doc: 'Spool directory (each process writes its own subdirectory; orphans of dead processes are adopted).' },
  { key: 'export.spoolMaxBytes', env: 'NIS2_SPOOL_MAX_BYTES', defaultValue: 256 * 1024 * 1024, parse: parseInteger(1 << 20, 2 ** 40),
    doc: 'Above this, the oldest spooled access records are dropped (counted in `nis2.events.suppressed`); security events are kept.' },
  { key: 'export.spoolHardMaxBytes', env: 'NIS2_SPOOL_HARD_MAX_BYTES', defaultValue: 1024 * 1024 * 1024, parse: parseInteger(1 << 20, 2 ** 42),
    doc: 'Above this, the oldest spooled records of any kind are dropped (counted).' },
  { key: 'export.spoolFsync', env: 'NIS2_SPOOL_FSYNC', defaultValue: 'batch', parse: parseEnum('none', 'batch', 'always'),
    doc: '`batch`: one fsync per batch written (per event-loop turn); `always`: per record; `none`: leave it to the OS (a power cut can lose the last seconds).' },
  // Client IP
  { key: 'trustedProxies', env: 'NIS2_TRUSTED_PROXIES', defaultValue: [], parse: parseProxies,
    doc: 'Comma-separated CIDRs (or `loopback`, `private`) of proxies whose `Forwarded`/`X-Forwarded-For` is believed. The client is the rightmost address not in this list.' },
  { key: 'trustedProxyHops', env: 'NIS2_TRUSTED_PROXY_HOPS', defaultValue: 0, parse: parseInteger(0, 32),
    doc: 'Alternatively, the number of proxies in front of the app: the client is that many hops from the right. `trustedProxies` wins when both are set.' },
  // Rate limit
  { key: 'rateLimit.mode', env: 'NIS2_RATE_LIMIT_MODE', defaultText: 'the global `mode`', parse: defenseMode,
    doc: '`enforce`, `monitor` or `off` for rate limiting.' },
  { key: 'rateLimit.limit', env: 'NIS2_RATE_LIMIT', defaultValue: '100/60s', parse: parseRate,
    doc: "Default policy for every route: `<points>/<window>`, e.g. `100/60s`, `5/min`." },
  { key: 'rateLimit.algorithm', env: 'NIS2_RATE_LIMIT_ALGORITHM', defaultValue: 'sliding', parse: parseEnum('sliding', 'fixed'),
    doc: '`sliding` (weighted two-window counter) or `fixed` window.' },
  { key: 'rateLimit.routes', env: 'NIS2_RATE_LIMIT_ROUTES', defaultValue: [], parse: parseRoutePolicies,
    doc: "Per-route policies, first match wins: `'POST /login=5/60s, GET /api/**=50/10s'`, or a list of `{method, path, limit, algorithm}`. `*` matches within a path segment, `**` across segments." },
  { key: 'rateLimit.ipv6Prefix', env: 'NIS2_RATE_LIMIT_IPV6_PREFIX', defaultValue: 56, parse: parseInteger(32, 128),
    doc: 'IPv6 clients are limited per prefix of this length (one subscriber usually holds a /56).' },
  { key: 'rateLimit.maxKeys', env: 'NIS2_RATE_LIMIT_MAX_KEYS', defaultValue: 1_000_000, parse: parseInteger(1024, 64_000_000),
    doc: 'Cap on tracked clients per policy in memory; the least recently seen in a full bucket is evicted (≈ 32 bytes per key, see Benchmarks).' },
  { key: 'rateLimit.headers', env: 'NIS2_RATE_LIMIT_HEADERS', defaultValue: false, parse: parseBoolean,
    doc: 'Send `RateLimit`/`RateLimit-Policy` on allowed responses too (always sent with a 429). Off by default: two headers on every response cost about as much as the limiter itself, and they tell every client the policy.' },
  // Events
  { key: 'accessLog', env: 'NIS2_ACCESS_LOG', defaultValue: 'off', parse: parseEnum('off', 'blocked', 'all'),
    doc: 'A signed `nis2.http.access` record per request: `all`, `blocked` only, or `off`.' },
  { key: 'events.budget', env: 'NIS2_EVENTS_BUDGET', defaultValue: 200, parse: parseInteger(1, 1_000_000),
    doc: 'Security events per second, at most; the rest are counted into `nis2.events.suppressed`.' },
  { key: 'events.aggregateWindow', env: 'NIS2_EVENTS_AGGREGATE_WINDOW', defaultValue: '60s', parse: parseDuration,
    doc: 'Repeated events for one key (e.g. one client over the limit) are reported at once, then as one summary with a count per window.' },
  { key: 'events.maxKeys', env: 'NIS2_EVENTS_MAX_KEYS', defaultValue: 10_000, parse: parseInteger(16, 10_000_000),
    doc: 'Cap on aggregation keys held at once; the oldest is flushed first.' },
  { key: 'privacy.ipv4Prefix', env: 'NIS2_ANONYMIZE_IPV4_PREFIX', defaultValue: 24, parse: parseInteger(0, 32),
    doc: 'IPv4 addresses in clear attributes are cut to this prefix.' },
  { key: 'privacy.ipv6Prefix', env: 'NIS2_ANONYMIZE_IPV6_PREFIX', defaultValue: 48, parse: parseInteger(0, 128),
    doc: 'IPv6 addresses in clear attributes are cut to this prefix.' },
  { key: 'privacy.pseudonymKey', env: 'NIS2_PSEUDONYM_KEY', secret: true, parse: parseString, defaultText: 'random per process',
    doc: 'Key of the keyed pseudonyms (`user.id.hash`, `user.name.hash`) that let a SIEM correlate without seeing the value. Set it to keep pseudonyms stable across restarts and instances.' },
  // Lifecycle
  { key: 'shutdown.handleSignals', env: 'NIS2_HANDLE_SIGNALS', defaultValue: true, parse: parseBoolean,
    doc: 'On SIGTERM/SIGINT: flush (bounded), write `stream_end`, then re-raise the signal so the process exits as it would have.' },
  { key: 'shutdown.timeout', env: 'NIS2_SHUTDOWN_TIMEOUT', defaultValue: '2s', parse: parseDuration,
    doc: 'Upper bound on the flush at shutdown; the process never hangs on a dead collector.' },
];

/** Every configuration key, once. Order is the README table's order. */
export const CONFIG_KEYS: readonly KeySpec[] = [
  ...CORE_KEYS, ...REDIS_KEYS, ...IP_LISTS_KEYS, ...TOR_KEYS, ...MFA_KEYS, ...SESSION_KEYS, ...LOGIN_KEYS, ...TELEMETRY_KEYS, ...PRIVACY_KEYS, ...ALERTING_KEYS,
];

export const KEY_BY_PATH: ReadonlyMap<string, KeySpec> = new Map(CONFIG_KEYS.map((k) => [k.key, k]));
