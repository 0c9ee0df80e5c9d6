import { readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Nis2Error } from '../errors.js';
import type { Cidr } from '../net/ip.js';
import type { AlertingOptions } from './keys/alerting.js';
import type { IpListsOptions } from './keys/ip-lists.js';
import type { LoginOptions } from './keys/login.js';
import type { MfaOptions } from './keys/mfa.js';
import type { PrivacyOptions } from './keys/privacy.js';
import type { RedisOptions } from './keys/redis.js';
import type { SessionOptions } from './keys/session.js';
import type { TelemetryOptions } from './keys/telemetry.js';
import type { TorOptions } from './keys/tor.js';
import { ValueError } from './parse-values.js';
import type { RoutePolicy } from './routes.js';
import { CONFIG_KEYS, KEY_BY_PATH, type KeySpec } from './schema.js';

export type GlobalMode = 'enforce' | 'monitor';
export type DefenseMode = 'enforce' | 'monitor' | 'off';

/** Options accepted in code and in the config file; every field optional (see the README table). */
export interface Nis2Options extends IpListsOptions, TorOptions, MfaOptions, SessionOptions, RedisOptions, LoginOptions, TelemetryOptions, PrivacyOptions, AlertingOptions {
  mode?: GlobalMode;
  serviceName?: string;
  signing?: {
    key?: string; keyFile?: string; hmacKey?: string; hmacKeyId?: string; keyDir?: string;
    mode?: 'record' | 'chain'; checkpointInterval?: string | number; checkpointEvery?: number | string;
  };
  export?: {
    otlp?: 'auto' | 'on' | 'off'; eventsFile?: string; eventsFileMaxBytes?: number | string; eventsFileMaxFiles?: number | string;
    spool?: 'on' | 'off'; spoolDir?: string; spoolMaxBytes?: number | string; spoolHardMaxBytes?: number | string; spoolFsync?: 'none' | 'batch' | 'always';
  };
  trustedProxies?: string | string[];
  trustedProxyHops?: number | string;
  rateLimit?: {
    mode?: DefenseMode; limit?: string; algorithm?: 'sliding' | 'fixed';
    routes?: string | Array<{ method?: string | string[]; path: string; limit: string; algorithm?: 'sliding' | 'fixed' }>;
    ipv6Prefix?: number | string; maxKeys?: number | string; headers?: boolean | string;
  };
  accessLog?: 'off' | 'blocked' | 'all';
  events?: { budget?: number | string; aggregateWindow?: string | number; maxKeys?: number | string };
  shutdown?: { handleSignals?: boolean | string; timeout?: string | number };
}

/** The resolved, validated and frozen configuration every component reads. */
export interface Nis2Config {
  readonly mode: GlobalMode;
  readonly serviceName: string | undefined;
  readonly signing: {
    readonly key: string | undefined; readonly keyFile: string | undefined;
    readonly hmacKey: string | undefined; readonly hmacKeyId: string | undefined;
    readonly keyDir: string; readonly mode: 'record' | 'chain';
    readonly checkpointIntervalMs: number; readonly checkpointEvery: number;
  };
  readonly export: {
    readonly otlp: boolean; readonly eventsFile: string | undefined;
    readonly eventsFileMaxBytes: number; readonly eventsFileMaxFiles: number;
    readonly spool: { readonly dir: string; readonly maxBytes: number; readonly hardMaxBytes: number; readonly fsync: 'none' | 'batch' | 'always' } | undefined;
  };
  readonly trustedProxies: readonly Cidr[];
  readonly trustedProxyHops: number;
  readonly rateLimit: {
    readonly mode: DefenseMode; readonly points: number; readonly windowMs: number;
    readonly algorithm: 'sliding' | 'fixed'; readonly routes: readonly RoutePolicy[];
    readonly ipv6Prefix: number; readonly maxKeys: number; readonly headers: boolean;
  };
  readonly accessLog: 'off' | 'blocked' | 'all';
  readonly events: { readonly budget: number; readonly aggregateWindowMs: number; readonly maxKeys: number };
  readonly privacy: { readonly ipv4Prefix: number; readonly ipv6Prefix: number };
  readonly shutdown: { readonly handleSignals: boolean; readonly timeoutMs: number };
  /** Every key's parsed value by dotted path, for modules that own their keys (see schema.ts). */
  readonly values: ReadonlyMap<string, unknown>;
  /** Where each key's value came from, for `nis2-otel check`. */
  readonly sources: Readonly<Record<string, 'code' | 'env' | 'file' | 'default'>>;
}

export interface LoadConfigInput {
  options?: Nis2Options;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type Source = 'code' | 'env' | 'file';

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The known key (or key prefix) nearest to a misspelt one: case-insensitive, edit distance ≤ 2. */
function closest(path: string): string | undefined {
  const wanted = path.toLowerCase();
  const candidates = new Set<string>();
  for (const k of CONFIG_KEYS) {
    const parts = k.key.split('.');
    for (let i = 1; i <= parts.length; i++) candidates.add(parts.slice(0, i).join('.'));
  }
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(wanted, c.toLowerCase());
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  if (best === undefined) {
    const last = wanted.split('.').pop()!;
    best = CONFIG_KEYS.find((k) => k.key.toLowerCase().endsWith(`.${last}`))?.key;
  }
  return best;
}

/** Flattens nested objects to dotted paths, stopping at schema keys (whose values may be objects/lists). */
function flatten(value: unknown, source: string, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', `${source}${prefix ? ` key '${prefix}'` : ''} must be an object`);
  }
  for (const [k, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v === undefined) continue;
    if (KEY_BY_PATH.has(path)) {
      out.set(path, v);
    } else if (CONFIG_KEYS.some((s) => s.key.startsWith(`${path}.`)) && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      flatten(v, source, path, out);
    } else {
      const hint = closest(path);
      throw new Nis2Error('NIS2_ERR_CONFIG_UNKNOWN_KEY',
        `unknown key '${path}' in ${source}${hint ? `; did you mean '${hint}'?` : ''} Every key is listed in the README's configuration table.`);
    }
  }
  return out;
}

function readConfigFile(path: string): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Nis2Error('NIS2_ERR_CONFIG_FILE', `cannot read NIS2_CONFIG_FILE '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix the path or unset NIS2_CONFIG_FILE`);
  }
  let data: unknown;
  try {
    data = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // Position only: parser messages quote the text around the error, which may be a secret.
    throw new Nis2Error('NIS2_ERR_CONFIG_FILE', `NIS2_CONFIG_FILE '${path}' is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}${parsePosition(err, text)}; fix the file`);
  }
  if (data === null || data === undefined) return new Map();
  return flatten(data, `config file '${path}'`);
}

/** ` at line L, column C` of a JSON or YAML parse error, without any of the file's text. */
function parsePosition(err: unknown, text: string): string {
  const linePos = (err as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
  if (linePos) return ` at line ${linePos.line}, column ${linePos.col}`;
  const offset = /position (\d+)/.exec((err as Error).message ?? '')?.[1];
  if (offset === undefined) return '';
  const before = text.slice(0, Number(offset));
  const line = before.split('\n').length;
  return ` at line ${line}, column ${Number(offset) - before.lastIndexOf('\n')}`;
}

/** What a rejected value looked like, for the error message; never throws (BigInt, cycles). */
function shown(raw: unknown): string {
  try {
    const text = JSON.stringify(raw);
    return text === undefined ? `a ${typeof raw}` : text.slice(0, 80);
  } catch {
    return `a ${typeof raw}`;
  }
}

function describe(spec: KeySpec, source: Source): string {
  const where = source === 'env' && spec.env ? spec.env : source === 'file' ? `'${spec.key}' in NIS2_CONFIG_FILE` : `option '${spec.key}'`;
  return spec.env && source !== 'env' ? `${where} (env ${spec.env})` : where;
}

/**
 * Reads code options > environment > config file, validates every key and returns a frozen config.
 * Errors name the key (and its env variable) and say what is expected; secret values are never echoed.
 */
export function loadConfig(input: LoadConfigInput = {}): Nis2Config {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const fromCode = input.options ? flatten(input.options, 'the options passed in code') : new Map<string, unknown>();
  const filePath = env['NIS2_CONFIG_FILE'];
  const fromFile = filePath ? readConfigFile(resolve(cwd, filePath)) : new Map<string, unknown>();

  const values = new Map<string, unknown>();
  const sources: Record<string, 'code' | 'env' | 'file' | 'default'> = {};
  for (const spec of CONFIG_KEYS) {
    let raw: unknown;
    let source: Source | undefined;
    if (fromCode.has(spec.key)) { raw = fromCode.get(spec.key); source = 'code'; }
    else if (spec.env && env[spec.env] !== undefined && env[spec.env] !== '') { raw = env[spec.env]; source = 'env'; }
    else if (fromFile.has(spec.key)) { raw = fromFile.get(spec.key); source = 'file'; }
    if (source === undefined) {
      sources[spec.key] = 'default';
      if (spec.defaultValue !== undefined) values.set(spec.key, spec.parse(spec.defaultValue));
      continue;
    }
    sources[spec.key] = source;
    try {
      values.set(spec.key, spec.programmaticOnly ? raw : spec.parse(raw));
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      const got = spec.secret ? 'the value given (not shown: it is a secret)' : `got ${shown(raw)}`;
      throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', `${describe(spec, source)}: ${err.message}; ${got}`);
    }
  }
  const v = <T>(key: string): T => values.get(key) as T;

  const otlpSetting = v<'auto' | 'on' | 'off'>('export.otlp');
  // Trimmed as the exporter trims it: a blank endpoint is no endpoint.
  const endpointSet = Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || env['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT']?.trim());
  const otlp = otlpSetting === 'on' || (otlpSetting === 'auto' && endpointSet);
  const fileSetting = v<string | undefined>('export.eventsFile');
  const eventsFile = fileSetting === 'off' ? undefined
    : fileSetting !== undefined ? resolve(cwd, fileSetting)
    : otlp ? undefined : resolve(cwd, v<string>('signing.keyDir'), 'events.jsonl');
  if (!otlp && eventsFile === undefined) {
    throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', "export.eventsFile (NIS2_EVENTS_FILE) is 'off' and OTLP export is off: signed events would go nowhere; set an OTLP endpoint or an events file");
  }
  if (v<string>('signing.key') && v<string>('signing.keyFile')) {
    throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', 'both signing.key (NIS2_SIGNING_KEY) and signing.keyFile (NIS2_SIGNING_KEY_FILE) are set; keep one');
  }
  const globalMode = v<GlobalMode>('mode');
  const rate = v<{ points: number; windowMs: number }>('rateLimit.limit');

  const config: Nis2Config = {
    mode: globalMode,
    serviceName: v('serviceName'),
    signing: {
      key: v('signing.key'), keyFile: v<string | undefined>('signing.keyFile') && resolve(cwd, v<string>('signing.keyFile')),
      hmacKey: v('signing.hmacKey'), hmacKeyId: v('signing.hmacKeyId'), keyDir: resolve(cwd, v<string>('signing.keyDir')),
      mode: v('signing.mode'), checkpointIntervalMs: v('signing.checkpointInterval'), checkpointEvery: v('signing.checkpointEvery'),
    },
    export: {
      otlp, eventsFile, eventsFileMaxBytes: v('export.eventsFileMaxBytes'), eventsFileMaxFiles: v('export.eventsFileMaxFiles'),
      spool: v<string>('export.spool') === 'on' ? {
        dir: resolve(cwd, v<string | undefined>('export.spoolDir') ?? join(v<string>('signing.keyDir'), 'spool')),
        maxBytes: v('export.spoolMaxBytes'), hardMaxBytes: v('export.spoolHardMaxBytes'), fsync: v('export.spoolFsync'),
      } : undefined,
    },
    trustedProxies: v('trustedProxies'),
    trustedProxyHops: v('trustedProxyHops'),
    rateLimit: {
      mode: v<DefenseMode | undefined>('rateLimit.mode') ?? globalMode,
      points: rate.points, windowMs: rate.windowMs, algorithm: v('rateLimit.algorithm'), routes: v('rateLimit.routes'),
      ipv6Prefix: v('rateLimit.ipv6Prefix'), maxKeys: v('rateLimit.maxKeys'), headers: v('rateLimit.headers'),
    },
    accessLog: v('accessLog'),
    events: { budget: v('events.budget'), aggregateWindowMs: v('events.aggregateWindow'), maxKeys: v('events.maxKeys') },
    privacy: { ipv4Prefix: v('privacy.ipv4Prefix'), ipv6Prefix: v('privacy.ipv6Prefix') },
    shutdown: { handleSignals: v('shutdown.handleSignals'), timeoutMs: v('shutdown.timeout') },
    values,
    sources,
  };
  // A Map cannot be frozen, but what it holds can: no defense may change another's config.
  for (const value of values.values()) deepFreeze(value);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !(value instanceof RegExp) && !(value instanceof Map) && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    // Frozen before the children, so a cycle ends at the already-frozen object.
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
