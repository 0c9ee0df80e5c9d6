import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';

/** Where a list comes from: an http(s) URL or a local file. */
export type ListSource =
  | { readonly kind: 'url'; readonly url: string; readonly display: string }
  | { readonly kind: 'file'; readonly path: string; readonly display: string };

/** The Tor Project's bulk exit list (one IPv4 address per line), refreshed by them about hourly. */
export const TOR_BULK_EXIT_LIST_URL = 'https://check.torproject.org/torbulkexitlist';

/** Lists larger than this are refused (the Tor lists are tens of kilobytes). */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

/** `https://…`/`http://…` → URL; `file://…` or anything else → a file path (relative to `cwd`). */
export function parseSource(text: string, cwd: string = process.cwd()): ListSource {
  const trimmed = text.trim();
  if (/^https?:\/\//i.test(trimmed)) {
    const url = new URL(trimmed);
    return { kind: 'url', url: url.href, display: displayUrl(url) };
  }
  const path = /^file:/i.test(trimmed) ? fileURLToPath(trimmed) : isAbsolute(trimmed) ? trimmed : resolve(cwd, trimmed);
  return { kind: 'file', path, display: path };
}

/** A URL as it may appear in events and messages: no credentials, no query (it may hold a token). */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}

/** What the last successful fetch said about the content, for a conditional request. */
export interface Validators {
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
  /** File sources: the file's mtime and size when last read. */
  readonly mtimeMs?: number | undefined;
  readonly size?: number | undefined;
}

export type FetchResult =
  | { readonly status: 'not-modified' }
  | { readonly status: 'modified'; readonly text: string; readonly validators: Validators };

/** A fetch that failed; `reason` is short and safe to log (`HTTP 503`, `ECONNREFUSED`, `timeout`). */
export class ListFetchError extends Error {
  readonly reason: string;

  constructor(reason: string, message?: string) {
    super(message ?? reason);
    this.reason = reason;
  }
}

export interface FetchOptions {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  /** Aborts the fetch (the list is being closed). */
  readonly signal?: AbortSignal;
}

/**
 * Fetches a list if it changed: URLs with `If-None-Match`/`If-Modified-Since` (a 304 costs the
 * server nothing), files by mtime and size. Never follows more than fetch's redirect limit, never
 * reads more than `maxBytes`.
 */
export async function fetchList(source: ListSource, validators: Validators = {}, options: FetchOptions = {}): Promise<FetchResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return source.kind === 'url'
    ? fetchUrl(source.url, validators, maxBytes, options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, options.signal)
    : readListFile(source.path, validators, maxBytes);
}

async function readListFile(path: string, validators: Validators, maxBytes: number): Promise<FetchResult> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new ListFetchError((err as NodeJS.ErrnoException).code ?? 'read_failed', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (validators.mtimeMs === st.mtimeMs && validators.size === st.size) return { status: 'not-modified' };
  if (st.size > maxBytes) throw new ListFetchError('too_large', `${path} is larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ListFetchError((err as NodeJS.ErrnoException).code ?? 'read_failed', `cannot read ${path}: ${(err as Error).message}`);
  }
  return { status: 'modified', text, validators: { mtimeMs: st.mtimeMs, size: st.size } };
}

async function fetchUrl(url: string, validators: Validators, maxBytes: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<FetchResult> {
  const headers: Record<string, string> = { 'User-Agent': `${PACKAGE_NAME}/${PACKAGE_VERSION}`, Accept: 'text/plain, */*;q=0.5' };
  if (validators.etag) headers['If-None-Match'] = validators.etag;
  if (validators.lastModified) headers['If-Modified-Since'] = validators.lastModified;
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
  } catch (err) {
    throw new ListFetchError(failureReason(err, timeout), `cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (res.status === 304) {
    await res.body?.cancel();
    return { status: 'not-modified' };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new ListFetchError(`HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new ListFetchError('too_large', `${url} declares ${declared} bytes, more than ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body ?? []) {
      total += chunk.byteLength;
      if (total > maxBytes) throw new ListFetchError('too_large', `${url} sent more than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    await res.body?.cancel().catch(() => undefined);
    if (err instanceof ListFetchError) throw err;
    throw new ListFetchError(failureReason(err, timeout), `cannot read ${url}: ${(err as Error).message}`);
  }
  return {
    status: 'modified',
    text: Buffer.concat(chunks).toString('utf8'),
    validators: { etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined },
  };
}

function failureReason(err: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) return 'timeout';
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e.name === 'AbortError') return 'aborted';
  return e.cause?.code ?? e.code ?? 'fetch_failed';
}
