import { parseDuration, parseEnum, parseInteger, parseRate, parseString, parseStringList, ValueError } from '../parse-values.js';
import type { KeySpec } from '../schema.js';

function parseOrigins(value: unknown): string[] {
  return parseStringList(value).map((o) => {
    if (o === '*') throw new ValueError("'*' is not allowed: list the front-end origins (e.g. https://app.example.com)");
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new ValueError(`'${o}' is not an origin such as https://app.example.com`);
    }
    if (url.origin !== o.replace(/\/$/, '')) throw new ValueError(`'${o}' must be a bare origin (scheme://host[:port]), without path`);
    return url.origin;
  });
}

function parsePath(value: unknown): string {
  const p = parseString(value);
  if (!p.startsWith('/') || p.includes('?')) throw new ValueError("expected a path such as '/api/nis2/telemetry'");
  return p;
}

/** Configuration keys of the front-end telemetry endpoint (documented in the README table like every key). */
export const TELEMETRY_KEYS: readonly KeySpec[] = [
  { key: 'telemetry.mode', env: 'NIS2_TELEMETRY', defaultValue: 'off', parse: parseEnum('on', 'off'),
    doc: 'Answer front-end guard reports at `telemetry.path` in the guard itself (the app is not involved).' },
  { key: 'telemetry.path', env: 'NIS2_TELEMETRY_PATH', defaultValue: '/api/nis2/telemetry', parse: parsePath,
    doc: 'Path of the telemetry endpoint (POST; OPTIONS for CORS preflight).' },
  { key: 'telemetry.allowedOrigins', env: 'NIS2_TELEMETRY_ORIGINS', defaultValue: [], parse: parseOrigins,
    doc: 'Origins allowed to post cross-origin (CORS allow-list). Same-origin posts (no `Origin`, or one equal to the request host) are always accepted.' },
  { key: 'telemetry.maxBodyBytes', env: 'NIS2_TELEMETRY_MAX_BODY', defaultValue: 16 * 1024, parse: parseInteger(256, 1024 * 1024),
    doc: 'Largest accepted body (413 beyond).' },
  { key: 'telemetry.rateLimit', env: 'NIS2_TELEMETRY_RATE_LIMIT', defaultValue: '30/60s', parse: parseRate,
    doc: 'Reports accepted per client address (429 beyond).' },
  { key: 'telemetry.maxEvents', env: 'NIS2_TELEMETRY_MAX_EVENTS', defaultValue: 20, parse: parseInteger(1, 1000),
    doc: 'Most events in one native-shape report.' },
  { key: 'telemetry.bodyTimeout', env: 'NIS2_TELEMETRY_BODY_TIMEOUT', defaultValue: '5s', parse: (v: unknown) => {
    const ms = parseDuration(v);
    if (ms < 100 || ms > 60_000) throw new ValueError("expected a duration from '100ms' to '60s'");
    return ms;
  }, doc: 'A body not fully received within this time gets 408 (slow senders cannot hold the endpoint).' },
];

/** Options of the telemetry endpoint, as accepted in code and in the config file. */
export interface TelemetryOptions {
  telemetry?: {
    mode?: 'on' | 'off'; path?: string; allowedOrigins?: string | string[]; maxBodyBytes?: number | string;
    rateLimit?: string; maxEvents?: number | string; bodyTimeout?: string | number;
  };
}
