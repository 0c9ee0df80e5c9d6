import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatIp, type Cidr } from '../net/ip.js';
import { parseIpList, type ParsedList } from './parse.js';

const MAGIC = '# nis2-otel ip list v1';

/** What the header of a cache file says about its list. */
export interface CacheMeta {
  /** The source the list was fetched from (as configured: URL or path). */
  readonly source: string;
  /** When the content was last confirmed current (a 304 counts), ms since the epoch. */
  readonly fetchedAt: number;
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
}

/** A list read back from a cache file (or from any list file that carries such a header). */
export interface CachedList {
  readonly list: ParsedList;
  /** Undefined when the file has no (or an unreadable) header: a plain list file. */
  readonly meta: CacheMeta | undefined;
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/**
 * The cache file format is the bulk-list format itself, with a comment header: any list reader
 * (and `tor.source` pointed at the file) can read it.
 *
 * ```
 * # nis2-otel ip list v1
 * # source: https://check.torproject.org/torbulkexitlist
 * # fetched-at: 2026-11-25T10:00:00.000Z
 * # etag: "abc"
 * 192.0.2.1
 * ```
 */
export function formatCache(entries: readonly Cidr[], meta: CacheMeta): string {
  const lines = [MAGIC, `# source: ${oneLine(meta.source)}`, `# fetched-at: ${new Date(meta.fetchedAt).toISOString()}`];
  if (meta.etag) lines.push(`# etag: ${oneLine(meta.etag)}`);
  if (meta.lastModified) lines.push(`# last-modified: ${oneLine(meta.lastModified)}`);
  for (const e of entries) {
    const max = e.family === 4 ? 32 : 128;
    lines.push(e.prefix === max ? formatIp(e) : e.text);
  }
  return `${lines.join('\n')}\n`;
}

/** Reads the header (if any) and the entries of a list text. */
export function parseCache(text: string): CachedList {
  return { list: parseIpList(text), meta: parseHeader(text) };
}

function parseHeader(text: string): CacheMeta | undefined {
  if (!text.startsWith(MAGIC)) return undefined;
  const fields = new Map<string, string>();
  for (const line of text.split('\n', 16)) {
    const m = /^# ([a-z-]+): (.*)$/.exec(line.trimEnd());
    if (m) fields.set(m[1]!, m[2]!);
  }
  const fetchedAt = Date.parse(fields.get('fetched-at') ?? '');
  const source = fields.get('source');
  if (!source || !Number.isFinite(fetchedAt)) return undefined;
  return { source, fetchedAt, etag: fields.get('etag'), lastModified: fields.get('last-modified') };
}

/** Reads a cache file at start-up (sync: it runs once, before the first request). */
export function readCacheSync(path: string): CachedList {
  return parseCache(readFileSync(path, 'utf8'));
}

function tempName(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Writes a cache file atomically (temp file + rename): a reader, a crash or a second process
 * never sees half a list.
 */
export async function writeCache(path: string, entries: readonly Cidr[], meta: CacheMeta): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = tempName(path);
  try {
    await writeFile(tmp, formatCache(entries, meta), { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** {@link writeCache}, synchronously (for the CLI). */
export function writeCacheSync(path: string, entries: readonly Cidr[], meta: CacheMeta): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, formatCache(entries, meta), { mode: 0o644 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
