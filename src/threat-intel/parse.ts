import { parseCidr, type Cidr } from '../net/ip.js';

/**
 * Which list format to read:
 * - `bulk`: one address or CIDR block per line, as in the Tor Project's bulk exit list and in
 *   deny/allow files; `#` and `;` start a comment (so Spamhaus DROP lines parse too);
 * - `exit-addresses`: the Tor Project's `exit-addresses` document (`ExitNode`, `Published`,
 *   `LastStatus` and `ExitAddress <ip> <date> <time>` lines); only `ExitAddress` yields entries;
 * - `auto`: both, line by line (what the Tor defense reads, so either URL can be configured).
 */
export type ListFormat = 'bulk' | 'exit-addresses' | 'auto';

/** A parsed list: its entries and what was skipped. */
export interface ParsedList {
  /** Entries as CIDR blocks; a single address is a /32 (IPv4) or /128 (IPv6). */
  readonly entries: Cidr[];
  /** Lines that were neither an entry, a known keyword, a comment nor blank. */
  readonly invalid: number;
  /** The first invalid line (1-based), cut to 80 characters, for messages. */
  readonly firstInvalid: { readonly line: number; readonly text: string } | undefined;
  /** True when at least one `ExitNode`/`ExitAddress` line was read. */
  readonly exitAddresses: boolean;
}

const MAX_LINE = 1024;
const EXIT_KEYWORDS = new Set(['ExitNode', 'Published', 'LastStatus']);

/**
 * Parses a list text. Invalid lines are counted, never fatal: one typo must not drop a whole list.
 * IPv4-mapped IPv6 entries become IPv4 (as the guard normalises client addresses).
 */
export function parseIpList(text: string, format: ListFormat = 'auto'): ParsedList {
  const entries: Cidr[] = [];
  let invalid = 0;
  let firstInvalid: ParsedList['firstInvalid'];
  let exitAddresses = false;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    let line = raw;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const semi = line.indexOf(';');
    if (semi >= 0) line = line.slice(0, semi);
    line = line.trim();
    if (line === '') continue;
    let ok = false;
    if (line.length <= MAX_LINE) {
      const tokens = line.split(/\s+/);
      const first = tokens[0]!;
      if (format !== 'bulk' && first === 'ExitAddress') {
        exitAddresses = true;
        const cidr = tokens.length >= 2 && tokens[1]!.indexOf('/') < 0 ? parseCidr(tokens[1]!) : undefined;
        if (cidr) { entries.push(cidr); ok = true; }
      } else if (format !== 'bulk' && EXIT_KEYWORDS.has(first)) {
        if (first === 'ExitNode') exitAddresses = true;
        ok = true;
      } else if (format !== 'exit-addresses' && tokens.length === 1) {
        const cidr = parseCidr(first);
        if (cidr) { entries.push(cidr); ok = true; }
      }
    }
    if (!ok) {
      invalid++;
      firstInvalid ??= { line: n + 1, text: raw.trim().slice(0, 80) };
    }
  }
  return { entries, invalid, firstInvalid, exitAddresses };
}

/** The Tor Project's bulk exit list: one address per line, `#` comments. */
export function parseBulkExitList(text: string): ParsedList {
  return parseIpList(text, 'bulk');
}

/** The Tor Project's `exit-addresses` document (`ExitAddress <ip> <date> <time>` lines). */
export function parseExitAddresses(text: string): ParsedList {
  return parseIpList(text, 'exit-addresses');
}

/**
 * Whether a freshly fetched list looks like a list at all. An HTML error page or a captive portal
 * answering 200 parses to garbage: swapping it in would silently empty the defense, so such a text
 * is refused and the previous list is kept. An empty list (comments only) is accepted.
 */
export function plausible(list: ParsedList): boolean {
  if (list.invalid === 0) return true;
  return list.entries.length > 0 && list.invalid <= list.entries.length;
}
