import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DefenseMode } from '../config/load.js';
import { KEY_BY_PATH } from '../config/schema.js';
import { result, type Art21Measure, type CheckContext, type CheckResult } from './types.js';

/**
 * How one defense's effective mode is derived, mirroring the factories in `defenses/registry.ts`.
 * Keys are read through `config.values` and a defense whose keys this build does not have is
 * skipped, so the audit keeps working while defenses are added.
 */
interface DefenseSpec {
  readonly id: string;
  readonly modeKey: string;
  readonly measure: Art21Measure;
  readonly what: string;
  /** On by default (with the global mode) unless turned off: turning it off removes a default protection. */
  readonly onByDefault: boolean;
  /** Whether something is configured for it to act on (routes, lists, a source). */
  readonly configured?: (get: (key: string) => unknown) => boolean;
  /** What to configure to use it. */
  readonly setup: string;
}

const nonEmpty = (v: unknown): boolean => Array.isArray(v) ? v.length > 0 : v !== undefined;

const DEFENSES: readonly DefenseSpec[] = [
  { id: 'defense.rate-limit.mode', modeKey: 'rateLimit.mode', measure: 'c', onByDefault: true,
    what: 'rate limiting', setup: 'NIS2_RATE_LIMIT_MODE=enforce' },
  { id: 'defense.session.mode', modeKey: 'session.mode', measure: 'i', onByDefault: true,
    what: 'session hijack guard', setup: 'NIS2_SESSION_MODE=enforce' },
  { id: 'defense.login.mode', modeKey: 'login.mode', measure: 'i', onByDefault: false,
    configured: (get) => nonEmpty(get('login.routes')),
    what: 'login lockouts', setup: "NIS2_LOGIN_ROUTES='POST /login'" },
  { id: 'defense.mfa.mode', modeKey: 'mfa.mode', measure: 'j', onByDefault: false,
    configured: (get) => nonEmpty(get('mfa.routes')),
    what: 'MFA gate', setup: "NIS2_MFA_ROUTES='/admin' plus NIS2_MFA_JWKS, NIS2_MFA_JWT_SECRET or NIS2_MFA_PROXY_HEADER" },
  { id: 'defense.tor.mode', modeKey: 'tor.mode', measure: 'e', onByDefault: false,
    configured: (get) => get('tor.source') !== undefined,
    what: 'Tor exit-node blocking', setup: 'NIS2_TOR_MODE=enforce' },
  { id: 'defense.ip-lists.mode', modeKey: 'ipLists.mode', measure: 'e', onByDefault: false,
    configured: (get) => ['ipLists.allow', 'ipLists.deny', 'ipLists.allowFile', 'ipLists.denyFile'].some((k) => nonEmpty(get(k))),
    what: 'IP allow/deny lists', setup: 'NIS2_IP_DENY or NIS2_IP_DENY_FILE' },
];

function effectiveMode(ctx: CheckContext, spec: DefenseSpec): { mode: DefenseMode; explicit: DefenseMode | undefined; configured: boolean } {
  const get = (key: string): unknown => ctx.config.values.get(key);
  const explicit = get(spec.modeKey) as DefenseMode | undefined;
  const configured = spec.onByDefault || (spec.configured?.(get) ?? false);
  if (spec.modeKey === 'rateLimit.mode') return { mode: ctx.config.rateLimit.mode, explicit, configured };
  // Tor alone turns on with an explicit mode and no source (it then uses the default list URL).
  const on = configured || (spec.modeKey === 'tor.mode' && explicit !== undefined && explicit !== 'off');
  return { mode: explicit ?? (on ? ctx.config.mode : 'off'), explicit, configured: on };
}

/** The global mode and each defense's mode: enforce passes, monitor warns, off warns when it removes a protection. */
export function checkDefenseModes(ctx: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  const global = ctx.config.mode;
  out.push(global === 'enforce'
    ? result('mode.global', 'a', 'pass', 'global mode is enforce: defenses block what they detect')
    : result('mode.global', 'a', 'warn', 'global mode is monitor: every defense that follows it only logs what it would have blocked',
      { fix: 'set NIS2_MODE=enforce once the monitor events show no false positives' }));

  for (const spec of DEFENSES) {
    if (!KEY_BY_PATH.has(spec.modeKey)) continue;
    const { mode, explicit, configured } = effectiveMode(ctx, spec);
    const data = { mode, explicit: explicit ?? null, configured };
    const setting = explicit === undefined ? 'from the global mode' : spec.modeKey;
    if (mode === 'enforce' && configured) {
      out.push(result(spec.id, spec.measure, 'pass', `${spec.what}: enforce (${setting})`, { data }));
    } else if (mode !== 'off' && !configured) {
      // An explicit mode with nothing to act on protects nothing (register refuses this for MFA).
      out.push(result(spec.id, spec.measure, spec.modeKey === 'mfa.mode' ? 'fail' : 'warn',
        `${spec.modeKey} is '${mode}' but nothing is configured for ${spec.what}: it protects nothing${spec.modeKey === 'mfa.mode' ? ' and register refuses to start' : ''}`,
        { fix: `configure ${spec.setup}, or unset ${spec.modeKey}`, data }));
    } else if (mode === 'monitor') {
      out.push(result(spec.id, spec.measure, 'warn', `${spec.what}: monitor (${setting}): logs what it would block, blocks nothing`,
        { fix: `set ${spec.modeKey} to enforce once the monitor events show no false positives`, data }));
    } else if (configured) {
      out.push(result(spec.id, spec.measure, 'warn', `${spec.what}: off (${spec.modeKey}), although ${spec.onByDefault ? 'it is on by default' : 'it is configured'}`,
        { fix: `set ${spec.modeKey} to enforce (or monitor)`, data }));
    } else {
      out.push(result(spec.id, spec.measure, 'info', `${spec.what}: not configured; to use it, set ${spec.setup}`, { data }));
    }
  }
  return out;
}

/** The `fetched-at` time in a nis2-otel list cache header (see threat-intel/cache.ts), if any. */
export function cacheFetchedAt(head: string): number | undefined {
  if (!head.startsWith('# nis2-otel ip list v1')) return undefined;
  const m = /^# fetched-at: (\S+)\s*$/m.exec(head);
  const at = m ? Date.parse(m[1]!) : Number.NaN;
  return Number.isFinite(at) ? at : undefined;
}

function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1024);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function human(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/**
 * Tor list freshness: the list the running guard starts from (its cache, or the source file) must
 * have been confirmed current within `tor.staleAfter`. Age is the cache header's `fetched-at` when
 * present (a 304 refreshes it without new content), else the file's mtime, as the guard itself reads it.
 */
export function checkTorFreshness(ctx: CheckContext): CheckResult[] {
  const id = 'tor.list.fresh';
  if (!KEY_BY_PATH.has('tor.mode')) return [];
  const spec = DEFENSES.find((d) => d.modeKey === 'tor.mode')!;
  const { mode } = effectiveMode(ctx, spec);
  if (mode === 'off') return [result(id, 'e', 'info', 'the Tor defense is off: no list to check')];
  const get = (key: string): unknown => ctx.config.values.get(key);
  const source = get('tor.source') as string | undefined;
  const staleAfterMs = (get('tor.staleAfter') as number | undefined) ?? 0;
  const isUrl = source === undefined || /^https?:\/\//i.test(source);
  let path: string;
  if (isUrl) {
    const cache = get('tor.cacheFile') as string | undefined;
    if (cache === 'off') {
      return [result(id, 'e', 'warn', 'tor.cacheFile is off: after every restart the Tor check lets everyone through until the first download succeeds',
        { fix: 'set NIS2_TOR_CACHE_FILE (or leave it unset for the default under signing.keyDir)' })];
    }
    path = cache === undefined ? join(ctx.config.signing.keyDir, 'tor-exit-list.txt') : isAbsolute(cache) ? cache : resolve(ctx.cwd, cache);
  } else {
    path = /^file:\/\//i.test(source) ? fileURLToPath(source) : resolve(ctx.cwd, source);
  }
  let mtimeMs: number;
  let head: string;
  try {
    mtimeMs = statSync(path).mtimeMs;
    head = readHead(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return isUrl
      ? [result(id, 'e', 'warn', `no cached Tor list at '${path}' (${code}): until the first download after start, the Tor check lets everyone through`,
        { fix: 'run `nis2-otel update-threat-list` (and let the running guard keep the cache current)', data: { path } })]
      : [result(id, 'e', 'fail', `the Tor list file '${path}' cannot be read (${code}): the Tor check lets everyone through`,
        { fix: 'fix NIS2_TOR_SOURCE or create the file', data: { path } })];
  }
  const fetchedAt = cacheFetchedAt(head) ?? mtimeMs;
  const ageMs = Math.max(0, ctx.now() - fetchedAt);
  const data = { path, ageSeconds: Math.round(ageMs / 1000), staleAfterSeconds: Math.round(staleAfterMs / 1000) };
  if (staleAfterMs <= 0) {
    return [result(id, 'e', 'info', `the Tor list at '${path}' is ${human(ageMs)} old; tor.staleAfter is 0, so staleness is never reported`, { data })];
  }
  if (ageMs > staleAfterMs) {
    return [result(id, 'e', 'fail', `the Tor list at '${path}' is ${human(ageMs)} old, more than tor.staleAfter (${human(staleAfterMs)}): exit nodes that appeared since then pass`,
      { fix: 'check that the guard can reach tor.source, or run `nis2-otel update-threat-list`', data })];
  }
  return [result(id, 'e', 'pass', `the Tor list at '${path}' is ${human(ageMs)} old (tor.staleAfter ${human(staleAfterMs)})`, { data })];
}
