import { isAbsolute, join, resolve } from 'node:path';
import { TOR_BULK_EXIT_LIST_URL } from '../../threat-intel/source.js';
import type { DefenseMode, Nis2Config } from '../load.js';
import { ValueError, parseDuration, parseEnum, parseString } from '../parse-values.js';
import type { KeySpec } from '../schema.js';

/** A list source as configured: an http(s) URL (checked here) or a file path. */
export function parseListSource(value: unknown): string {
  const text = parseString(value).trim();
  if (/^https?:\/\//i.test(text)) {
    try {
      new URL(text);
    } catch {
      throw new ValueError("expected an http(s) URL or a file path; the URL does not parse");
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !/^file:\/\//i.test(text)) {
    throw new ValueError('expected an http(s) URL, a file:// URL or a file path');
  }
  return text;
}

/** A refresh interval: at least one second (lists are fetched from someone else's server). */
export function parseRefreshInterval(value: unknown): number {
  const ms = parseDuration(value);
  if (ms < 1000) throw new ValueError("expected a duration of at least 1s, such as '1h' or '30m'");
  return ms;
}

/** Configuration keys of the Tor exit-node defense (documented in the README table like every key). */
export const TOR_KEYS: readonly KeySpec[] = [
  { key: 'tor.mode', env: 'NIS2_TOR_MODE', defaultText: 'the global `mode` when `tor.source` is set, else `off`', parse: parseEnum('enforce', 'monitor', 'off'),
    doc: '`enforce` answers requests from Tor exit nodes with 403, `monitor` logs them (`nis2.tor.blocked`, `nis2.action=monitor`), `off` skips the check.' },
  { key: 'tor.source', env: 'NIS2_TOR_SOURCE', defaultText: `\`${TOR_BULK_EXIT_LIST_URL}\` when \`tor.mode\` is on`, parse: parseListSource,
    doc: "The exit list: an http(s) URL or a file, in the bulk format (one address per line) or the `exit-addresses` format; IPv4 and IPv6. A file is re-read when it changes." },
  { key: 'tor.refreshInterval', env: 'NIS2_TOR_REFRESH_INTERVAL', defaultValue: '1h', parse: parseRefreshInterval,
    doc: 'How often the source is checked (conditional request: `If-None-Match`/`If-Modified-Since`); a failed fetch keeps the list and is retried within 5 minutes.' },
  { key: 'tor.cacheFile', env: 'NIS2_TOR_CACHE_FILE', defaultText: '`tor-exit-list.txt` in `signing.keyDir`', parse: parseString,
    doc: 'Where a fetched list is persisted (atomically), so a restart is protected before the first fetch; `nis2-otel update-threat-list` writes it too. `off`: no cache.' },
  { key: 'tor.staleAfter', env: 'NIS2_TOR_STALE_AFTER', defaultValue: '24h', parse: parseDuration,
    doc: 'A list not confirmed current for this long raises `nis2.defense.degraded` (once, then `nis2.defense.recovered`); it stays in use meanwhile. `0`: never.' },
];

/** Options of the Tor exit-node defense, as accepted in code and in the config file. */
export interface TorOptions {
  tor?: {
    mode?: DefenseMode;
    source?: string;
    refreshInterval?: string | number;
    cacheFile?: string;
    staleAfter?: string | number;
  };
}

/** The Tor settings with their computed defaults resolved. */
export interface TorSettings {
  readonly mode: DefenseMode;
  /** URL, or absolute file path. */
  readonly source: string;
  readonly refreshIntervalMs: number;
  /** Absolute path, or undefined when off. */
  readonly cacheFile: string | undefined;
  readonly staleAfterMs: number;
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** Resolves the Tor keys of a loaded config: off unless a source or a mode is configured. */
export function torSettings(config: Nis2Config): TorSettings {
  const v = config.values;
  const source = v.get('tor.source') as string | undefined;
  const mode = (v.get('tor.mode') as DefenseMode | undefined) ?? (source !== undefined ? config.mode : 'off');
  const cache = v.get('tor.cacheFile') as string | undefined;
  return {
    mode,
    source: source === undefined ? TOR_BULK_EXIT_LIST_URL : /^(https?|file):\/\//i.test(source) ? source : absolute(source),
    refreshIntervalMs: v.get('tor.refreshInterval') as number,
    cacheFile: cache === 'off' ? undefined : cache !== undefined ? absolute(cache) : join(config.signing.keyDir, 'tor-exit-list.txt'),
    staleAfterMs: v.get('tor.staleAfter') as number,
  };
}
