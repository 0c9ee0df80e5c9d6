import { uaFamily } from '../defenses/ua-family.js';
import { INTEGRITY_EVENTS } from '../integrity/envelope.js';
import type { FileSummary, ReadResult } from '../integrity/read-inputs.js';
import { formatLocation, type StreamReport, type VerifyReport } from '../integrity/verify.js';
import {
  ATTR_CLIENT_ADDRESS, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_NIS2_ACTION, ATTR_NIS2_AGGREGATE_COUNT,
  ATTR_NIS2_BLOCK_FAILED, ATTR_NIS2_SUPPRESSED_COUNT, ATTR_SECURITY_RULE_NAME, ATTR_SERVICE_NAME, ATTR_URL_PATH,
  ATTR_USER_AGENT_ORIGINAL, EVENT_EVENTS_SUPPRESSED, EVENT_HTTP_ACCESS,
} from '../semconv.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { assessArt23 } from './art23.js';
import { EVENT_DEFENSE_DEGRADED, EVENT_DEFENSE_RECOVERED, eventTypeInfo, maxSeverity } from './catalogue.js';
import {
  REPORT_SCHEMA_ID,
  type ActionCounts, type AffectedService, type EventTypeSummary, type EvidenceCounts, type IncidentGroup, type IncidentReport,
  type IndicatorValue, type IntegrityProblem, type IntegritySection, type IntegrityStatus, type ReportWindow, type StreamIntegrity,
  type TimelineEntry,
} from './schema.js';
import { bucketStart, chooseBucketSeconds, formatDuration, iso } from './time.js';

/** What the report is built from: the reader's output and the verifier's verdict on the same records. */
export interface ReportSource {
  read: Pick<ReadResult, 'records' | 'malformed' | 'skipped'> & { files?: FileSummary[] };
  verify: VerifyReport;
}

/** The window and presentation choices; times in ms since the epoch. */
export interface ReportOptions {
  /** Inclusive start. Defaults to unbounded (or `hours` back from the end). */
  since?: number;
  /** Inclusive end. Defaults to unbounded (or the anchor, with `hours`). */
  until?: number;
  /** Window length back from `until`, else from `now`. Not with `since`. */
  hours?: number;
  /** Anchor for `hours`. Defaults to the newest security event of the input, so reports are reproducible. */
  now?: number;
  /** Chart and grouping bucket. Defaults to the smallest nice size giving at most 100 buckets. */
  bucketSeconds?: number;
  /** When the report was made. Defaults to now. */
  generatedAt?: number;
}

/** Options that cannot make a report (reversed window, too many buckets …); the message says which. */
export class ReportOptionsError extends Error {
  override readonly name = 'ReportOptionsError';
}

/**
 * Limits on everything that grows with the input. A log is attacker-influenced (every path and
 * User-Agent came from a request), so distinct values beyond a limit fold into `(other)` rather
 * than growing a map without end; the notes say when that happened.
 */
export const REPORT_LIMITS = {
  distinctPrefixes: 5000,
  distinctRoutes: 5000,
  distinctUaFamilies: 1000,
  distinctRules: 500,
  distinctTypes: 200,
  distinctAccounts: 100_000,
  groups: 20_000,
  /** Largest groups kept in the output. */
  incidents: 500,
  indicatorsPerList: 100,
  timelineEntries: 300,
  chartSeries: 10,
  buckets: 2000,
  problemsPerStream: 50,
  malformedListed: 20,
  maxTextLength: 200,
} as const;

const OTHER = '(other)';
const NONE = '(none)';
const SEALED = '(sealed)';
const OTHER_TYPES = '(other types)';
const UNKNOWN_SERVICE = '(unknown service)';
const MAX_AGGREGATE = 1e9;

type EvidenceClass = keyof EvidenceCounts;
type Action = keyof ActionCounts;

/** One usable record of the input: envelope fields checked, attrs kept as written. */
interface Rec {
  stream: string;
  seq: number;
  tsMs: number;
  event: string;
  severity: string;
  attrs: Record<string, unknown>;
}

/** A security event occurrence set, as counted. */
interface Occ {
  rec: Rec;
  n: number;
  summary: boolean;
  action: Action;
  evidence: EvidenceClass;
  prefix: string;
  route: string;
  ua: string | undefined;
  rule: string | undefined;
  service: string;
}

interface Tally {
  occurrences: number;
  records: number;
  summarised: number;
  first: number;
  last: number;
  severity: string;
  actions: ActionCounts;
  evidence: EvidenceCounts;
}

function newTally(): Tally {
  return {
    occurrences: 0, records: 0, summarised: 0, first: Infinity, last: -Infinity, severity: 'INFO',
    actions: { block: 0, monitor: 0, allow: 0, other: 0 }, evidence: { verified: 0, unverified: 0, suspect: 0 },
  };
}

function tally(t: Tally, o: Occ): void {
  t.occurrences += o.n;
  t.records++;
  if (o.summary) t.summarised += o.n;
  if (o.rec.tsMs < t.first) t.first = o.rec.tsMs;
  if (o.rec.tsMs > t.last) t.last = o.rec.tsMs;
  t.severity = maxSeverity(t.severity, o.rec.severity);
  t.actions[o.action] += o.n;
  t.evidence[o.evidence] += o.n;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Attacker-supplied text, shortened and stripped of control characters before it enters the report. */
function clean(value: string): string {
  // eslint-disable-next-line no-control-regex
  const text = value.replace(/[\u0000-\u001f\u007f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '\uFFFD');
  return text.length > REPORT_LIMITS.maxTextLength ? `${text.slice(0, REPORT_LIMITS.maxTextLength)}…` : text;
}

/** A distinct-value registry that stops growing at `max` and answers `(other)` past it. */
class Capped {
  readonly #seen = new Set<string>();
  overflowed = 0;
  constructor(readonly max: number) {}
  key(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.max) {
      this.overflowed++;
      return OTHER;
    }
    this.#seen.add(value);
    return value;
  }
  get size(): number {
    return this.#seen.size;
  }
}

function str(attrs: Record<string, unknown>, key: string): string | undefined {
  const v = attrs[key];
  return typeof v === 'string' ? v : undefined;
}

function prefixOf(attrs: Record<string, unknown>): string {
  const v = str(attrs, ATTR_CLIENT_ADDRESS);
  if (v === undefined || v === '') return NONE;
  // A sealed value is ciphertext: useless as an indicator and not ours to print.
  if (v.startsWith('nis2enc:')) return SEALED;
  return clean(v);
}

function routeOf(attrs: Record<string, unknown>): string {
  const v = str(attrs, ATTR_HTTP_ROUTE) ?? str(attrs, ATTR_URL_PATH);
  return v === undefined || v === '' ? NONE : clean(v);
}

function actionOf(attrs: Record<string, unknown>): Action {
  const v = attrs[ATTR_NIS2_ACTION];
  return v === 'block' || v === 'monitor' || v === 'allow' ? v : 'other';
}

function evidenceOf(state: StreamReport['state'] | undefined): EvidenceClass {
  if (state === 'intact-closed' || state === 'intact-open') return 'verified';
  if (state === 'tampered') return 'suspect';
  return 'unverified';
}

const STATE_RANK: Readonly<Record<StreamReport['state'], number>> = { 'intact-closed': 0, 'intact-open': 1, 'cannot-verify': 2, tampered: 3 };

function sortedByCount<T extends { occurrences: number }>(list: T[], tiebreak: (a: T, b: T) => number): T[] {
  return list.sort((a, b) => b.occurrences - a.occurrences || tiebreak(a, b));
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Reads the records once: one per stream and seq (the verifier reports replays and rival records;
 * counting them twice would inflate an incident), with the envelope fields the report needs.
 */
function collect(source: ReportSource): { recs: Rec[]; distinct: number; unusable: number; bySeq: Map<string, Map<number, Rec>> } {
  const bySeq = new Map<string, Map<number, Rec>>();
  let distinct = 0;
  let unusable = 0;
  for (const input of source.read.records) {
    let parsed = input.parsed;
    if (parsed === undefined) {
      try {
        parsed = JSON.parse(input.body);
      } catch {
        continue; // the verifier reports it
      }
    }
    if (!isObject(parsed)) continue;
    const { stream, seq } = parsed;
    if (typeof stream !== 'string' || stream === '' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) continue;
    let seqs = bySeq.get(stream);
    if (!seqs) bySeq.set(stream, (seqs = new Map()));
    if (seqs.has(seq)) continue;
    distinct++;
    const tsMs = typeof parsed['ts'] === 'string' ? Date.parse(parsed['ts']) : NaN;
    const { event, severity, attrs } = parsed;
    if (Number.isNaN(tsMs) || typeof event !== 'string' || event === '' || !isObject(attrs)) {
      unusable++;
      continue;
    }
    seqs.set(seq, { stream, seq, tsMs, event, severity: typeof severity === 'string' ? severity : 'INFO', attrs });
  }
  const recs: Rec[] = [];
  for (const seqs of bySeq.values()) for (const rec of seqs.values()) recs.push(rec);
  recs.sort((a, b) => a.tsMs - b.tsMs || (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) || a.seq - b.seq);
  return { recs, distinct, unusable, bySeq };
}

function isSecurityEvent(event: string): boolean {
  return !event.startsWith('nis2.integrity.') && event !== EVENT_HTTP_ACCESS && event !== EVENT_EVENTS_SUPPRESSED;
}

interface ResolvedWindow {
  sinceMs: number;
  untilMs: number;
  window: ReportWindow;
}

function resolveWindow(options: ReportOptions, recs: readonly Rec[]): ResolvedWindow {
  const { since, until, hours, now } = options;
  if (hours !== undefined && since !== undefined) throw new ReportOptionsError('give --hours or --since, not both');
  if (hours !== undefined && !(hours > 0 && Number.isFinite(hours))) throw new ReportOptionsError('--hours must be a positive number');
  if (now !== undefined && hours === undefined) throw new ReportOptionsError('--now only anchors --hours');
  let anchor: number | null = null;
  let anchorSource: ReportWindow['anchorSource'] = null;
  let sinceMs = since ?? -Infinity;
  let untilMs = until ?? Infinity;
  if (hours !== undefined) {
    if (until !== undefined) {
      anchor = until;
      anchorSource = 'until-flag';
    } else if (now !== undefined) {
      anchor = now;
      anchorSource = 'now-flag';
    } else {
      // The newest security event, else the newest record: never the wall clock, so the same log
      // gives the same report tomorrow.
      let newest = -Infinity;
      let newestAny = -Infinity;
      for (const r of recs) {
        if (r.tsMs > newestAny) newestAny = r.tsMs;
        if (isSecurityEvent(r.event) && r.tsMs > newest) newest = r.tsMs;
      }
      const picked = Number.isFinite(newest) ? newest : newestAny;
      anchor = Number.isFinite(picked) ? picked : 0;
      anchorSource = 'newest-event';
    }
    untilMs = anchor;
    sinceMs = anchor - hours * 3_600_000;
  }
  if (sinceMs > untilMs) throw new ReportOptionsError(`the window ends (${iso(untilMs)}) before it starts (${iso(sinceMs)})`);
  const basis: ReportWindow['basis'] = hours !== undefined ? 'hours' : since !== undefined || until !== undefined ? 'range' : 'all';
  return {
    sinceMs,
    untilMs,
    window: {
      basis,
      since: Number.isFinite(sinceMs) ? iso(sinceMs) : null,
      until: Number.isFinite(untilMs) ? iso(untilMs) : null,
      hours: hours ?? null,
      anchor: anchor === null ? null : iso(anchor),
      anchorSource,
      firstEvent: null,
      lastEvent: null,
    },
  };
}

interface StreamMeta {
  service: string | null;
  host: string | null;
}

function streamMeta(bySeq: Map<string, Map<number, Rec>>): Map<string, StreamMeta> {
  const meta = new Map<string, StreamMeta>();
  for (const [stream, seqs] of bySeq) {
    const start = seqs.get(0);
    const attrs = start?.event === INTEGRITY_EVENTS.streamStart ? start.attrs : undefined;
    const service = attrs ? str(attrs, ATTR_SERVICE_NAME) : undefined;
    const host = attrs ? str(attrs, 'host.name') : undefined;
    meta.set(stream, { service: service ? clean(service) : null, host: host ? clean(host) : null });
  }
  return meta;
}

/** Per-event occurrence count: 1, or N for a flood-control summary; odd values are noted, not trusted. */
function countOf(rec: Rec, odd: { count: number }): { n: number; summary: boolean } {
  const raw = rec.attrs[ATTR_NIS2_AGGREGATE_COUNT];
  if (raw === undefined) return { n: 1, summary: false };
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 1 && raw <= MAX_AGGREGATE) return { n: raw, summary: true };
  odd.count++;
  return { n: 1, summary: false };
}

function integritySection(verify: VerifyReport, malformed: Array<{ reason: string; at: string }>, meta: Map<string, StreamMeta>, bySeq: Map<string, Map<number, Rec>>, inWindow: Map<string, number>): IntegritySection {
  const streams: StreamIntegrity[] = verify.streams.map((s) => {
    const m = meta.get(s.stream);
    const seqs = bySeq.get(s.stream);
    const problems: IntegrityProblem[] = s.problems.slice(0, REPORT_LIMITS.problemsPerStream).map((p) => {
      const rec = seqs?.get(p.from);
      return { kind: p.kind, severity: p.severity, from: p.from, to: p.to, detail: clean(p.detail), at: rec ? iso(rec.tsMs) : null };
    });
    if (s.problems.length > problems.length) {
      problems.push({ kind: 'more', severity: 'warning', from: s.firstSeq, to: s.lastSeq, detail: `${s.problems.length - problems.length} more problem(s): run nis2-otel verify for the full list`, at: null });
    }
    return {
      stream: s.stream,
      state: s.state,
      service: m?.service ?? null,
      host: m?.host ?? null,
      records: s.records,
      firstSeq: s.firstSeq,
      lastSeq: s.lastSeq,
      firstTs: s.firstTs ?? null,
      lastTs: s.lastTs ?? null,
      closed: s.closed,
      key: { kid: s.key.kid ?? null, alg: s.key.alg ?? null, source: s.key.source },
      occurrencesInWindow: inWindow.get(s.stream) ?? 0,
      problems,
    };
  });
  const count = (state: StreamReport['state']): number => streams.filter((s) => s.state === state).length;
  const tampered = count('tampered');
  const unverifiable = count('cannot-verify');
  const open = count('intact-open');
  let status: IntegrityStatus;
  let headline: string;
  const n = streams.length;
  if (n === 0) {
    status = 'no-evidence';
    headline = 'NO EVIDENCE: the input holds no signed event stream.';
  } else if (tampered > 0 || malformed.length > 0) {
    status = 'tampered';
    const kinds = [...new Set(streams.flatMap((s) => s.problems.filter((p) => p.severity === 'tamper').map((p) => p.kind)))];
    headline = `TAMPERING DETECTED: ${tampered} of ${n} stream(s) failed verification` +
      (kinds.length ? ` (${kinds.join(', ')})` : '') +
      (malformed.length ? `; ${malformed.length} input record(s) are damaged and belong to no stream` : '') +
      '. Their events are still reported below, marked SUSPECT: treat those numbers as unproven.';
  } else if (unverifiable > 0) {
    status = 'unverifiable';
    headline = `INTEGRITY NOT VERIFIED: ${unverifiable} of ${n} stream(s) could not be checked (no usable key, or a key that is not pinned). Their events are marked unverified.`;
  } else {
    status = 'intact';
    headline = `Integrity verified: all ${n} stream(s) intact (${n - open} closed, ${open} still open), every signature and hash link checks out.`;
  }
  // Authorship needs a key the reader trusts; a stream's own declared key only proves it is unaltered.
  const keysPinned = n > 0 && streams.every((s) => s.key.source === 'pinned' || s.key.source === 'hmac');
  const declared = streams.filter((s) => s.key.source === 'declared').length;
  if (status !== 'no-evidence' && declared > 0) {
    headline += ` ${declared} stream(s) were checked with the key they declare themselves, not a pinned one (--public-key): this proves the records were not altered after signing, not who signed them.`;
  }
  return { status, headline, keysPinned, streams, malformedRecords: malformed.length, malformed: malformed.slice(0, REPORT_LIMITS.malformedListed) };
}

interface IndicatorAcc {
  tally: Tally;
  events: Set<string>;
}

function addIndicator(map: Map<string, IndicatorAcc>, value: string, o: Occ): void {
  let acc = map.get(value);
  if (!acc) map.set(value, (acc = { tally: newTally(), events: new Set() }));
  tally(acc.tally, o);
  acc.events.add(o.rec.event);
}

function indicatorList(map: Map<string, IndicatorAcc>, skip: ReadonlySet<string>): { list: IndicatorValue[]; omitted: number } {
  const all = [...map]
    .filter(([value]) => !skip.has(value))
    .map(([value, acc]): IndicatorValue => ({
      value,
      occurrences: acc.tally.occurrences,
      firstSeen: iso(acc.tally.first),
      lastSeen: iso(acc.tally.last),
      events: [...acc.events].sort(),
      actions: acc.tally.actions,
    }));
  sortedByCount(all, (a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return { list: all.slice(0, REPORT_LIMITS.indicatorsPerList), omitted: Math.max(0, all.length - REPORT_LIMITS.indicatorsPerList) };
}

interface GroupAcc {
  event: string;
  prefix: string;
  route: string;
  bucket: number;
  tally: Tally;
  rules: Set<string>;
  uas: Set<string>;
  services: Set<string>;
}

interface TypeAcc {
  tally: Tally;
  prefixes: Set<string>;
  routes: Set<string>;
  rules: Set<string>;
  suppressed: number;
}

/** A timeline entry with the rank that decides what survives the entry limit. */
interface Candidate {
  entry: TimelineEntry;
  rank: number;
}

/**
 * Builds the incident report for a window from verified input (DESIGN §4 envelopes). Pure: the
 * same records and options give the same report, except `generatedAt`.
 *
 * @throws ReportOptionsError when the options cannot describe a window (reversed, or too many buckets).
 */
export function buildIncidentReport(source: ReportSource, options: ReportOptions = {}): IncidentReport {
  const { recs, distinct, unusable, bySeq } = collect(source);
  const { sinceMs, untilMs, window } = resolveWindow(options, recs);
  const meta = streamMeta(bySeq);
  const states = new Map(source.verify.streams.map((s) => [s.stream, s.state] as const));
  const inWindow = recs.filter((r) => r.tsMs >= sinceMs && r.tsMs <= untilMs);

  // Bucket size from the span the chart shows: the window when bounded, else the data.
  let firstMs = Infinity;
  let lastMs = -Infinity;
  for (const r of inWindow) {
    if (!isSecurityEvent(r.event) && r.event !== EVENT_EVENTS_SUPPRESSED) continue;
    if (r.tsMs < firstMs) firstMs = r.tsMs;
    if (r.tsMs > lastMs) lastMs = r.tsMs;
  }
  const spanStart = Number.isFinite(sinceMs) ? sinceMs : firstMs;
  const spanEnd = Number.isFinite(untilMs) ? untilMs : lastMs;
  const haveSpan = Number.isFinite(spanStart) && Number.isFinite(spanEnd);
  const bucketSeconds = options.bucketSeconds ?? (haveSpan ? chooseBucketSeconds(spanEnd - spanStart) : 3600);
  if (!(Number.isSafeInteger(bucketSeconds) && bucketSeconds > 0)) throw new ReportOptionsError('the bucket must be a positive whole number of seconds');
  const bucketMs = bucketSeconds * 1000;
  const firstBucket = haveSpan ? bucketStart(spanStart, bucketMs) : 0;
  const bucketCount = haveSpan ? (bucketStart(spanEnd, bucketMs) - firstBucket) / bucketMs + 1 : 0;
  if (bucketCount > REPORT_LIMITS.buckets) {
    throw new ReportOptionsError(`a ${formatDuration(bucketSeconds)} bucket splits this window into ${fmt(bucketCount)} buckets (at most ${REPORT_LIMITS.buckets}): choose a larger --bucket or a shorter window`);
  }

  const prefixes = new Capped(REPORT_LIMITS.distinctPrefixes);
  const routes = new Capped(REPORT_LIMITS.distinctRoutes);
  const uas = new Capped(REPORT_LIMITS.distinctUaFamilies);
  const rules = new Capped(REPORT_LIMITS.distinctRules);
  const types = new Capped(REPORT_LIMITS.distinctTypes);
  const accounts = new Capped(REPORT_LIMITS.distinctAccounts);
  const oddCounts = { count: 0 };
  let groupsFolded = 0;

  const total = newTally();
  let blockFailed = 0;
  const access = { requests: 0, blocked: 0, serverErrors: 0 };
  const byType = new Map<string, TypeAcc>();
  const groups = new Map<string, GroupAcc>();
  const ind = { prefixes: new Map<string, IndicatorAcc>(), uas: new Map<string, IndicatorAcc>(), rules: new Map<string, IndicatorAcc>(), routes: new Map<string, IndicatorAcc>() };
  const byStream = new Map<string, number>();
  const byService = new Map<string, { occurrences: number; suppressed: number }>();
  const bucketOcc = new Map<number, Map<string, number>>();
  const bucketSuppressed = new Map<number, number>();
  const bucketSuspect = new Map<number, number>();
  const suppressed = { total: 0, records: 0, byEvent: new Map<string, number>(), unattributed: 0 };
  const candidates: Candidate[] = [];
  const seenType = new Set<string>();
  const seenTypePrefix = new Set<string>();

  const typeAcc = (event: string): TypeAcc => {
    let acc = byType.get(event);
    if (!acc) byType.set(event, (acc = { tally: newTally(), prefixes: new Set(), routes: new Set(), rules: new Set(), suppressed: 0 }));
    return acc;
  };
  const serviceAcc = (stream: string): { occurrences: number; suppressed: number } => {
    const name = meta.get(stream)?.service ?? UNKNOWN_SERVICE;
    let acc = byService.get(name);
    if (!acc) byService.set(name, (acc = { occurrences: 0, suppressed: 0 }));
    return acc;
  };
  let entriesDropped = 0;
  const byRankThenTime = (a: Candidate, b: Candidate): number => a.rank - b.rank || (a.entry.ts < b.entry.ts ? -1 : a.entry.ts > b.entry.ts ? 1 : 0);
  const entry = (rank: number, rec: Rec, kind: TimelineEntry['kind'], text: string, extra: { event?: string; prefix?: string; route?: string } = {}): void => {
    // A flood of escalations must not grow the candidate list without end: records arrive in time
    // order, so keeping the best by (rank, time) now gives the same result as at the end.
    if (candidates.length >= 4 * REPORT_LIMITS.timelineEntries) {
      candidates.sort(byRankThenTime);
      entriesDropped += candidates.length - REPORT_LIMITS.timelineEntries;
      candidates.length = REPORT_LIMITS.timelineEntries;
    }
    candidates.push({
      rank,
      entry: {
        ts: iso(rec.tsMs), kind, event: extra.event ?? null, text, sourcePrefix: extra.prefix ?? null, route: extra.route ?? null,
        stream: rec.stream, suspect: states.get(rec.stream) === 'tampered',
      },
    });
  };

  for (const rec of inWindow) {
    const evidence = evidenceOf(states.get(rec.stream));
    if (rec.event === INTEGRITY_EVENTS.streamStart || rec.event === INTEGRITY_EVENTS.streamEnd) {
      const m = meta.get(rec.stream);
      const what = rec.event === INTEGRITY_EVENTS.streamStart ? 'started' : 'stopped cleanly';
      entry(1, rec, 'service', `${m?.service ?? UNKNOWN_SERVICE}${m?.host ? ` on ${m.host}` : ''} ${what} (event stream ${rec.stream.slice(0, 8)}…)`);
      continue;
    }
    if (rec.event.startsWith('nis2.integrity.')) continue;
    if (rec.event === EVENT_HTTP_ACCESS) {
      access.requests++;
      if (rec.attrs[ATTR_NIS2_ACTION] === 'block') access.blocked++;
      const status = rec.attrs[ATTR_HTTP_RESPONSE_STATUS_CODE];
      if (typeof status === 'number' && status >= 500) access.serverErrors++;
      continue;
    }
    const bucket = bucketStart(rec.tsMs, bucketMs);
    if (rec.event === EVENT_EVENTS_SUPPRESSED) {
      const raw = rec.attrs[ATTR_NIS2_SUPPRESSED_COUNT];
      const n = typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0 && raw <= MAX_AGGREGATE ? raw : 0;
      if (n === 0) oddCounts.count++;
      suppressed.total += n;
      suppressed.records++;
      let attributed = 0;
      const parts: string[] = [];
      for (const [key, value] of Object.entries(rec.attrs)) {
        if (!key.startsWith('nis2.suppressed.by_event.') || typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) continue;
        const event = types.key(clean(key.slice('nis2.suppressed.by_event.'.length)));
        const share = Math.min(value, n - attributed);
        if (share <= 0) break;
        attributed += share;
        suppressed.byEvent.set(event, (suppressed.byEvent.get(event) ?? 0) + share);
        typeAcc(event).suppressed += share;
        parts.push(`${eventTypeInfo(event).label} ${fmt(share)}`);
      }
      suppressed.unattributed += n - attributed;
      bucketSuppressed.set(bucket, (bucketSuppressed.get(bucket) ?? 0) + n);
      serviceAcc(rec.stream).suppressed += n;
      entry(1, rec, 'suppressed', `${fmt(n)} event(s) not individually recorded (flood control)${parts.length ? `: ${parts.join(', ')}` : ''}`, { event: EVENT_EVENTS_SUPPRESSED });
      continue;
    }

    const { n, summary } = countOf(rec, oddCounts);
    const event = types.key(clean(rec.event));
    const prefix = prefixes.key(prefixOf(rec.attrs));
    const route = routes.key(routeOf(rec.attrs));
    const rawUa = rec.attrs[ATTR_USER_AGENT_ORIGINAL];
    const ua = typeof rawUa === 'string' ? uas.key(clean(uaFamily(rawUa))) : undefined;
    const rawRule = str(rec.attrs, ATTR_SECURITY_RULE_NAME);
    const rule = rawRule ? rules.key(clean(rawRule)) : undefined;
    const action = actionOf(rec.attrs);
    const service = meta.get(rec.stream)?.service ?? UNKNOWN_SERVICE;
    const o: Occ = { rec: { ...rec, event }, n, summary, action, evidence, prefix, route, ua, rule, service };

    tally(total, o);
    if (rec.attrs[ATTR_NIS2_BLOCK_FAILED] === true) blockFailed += n;
    for (const k of ['user.name.hash', 'user.id.hash']) {
      const v = str(rec.attrs, k);
      if (v) accounts.key(`${k}:${v}`);
    }
    const t = typeAcc(event);
    tally(t.tally, o);
    t.prefixes.add(prefix);
    t.routes.add(route);
    if (rule) t.rules.add(rule);
    byStream.set(rec.stream, (byStream.get(rec.stream) ?? 0) + n);
    serviceAcc(rec.stream).occurrences += n;

    let gkey = `${event}\u0000${prefix}\u0000${route}\u0000${bucket}`;
    let g = groups.get(gkey);
    if (!g) {
      let gPrefix = prefix;
      let gRoute = route;
      if (groups.size >= REPORT_LIMITS.groups) {
        // Past the limit a new combination joins its type's catch-all group of the bucket.
        groupsFolded++;
        gPrefix = OTHER;
        gRoute = OTHER;
        gkey = `${event}\u0000${OTHER}\u0000${OTHER}\u0000${bucket}`;
        g = groups.get(gkey);
      }
      if (!g) {
        g = { event, prefix: gPrefix, route: gRoute, bucket, tally: newTally(), rules: new Set(), uas: new Set(), services: new Set() };
        groups.set(gkey, g);
      }
    }
    tally(g.tally, o);
    if (rule) g.rules.add(rule);
    if (ua) g.uas.add(ua);
    g.services.add(service);

    addIndicator(ind.prefixes, prefix, o);
    addIndicator(ind.routes, route, o);
    if (ua) addIndicator(ind.uas, ua, o);
    if (rule) addIndicator(ind.rules, rule, o);

    let counts = bucketOcc.get(bucket);
    if (!counts) bucketOcc.set(bucket, (counts = new Map()));
    counts.set(event, (counts.get(event) ?? 0) + n);
    if (evidence === 'suspect') bucketSuspect.set(bucket, (bucketSuspect.get(bucket) ?? 0) + n);

    // Timeline: what a responder needs to retell the incident, not every record.
    const label = eventTypeInfo(event).label;
    const where = `${prefix !== NONE ? ` from ${prefix}` : ''}${route !== NONE ? ` on ${route}` : ''}`;
    const did = action === 'block' ? 'blocked' : action === 'monitor' ? 'monitored only (not blocked)' : action === 'allow' ? 'allowed' : 'recorded';
    const extra = { event, prefix, route };
    if (event === EVENT_DEFENSE_DEGRADED || event === EVENT_DEFENSE_RECOVERED) {
      const reason = str(rec.attrs, 'nis2.reason');
      entry(1, rec, 'defense', `${label}${rule ? `: ${rule}` : ''}${reason ? ` (${clean(reason)})` : ''}`, extra);
    } else if (!seenType.has(event)) {
      entry(1, rec, 'first-seen', `First ${label}${where}, ${did}${summary ? ` (summary of ${fmt(n)})` : ''}`, extra);
    } else if (rec.severity === 'ERROR' || rec.attrs[ATTR_NIS2_BLOCK_FAILED] === true || (eventTypeInfo(event).intent === 'strong' && action !== 'block')) {
      entry(1, rec, 'escalation', `${label}${where}, ${did}${rec.attrs[ATTR_NIS2_BLOCK_FAILED] === true ? ', BLOCK FAILED (response already started)' : ''}`, extra);
    } else if (!seenTypePrefix.has(`${event}\u0000${prefix}`)) {
      entry(2, rec, 'first-seen', `${label}: new source${where}, ${did}`, extra);
    }
    seenType.add(event);
    seenTypePrefix.add(`${event}\u0000${prefix}`);
  }

  // Integrity problems at a known time inside the window go on the timeline too.
  const integrity = integritySection(
    source.verify,
    [...source.read.malformed, ...source.verify.malformed].map((m) => ({ reason: clean(m.reason), at: clean(formatLocation(m.at)) })),
    meta,
    bySeq,
    byStream,
  );
  for (const s of integrity.streams) {
    for (const p of s.problems) {
      if (p.severity !== 'tamper' || p.at === null) continue;
      const ms = Date.parse(p.at);
      if (ms < sinceMs || ms > untilMs) continue;
      candidates.push({
        rank: 0,
        entry: {
          ts: p.at, kind: 'integrity', event: null, stream: s.stream, sourcePrefix: null, route: null, suspect: true,
          text: `Integrity: ${p.kind} at seq ${p.from === p.to ? p.from : `${p.from}..${p.to}`} of ${s.service ?? UNKNOWN_SERVICE} (${p.detail})`,
        },
      });
    }
  }

  // Timeline entries: the most important first, then in time order.
  const byRank = [...candidates].sort(byRankThenTime);
  const kept = byRank.slice(0, REPORT_LIMITS.timelineEntries).map((c) => c.entry);
  kept.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));

  // Chart series: the largest types, the rest folded.
  const typeOrder = [...byType].filter(([, acc]) => acc.tally.occurrences > 0)
    .sort((a, b) => b[1].tally.occurrences - a[1].tally.occurrences || (a[0] < b[0] ? -1 : 1)).map(([event]) => event);
  const shown = typeOrder.length > REPORT_LIMITS.chartSeries ? typeOrder.slice(0, REPORT_LIMITS.chartSeries - 1) : typeOrder;
  const folded = typeOrder.length > shown.length;
  const series = folded ? [...shown, OTHER_TYPES] : shown;
  const buckets = [];
  for (let i = 0; i < bucketCount; i++) {
    const start = firstBucket + i * bucketMs;
    const counts = bucketOcc.get(start);
    const row = shown.map((event) => counts?.get(event) ?? 0);
    if (folded) {
      let rest = 0;
      for (const [event, n] of counts ?? []) if (!shown.includes(event)) rest += n;
      row.push(rest);
    }
    buckets.push({ start: iso(start), counts: row, notIndividuallyRecorded: bucketSuppressed.get(start) ?? 0, suspect: bucketSuspect.get(start) ?? 0 });
  }

  // Incident groups: keep the largest, show them in time order.
  const ranked = [...groups.values()].map((g) => ({ g, occurrences: g.tally.occurrences }));
  sortedByCount(ranked, (a, b) => a.g.tally.first - b.g.tally.first);
  const keptGroups = ranked.slice(0, REPORT_LIMITS.incidents).map((r) => r.g);
  const omittedGroups = ranked.slice(REPORT_LIMITS.incidents);
  keptGroups.sort((a, b) => a.tally.first - b.tally.first || b.tally.occurrences - a.tally.occurrences || (a.event < b.event ? -1 : a.event > b.event ? 1 : 0) || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0) || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
  const width = String(keptGroups.length).length;
  const incidents: IncidentGroup[] = keptGroups.map((g, i) => ({
    id: `I${String(i + 1).padStart(Math.max(3, width), '0')}`,
    event: g.event,
    sourcePrefix: g.prefix,
    route: g.route,
    bucketStart: iso(g.bucket),
    bucketEnd: iso(g.bucket + bucketMs),
    occurrences: g.tally.occurrences,
    records: g.tally.records,
    summarised: g.tally.summarised,
    firstSeen: iso(g.tally.first),
    lastSeen: iso(g.tally.last),
    severity: g.tally.severity,
    actions: g.tally.actions,
    rules: [...g.rules].sort(),
    uaFamilies: [...g.uas].sort(),
    services: [...g.services].sort(),
    evidence: g.tally.evidence,
  }));

  const eventTypes: EventTypeSummary[] = typeOrder.concat([...byType.keys()].filter((e) => !typeOrder.includes(e)).sort()).map((event) => {
    const acc = byType.get(event)!;
    const t = acc.tally;
    return {
      event,
      label: eventTypeInfo(event).label,
      severity: t.severity,
      occurrences: t.occurrences,
      records: t.records,
      summarised: t.summarised,
      notIndividuallyRecorded: acc.suppressed,
      firstSeen: t.records ? iso(t.first) : null,
      lastSeen: t.records ? iso(t.last) : null,
      actions: t.actions,
      sourcePrefixes: [...acc.prefixes].filter((p) => p !== NONE && p !== SEALED).length,
      routes: [...acc.routes].filter((r) => r !== NONE).length,
      rules: [...acc.rules].sort(),
      evidence: t.evidence,
    };
  });

  const skipNone = new Set([NONE]);
  const prefixInd = indicatorList(ind.prefixes, new Set([NONE, SEALED]));
  const uaInd = indicatorList(ind.uas, skipNone);
  const ruleInd = indicatorList(ind.rules, skipNone);
  const routeInd = indicatorList(ind.routes, skipNone);

  // Affected services: those with events in the window; the worst integrity state of their streams.
  const services: AffectedService[] = [];
  const serviceStreams = new Map<string, { streams: string[]; hosts: Set<string>; worst: StreamReport['state'] }>();
  for (const s of source.verify.streams) {
    const m = meta.get(s.stream);
    const name = m?.service ?? UNKNOWN_SERVICE;
    let acc = serviceStreams.get(name);
    if (!acc) serviceStreams.set(name, (acc = { streams: [], hosts: new Set(), worst: s.state }));
    acc.streams.push(s.stream);
    if (m?.host) acc.hosts.add(m.host);
    if (STATE_RANK[s.state] > STATE_RANK[acc.worst]) acc.worst = s.state;
  }
  for (const [name, counts] of byService) {
    if (counts.occurrences + counts.suppressed === 0) continue;
    const acc = serviceStreams.get(name);
    services.push({
      name,
      hosts: acc ? [...acc.hosts].sort() : [],
      streams: acc ? acc.streams : [],
      occurrences: counts.occurrences,
      notIndividuallyRecorded: counts.suppressed,
      integrity: acc?.worst ?? 'cannot-verify',
    });
  }
  sortedByCount(services, (a, b) => (a.name < b.name ? -1 : 1));
  const quiet = [...serviceStreams.keys()].filter((name) => !services.some((s) => s.name === name)).sort();

  window.firstEvent = Number.isFinite(firstMs) ? iso(firstMs) : null;
  window.lastEvent = Number.isFinite(lastMs) ? iso(lastMs) : null;

  const summary = {
    occurrences: total.occurrences,
    records: total.records,
    summarised: total.summarised,
    notIndividuallyRecorded: suppressed.total,
    total: total.occurrences + suppressed.total,
    eventTypes: byType.size,
    sourcePrefixes: [...ind.prefixes.keys()].filter((p) => p !== NONE && p !== SEALED).length,
    routes: [...ind.routes.keys()].filter((r) => r !== NONE).length,
    services: services.length,
    accountsTargeted: accounts.size,
    actions: total.actions,
    blockFailed,
    evidence: total.evidence,
    access,
  };

  const notes: string[] = [
    'Counts are occurrences. A flood-control summary record (nis2.aggregate.count = N) stands for N repeats after the first occurrence, which was recorded on its own; a summary is counted at the time it was written (up to nis2.aggregate.window_s after the repeats) and under the source prefix and route of the first occurrence of its window.',
    'Events dropped by flood control (nis2.events.suppressed) were never individually recorded: they are known only as counts per event type, appear in totals and in the chart as "not individually recorded", and can be attributed to no source, route or account.',
    'Window bounds are inclusive. Records that appear more than once (replays) are counted once. Per-request access records (nis2.http.access) are traffic context, not incidents.',
    'Source prefixes are the anonymised client.address the writer recorded (IPv4 /24, IPv6 /48 by default): networks, not people. User-Agent families carry no version.',
  ];
  if (summary.evidence.suspect > 0) notes.push(`${fmt(summary.evidence.suspect)} occurrence(s) come from streams where tampering was found: they are included and marked suspect.`);
  if (summary.evidence.unverified > 0) notes.push(`${fmt(summary.evidence.unverified)} occurrence(s) come from streams that could not be verified.`);
  if (oddCounts.count > 0) notes.push(`${oddCounts.count} record(s) carried an unusable nis2.aggregate.count or nis2.suppressed.count and were counted as one occurrence (or none, for a suppressed count).`);
  for (const [name, cap] of [['source prefixes', prefixes], ['routes', routes], ['User-Agent families', uas], ['rule names', rules], ['event types', types]] as const) {
    if (cap.overflowed > 0) notes.push(`More than ${fmt(cap.max)} distinct ${name}: ${fmt(cap.overflowed)} record(s) past the limit are counted under "${OTHER}".`);
  }
  if (accounts.overflowed > 0) notes.push(`More than ${fmt(accounts.max)} distinct accounts: the count of accounts is a lower bound.`);
  if (groupsFolded > 0) notes.push(`More than ${fmt(REPORT_LIMITS.groups)} incident groups: ${fmt(groupsFolded)} record(s) were grouped under "${OTHER}" source and route.`);
  if (quiet.length > 0) notes.push(`Services in the input without any security event in the window: ${quiet.join(', ')}.`);
  if (unusable > 0) notes.push(`${fmt(unusable)} record(s) have a broken envelope (no time, event or attrs) and could not be counted; the integrity section names them.`);

  const base: Omit<IncidentReport, 'art23'> = {
    schema: REPORT_SCHEMA_ID,
    generatedAt: iso(options.generatedAt ?? Date.now()),
    generator: { name: PACKAGE_NAME, version: PACKAGE_VERSION },
    window,
    inputs: {
      files: (source.read.files ?? []).map((f) => ({ path: f.path, format: f.format, records: f.records, skipped: f.skipped, malformed: f.malformed })),
      envelopes: source.read.records.length,
      distinctRecords: distinct,
      skipped: source.read.skipped,
      unusable,
    },
    integrity,
    summary,
    eventTypes,
    incidents,
    incidentsOmitted: { groups: omittedGroups.length, occurrences: omittedGroups.reduce((n, r) => n + r.occurrences, 0) },
    timeline: { bucketSeconds, series, buckets, entries: kept, entriesOmitted: entriesDropped + candidates.length - kept.length },
    indicators: {
      sourcePrefixes: prefixInd.list,
      uaFamilies: uaInd.list,
      rules: ruleInd.list,
      routes: routeInd.list,
      omitted: { sourcePrefixes: prefixInd.omitted, uaFamilies: uaInd.omitted, rules: ruleInd.omitted, routes: routeInd.omitted },
    },
    services,
    suppressed: {
      total: suppressed.total,
      records: suppressed.records,
      byEvent: [...suppressed.byEvent].map(([event, count]) => ({ event, count })).sort((a, b) => b.count - a.count || (a.event < b.event ? -1 : 1)),
      unattributed: suppressed.unattributed,
    },
    notes,
  };
  return { ...base, art23: assessArt23(base) };
}
