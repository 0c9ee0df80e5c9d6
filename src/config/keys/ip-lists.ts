import { isAbsolute, resolve } from 'node:path';
import { parseCidr, type Cidr } from '../../net/ip.js';
import type { DefenseMode, Nis2Config } from '../load.js';
import { ValueError, parseEnum, parseString, parseStringList } from '../parse-values.js';
import type { KeySpec } from '../schema.js';
import { parseRefreshInterval } from './tor.js';

/** A comma-separated string or a list of CIDR blocks or addresses; the error names the bad entry. */
export function parseCidrList(value: unknown): Cidr[] {
  const out: Cidr[] = [];
  for (const entry of parseStringList(value)) {
    const cidr = parseCidr(entry);
    if (!cidr) throw new ValueError(`'${entry.slice(0, 60)}' is not an address or a CIDR block (e.g. 192.0.2.0/24, 2001:db8::/32)`);
    out.push(cidr);
  }
  return out;
}

/** Configuration keys of the IP allow/deny lists (documented in the README table like every key). */
export const IP_LISTS_KEYS: readonly KeySpec[] = [
  { key: 'ipLists.mode', env: 'NIS2_IP_LISTS_MODE', defaultText: 'the global `mode` when a list is set, else `off`', parse: parseEnum('enforce', 'monitor', 'off'),
    doc: '`enforce` answers denied addresses with 403, `monitor` logs them (`nis2.ip.blocked`, `nis2.action=monitor`); the allow list applies in both. `off` ignores both lists.' },
  { key: 'ipLists.allow', env: 'NIS2_IP_ALLOW', defaultValue: [], parse: parseCidrList,
    doc: 'Addresses or CIDR blocks that skip every defense (monitoring probes, health checks); allow wins over deny and over the Tor list.' },
  { key: 'ipLists.allowFile', env: 'NIS2_IP_ALLOW_FILE', parse: parseString,
    doc: 'A file of allowed addresses/CIDR blocks, one per line (`#` or `;` starts a comment); read at start and re-read when it changes.' },
  { key: 'ipLists.deny', env: 'NIS2_IP_DENY', defaultValue: [], parse: parseCidrList,
    doc: 'Addresses or CIDR blocks answered with 403 (`reason` `ip_denied`).' },
  { key: 'ipLists.denyFile', env: 'NIS2_IP_DENY_FILE', parse: parseString,
    doc: 'A file of denied addresses/CIDR blocks, same format (a Spamhaus DROP file reads as is); read at start and re-read when it changes. Replace it atomically (write, then rename).' },
  { key: 'ipLists.refreshInterval', env: 'NIS2_IP_LISTS_REFRESH_INTERVAL', defaultValue: '30s', parse: parseRefreshInterval,
    doc: 'How often `ipLists.allowFile`/`ipLists.denyFile` are checked for changes (mtime and size).' },
];

/** Options of the IP allow/deny lists, as accepted in code and in the config file. */
export interface IpListsOptions {
  ipLists?: {
    mode?: DefenseMode;
    allow?: string | string[];
    allowFile?: string;
    deny?: string | string[];
    denyFile?: string;
    refreshInterval?: string | number;
  };
}

/** The IP-list settings with their computed defaults resolved. */
export interface IpListsSettings {
  readonly mode: DefenseMode;
  readonly allow: readonly Cidr[];
  readonly allowFile: string | undefined;
  readonly deny: readonly Cidr[];
  readonly denyFile: string | undefined;
  readonly refreshIntervalMs: number;
}

function absolute(path: string | undefined): string | undefined {
  return path === undefined || isAbsolute(path) ? path : resolve(path);
}

/** Resolves the IP-list keys of a loaded config: off unless a list is given. */
export function ipListsSettings(config: Nis2Config): IpListsSettings {
  const v = config.values;
  const allow = v.get('ipLists.allow') as Cidr[];
  const deny = v.get('ipLists.deny') as Cidr[];
  const allowFile = absolute(v.get('ipLists.allowFile') as string | undefined);
  const denyFile = absolute(v.get('ipLists.denyFile') as string | undefined);
  const any = allow.length > 0 || deny.length > 0 || allowFile !== undefined || denyFile !== undefined;
  return {
    mode: (v.get('ipLists.mode') as DefenseMode | undefined) ?? (any ? config.mode : 'off'),
    allow, allowFile, deny, denyFile,
    refreshIntervalMs: v.get('ipLists.refreshInterval') as number,
  };
}
