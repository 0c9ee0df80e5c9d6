import { statSync } from 'node:fs';
import type { SecurityEventInput } from '../events/flood-control.js';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import {
  ATTR_NIS2_DEFENSE, ATTR_NIS2_DEGRADED_MS, ATTR_NIS2_IP_LIST_AGE_S, ATTR_NIS2_IP_LIST_ERROR, ATTR_NIS2_IP_LIST_NAME,
  ATTR_NIS2_IP_LIST_SIZE, ATTR_NIS2_IP_LIST_SOURCE, ATTR_NIS2_REASON, ATTR_SECURITY_RULE_NAME,
  EVENT_DEFENSE_DEGRADED, EVENT_DEFENSE_RECOVERED,
} from '../semconv.js';
import { warnOnce } from '../warn.js';
import { parseCache, readCacheSync, writeCache, type CacheMeta } from './cache.js';
import { IpMatcher } from './ip-set.js';
import { plausible, type ParsedList } from './parse.js';
import { fetchList, ListFetchError, type FetchOptions, type ListSource, type Validators } from './source.js';

/** A failed refresh is retried after at most this long, whatever the refresh interval. */
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;

/** Options of {@link ThreatList}. */
export interface ThreatListOptions {
  /** `nis2.ip_list.name` in events, e.g. `tor_exit`. */
  readonly name: string;
  /** `nis2.defense` (and `security_rule.name`) of the defense it feeds, for degraded events. */
  readonly defense: string;
  readonly rule: string;
  readonly source: ListSource;
  /** Where a URL list is persisted so a restart is protected before the first fetch; files need none. */
  readonly cacheFile?: string | undefined;
  readonly refreshIntervalMs: number;
  /** Older than this (since the content was last confirmed current) → degraded; 0 = never. */
  readonly staleAfterMs: number;
  /** Degraded and recovered events go here. */
  readonly emitter?: { emit(event: SecurityEventInput): void } | undefined;
  readonly now?: () => number;
  readonly fetch?: Omit<FetchOptions, 'signal'>;
  /** Called when a loaded list had invalid lines (they were skipped); defaults to a process warning. */
  readonly onInvalidLines?: (list: ParsedList, from: string) => void;
}

/** What one refresh did. */
export type RefreshOutcome = 'updated' | 'not-modified' | 'failed' | 'closed';

/** Counters and state, for tests, `stats` and the CLI. */
export interface ThreatListStats {
  loaded: boolean;
  /** When the content was last confirmed current, ms since the epoch. */
  fetchedAt: number | undefined;
  /** Where the list in use came from: the cache file at start, the source, or nothing yet. */
  origin: 'none' | 'cache' | 'source';
  updates: number;
  notModified: number;
  failures: number;
  lastError: string | undefined;
  invalidLines: number;
  cacheWriteErrors: number;
  degraded: boolean;
}

/**
 * A Tor exit list or deny list kept current in the background (DESIGN §3 threat-intel/):
 *
 * - at construction the last good copy is read (the cache file for a URL, the file itself for a
 *   path), so a restart is protected before any network I/O;
 * - `start()` refreshes on an unref'd timer with `If-None-Match`/`If-Modified-Since`; a new list is
 *   parsed and indexed completely, then swapped in with one assignment (requests see the old or
 *   the new list, never a mix), and persisted atomically to the cache file;
 * - a failed fetch, or a body that is not a list (an HTML error page), keeps the previous list;
 * - when the list in use is older than `staleAfterMs`, or there is none, one
 *   `nis2.defense.degraded` event is emitted for the episode, and `nis2.defense.recovered` when a
 *   fresh list arrives. The list keeps being used while stale: never fail open silently.
 */
export class ThreatList {
  readonly #o: ThreatListOptions;
  readonly #now: () => number;
  #matcher: IpMatcher = IpMatcher.EMPTY;
  #validators: Validators = {};
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<RefreshOutcome> | undefined;
  readonly #abort = new AbortController();
  #closed = false;
  #started = false;
  #degradedSince = 0;
  readonly stats: ThreatListStats = {
    loaded: false, fetchedAt: undefined, origin: 'none', updates: 0, notModified: 0, failures: 0,
    lastError: undefined, invalidLines: 0, cacheWriteErrors: 0, degraded: false,
  };

  constructor(options: ThreatListOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#loadInitial();
  }

  /** The list in use: read it once per request, it is replaced whole on refresh. */
  get matcher(): IpMatcher {
    return this.#matcher;
  }

  get source(): ListSource {
    return this.#o.source;
  }

  /** Seconds since the content was last confirmed current (undefined when none is loaded). */
  ageSeconds(): number | undefined {
    const at = this.stats.fetchedAt;
    return at === undefined ? undefined : Math.max(0, Math.floor((this.#now() - at) / 1000));
  }

  #loadInitial(): void {
    const source = this.#o.source;
    const path = source.kind === 'file' ? source.path : this.#o.cacheFile;
    if (path === undefined) return;
    let st;
    let cached;
    try {
      st = statSync(path);
      cached = readCacheSync(path);
    } catch (err) {
      if (source.kind === 'file') this.stats.lastError = (err as NodeJS.ErrnoException).code ?? 'read_failed';
      return;
    }
    if (!plausible(cached.list)) {
      this.stats.lastError = 'invalid_list';
      return;
    }
    if (cached.list.invalid > 0) this.#invalidLines(cached.list, path);
    this.#swap(cached.list, cached.meta?.fetchedAt ?? st.mtimeMs);
    this.stats.origin = source.kind === 'file' ? 'source' : 'cache';
    if (source.kind === 'file') {
      this.#validators = { mtimeMs: st.mtimeMs, size: st.size };
    } else if (cached.meta?.source === source.url) {
      // Validators belong to the URL they came from; a cache of another source is used, not revalidated.
      this.#validators = { etag: cached.meta.etag, lastModified: cached.meta.lastModified };
    }
  }

  #invalidLines(list: ParsedList, from: string): void {
    if (this.#o.onInvalidLines) {
      this.#o.onInvalidLines(list, from);
      return;
    }
    const first = list.firstInvalid!;
    warnOnce('NIS2_WRN_IP_LIST_INVALID_LINES', `${this.#o.name} list ${from}: ${list.invalid} line(s) skipped that are not addresses or CIDR blocks, the first at line ${first.line}: ${JSON.stringify(first.text)}`);
  }

  #swap(list: ParsedList, fetchedAt: number): void {
    this.#matcher = new IpMatcher(list.entries);
    this.stats.invalidLines = list.invalid;
    this.stats.loaded = true;
    this.stats.fetchedAt = fetchedAt;
  }

  /**
   * Starts the background refresh. A URL is fetched at once unless the cached copy is younger than
   * the refresh interval; a file is re-checked every interval. A file source is judged stale or
   * missing right away; a URL after its first fetch.
   */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const interval = this.#o.refreshIntervalMs;
    if (this.#o.source.kind === 'file') {
      this.#evaluate();
      this.#schedule(this.#nextDelay(interval));
      return;
    }
    const at = this.stats.fetchedAt;
    this.#schedule(at === undefined ? 0 : Math.min(interval, Math.max(0, at + interval - this.#now())));
  }

  /** One refresh now (concurrent calls share one fetch). */
  refresh(): Promise<RefreshOutcome> {
    if (this.#closed) return Promise.resolve('closed');
    this.#inflight ??= this.#refresh().finally(() => { this.#inflight = undefined; });
    return this.#inflight;
  }

  async #refresh(): Promise<RefreshOutcome> {
    const source = this.#o.source;
    let outcome: RefreshOutcome;
    try {
      const result = await fetchList(source, this.#validators, { ...this.#o.fetch, signal: this.#abort.signal });
      if (this.#closed) return 'closed';
      if (result.status === 'not-modified') {
        this.stats.notModified++;
        // A file that did not change is not any fresher; a URL that says 304 is.
        if (source.kind === 'url') {
          this.stats.fetchedAt = this.#now();
          await this.#persist();
        }
        outcome = 'not-modified';
      } else {
        const { list, meta } = parseCache(result.text);
        if (!plausible(list)) throw new ListFetchError('invalid_list', `${source.display} is not an IP list (${list.invalid} invalid lines, ${list.entries.length} entries)`);
        if (list.invalid > 0) this.#invalidLines(list, source.display);
        const fetchedAt = source.kind === 'url' ? this.#now() : meta?.fetchedAt ?? result.validators.mtimeMs ?? this.#now();
        this.#swap(list, fetchedAt);
        this.#validators = result.validators;
        this.stats.origin = 'source';
        this.stats.updates++;
        if (source.kind === 'url') await this.#persist();
        outcome = 'updated';
      }
      this.stats.lastError = undefined;
    } catch (err) {
      if (this.#closed) return 'closed';
      this.stats.failures++;
      this.stats.lastError = err instanceof ListFetchError ? err.reason : 'failed';
      outcome = 'failed';
    }
    this.#evaluate();
    return outcome;
  }

  async #persist(): Promise<void> {
    const file = this.#o.cacheFile;
    const source = this.#o.source;
    if (file === undefined || source.kind !== 'url' || this.stats.fetchedAt === undefined) return;
    const meta: CacheMeta = { source: source.url, fetchedAt: this.stats.fetchedAt, etag: this.#validators.etag, lastModified: this.#validators.lastModified };
    try {
      await writeCache(file, this.#matcher.entries, meta);
    } catch {
      // The list in memory is what protects; a cache that cannot be written only costs a restart.
      this.stats.cacheWriteErrors++;
    }
  }

  #nextDelay(base: number): number {
    const stale = this.#o.staleAfterMs;
    const at = this.stats.fetchedAt;
    if (stale <= 0 || at === undefined || this.stats.degraded) return base;
    // Look again just after the list would turn stale, so the degraded event is not late.
    return Math.max(0, Math.min(base, at + stale - this.#now() + 1));
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    // setTimeout overflows past 2^31-1 ms (~24.8 days) and would fire at once.
    this.#timer = setTimeout(() => {
      void this.refresh().then((outcome) => {
        if (outcome === 'closed') return;
        const base = outcome === 'failed' ? Math.min(this.#o.refreshIntervalMs, RETRY_AFTER_FAILURE_MS) : this.#o.refreshIntervalMs;
        this.#schedule(this.#nextDelay(base));
      });
    }, Math.min(delayMs, 2_147_483_647));
    this.#timer.unref();
  }

  /** Enters or leaves a degraded episode; one event each way. */
  #evaluate(): void {
    const now = this.#now();
    const at = this.stats.fetchedAt;
    const unavailable = !this.stats.loaded;
    const stale = unavailable || (this.#o.staleAfterMs > 0 && at !== undefined && now - at > this.#o.staleAfterMs);
    if (stale && !this.stats.degraded) {
      this.stats.degraded = true;
      this.#degradedSince = now;
      const reason = unavailable ? 'list_unavailable' : 'list_stale';
      this.#emit(EVENT_DEFENSE_DEGRADED, 'WARN', reason);
      warnOnce('NIS2_WRN_IP_LIST_DEGRADED', unavailable
        ? `${this.#o.name} list from ${this.#o.source.display} could not be loaded (${this.stats.lastError ?? 'no copy yet'}): the ${this.#o.defense} check passes every request until it loads`
        : `${this.#o.name} list from ${this.#o.source.display} is older than ${Math.round(this.#o.staleAfterMs / 1000)} s (${this.stats.lastError ?? 'not refreshed'}); it stays in use`);
    } else if (!stale && this.stats.degraded) {
      this.stats.degraded = false;
      this.#emit(EVENT_DEFENSE_RECOVERED, 'INFO', 'list_refreshed', now - this.#degradedSince);
    }
  }

  #emit(name: string, severity: 'WARN' | 'INFO', reason: string, degradedMs?: number): void {
    const attrs: Record<string, EnvelopeAttrValue> = {
      [ATTR_NIS2_DEFENSE]: this.#o.defense,
      [ATTR_SECURITY_RULE_NAME]: this.#o.rule,
      [ATTR_NIS2_REASON]: reason,
      [ATTR_NIS2_IP_LIST_NAME]: this.#o.name,
      [ATTR_NIS2_IP_LIST_SIZE]: this.#matcher.size,
      [ATTR_NIS2_IP_LIST_SOURCE]: this.#o.source.display,
    };
    const age = this.ageSeconds();
    if (age !== undefined) attrs[ATTR_NIS2_IP_LIST_AGE_S] = age;
    if (this.stats.lastError !== undefined) attrs[ATTR_NIS2_IP_LIST_ERROR] = this.stats.lastError;
    if (degradedMs !== undefined) attrs[ATTR_NIS2_DEGRADED_MS] = degradedMs;
    this.#o.emitter?.emit({ name, severity, attrs });
  }

  /** Stops the timer and aborts a fetch in flight. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort();
  }
}
