/**
 * The JSON document `nis2-otel report --format json` writes (schema `nis2-otel.report/1`), and the
 * data the HTML page is drawn from. `docs/report.schema.json` is the same contract as a JSON Schema
 * (draft 2020-12); a test validates real output against it, so the two cannot drift apart silently.
 *
 * Fields are only ever added within one schema version; a breaking change bumps the schema string.
 * Times are RFC 3339 UTC with milliseconds (`2026-11-25T10:00:00.123Z`). Every count of events is
 * a count of *occurrences*: a flood-control summary record (`nis2.aggregate.count` = N) stands for N
 * occurrences, and events the flood control dropped (`nis2.events.suppressed`) are counted apart,
 * as "not individually recorded".
 */

/** The schema identifier of this version. */
export const REPORT_SCHEMA_ID = 'nis2-otel.report/1';

/** RFC 3339 UTC timestamp with milliseconds. */
export type Timestamp = string;

/** What the guard did: `block` (the app never ran), `monitor` (would have blocked), `allow`, or anything else. */
export interface ActionCounts {
  block: number;
  monitor: number;
  allow: number;
  other: number;
}

/**
 * How far the evidence behind a count can be trusted, in occurrences:
 * - `verified`: from streams the verifier found intact (closed, or open: still being written);
 * - `unverified`: from streams whose signatures could not be checked (no key, unknown or wrong key);
 * - `suspect`: from streams where tampering was found. Reported anyway, always flagged.
 */
export interface EvidenceCounts {
  verified: number;
  unverified: number;
  suspect: number;
}

/** Verdict on the whole input: the worst verdict of any stream, or damaged input lines. */
export type IntegrityStatus = 'intact' | 'tampered' | 'unverifiable' | 'no-evidence';

/** One problem the verifier found in a stream (see `nis2-otel verify`). */
export interface IntegrityProblem {
  kind: string;
  severity: 'tamper' | 'unverifiable' | 'warning' | 'benign';
  /** Inclusive seq range of the stream. */
  from: number;
  to: number;
  detail: string;
  /** When the records at `from` carry a timestamp: when that was (unsigned if the record is damaged). */
  at: Timestamp | null;
}

/** The verifier's verdict on one stream, with what the stream says about its service. */
export interface StreamIntegrity {
  stream: string;
  state: 'intact-closed' | 'intact-open' | 'tampered' | 'cannot-verify';
  /** `service.name` from the stream's `stream_start`; null when that record is missing. */
  service: string | null;
  host: string | null;
  records: number;
  firstSeq: number;
  lastSeq: number;
  firstTs: Timestamp | null;
  lastTs: Timestamp | null;
  closed: boolean;
  key: { kid: string | null; alg: string | null; source: 'pinned' | 'hmac' | 'declared' | 'untrusted' | 'none' };
  /** Security event occurrences of this stream counted in the report's window. */
  occurrencesInWindow: number;
  problems: IntegrityProblem[];
}

/** Integrity first: what the verifier said, stated before any number it vouches for. */
export interface IntegritySection {
  status: IntegrityStatus;
  /** One sentence for the top of the report. */
  headline: string;
  /** Every stream was checked with a key the caller gave (`--public-key`, `--hmac-key`); otherwise integrity proves no authorship. */
  keysPinned: boolean;
  streams: StreamIntegrity[];
  /** Input records that belong to no stream (not JSON, no `stream`, bad `seq`): damage in an evidence file. */
  malformedRecords: number;
  /** Where the malformed records are (first few). */
  malformed: Array<{ reason: string; at: string }>;
}

/** The time window the report covers; bounds are inclusive. */
export interface ReportWindow {
  /** `all` (no bound given), `range` (`--since`/`--until`) or `hours` (`--hours` back from the anchor). */
  basis: 'all' | 'range' | 'hours';
  since: Timestamp | null;
  until: Timestamp | null;
  hours: number | null;
  /** For `hours` without `--until`: `--now`, or the newest event of the input (so a report is reproducible). */
  anchor: Timestamp | null;
  anchorSource: 'now-flag' | 'newest-event' | 'until-flag' | null;
  /** First and last security event occurrence inside the window. */
  firstEvent: Timestamp | null;
  lastEvent: Timestamp | null;
}

/** Input files and how much of them was used. */
export interface ReportInputs {
  files: Array<{ path: string; format: string; records: number; skipped: number; malformed: number }>;
  /** Envelopes read (all streams, all times, before de-duplication). */
  envelopes: number;
  /** Distinct records after dropping byte-identical replays (one per stream and seq). */
  distinctRecords: number;
  /** JSON lines and OTLP log records that are not envelopes (other logs). */
  skipped: number;
  /** Records with a broken envelope (no time, no event name, no attrs): counted by the verifier, not here. */
  unusable: number;
}

/** The headline numbers of the window. */
export interface ReportSummary {
  /** Security event occurrences recorded in the window (individual records plus what summaries stand for). */
  occurrences: number;
  /** Envelopes behind `occurrences`. */
  records: number;
  /** Occurrences known only from flood-control summary records (`nis2.aggregate.count`). */
  summarised: number;
  /** Events dropped by flood control: not individually recorded, known only as counts. */
  notIndividuallyRecorded: number;
  /** `occurrences + notIndividuallyRecorded`. */
  total: number;
  eventTypes: number;
  sourcePrefixes: number;
  routes: number;
  services: number;
  /** Distinct account pseudonyms (`user.name.hash`, `user.id.hash`) involved, e.g. by failed logins or a hijacked session. */
  accountsTargeted: number;
  actions: ActionCounts;
  /** Blocks the guard could not carry out (the response had already started: `nis2.block_failed`). */
  blockFailed: number;
  evidence: EvidenceCounts;
  /** Per-request access records (`nis2.http.access`) in the window, when the access log is on. */
  access: { requests: number; blocked: number; serverErrors: number };
}

/** One event type (event name) in the window. */
export interface EventTypeSummary {
  event: string;
  label: string;
  /** Highest envelope severity seen (`INFO` < `WARN` < `ERROR` < others). */
  severity: string;
  occurrences: number;
  records: number;
  summarised: number;
  notIndividuallyRecorded: number;
  firstSeen: Timestamp | null;
  lastSeen: Timestamp | null;
  actions: ActionCounts;
  sourcePrefixes: number;
  routes: number;
  rules: string[];
  evidence: EvidenceCounts;
}

/** Occurrences of one event type from one source prefix on one route within one time bucket. */
export interface IncidentGroup {
  /** Stable within one report: `I` + rank by time. */
  id: string;
  event: string;
  /** The anonymised `client.address` (e.g. `203.0.113.0`); `(none)`, `(sealed)` or `(other)`. */
  sourcePrefix: string;
  /** `http.route`, else `url.path`; `(none)` for events without a request, `(other)` past the limit. */
  route: string;
  bucketStart: Timestamp;
  bucketEnd: Timestamp;
  occurrences: number;
  records: number;
  summarised: number;
  firstSeen: Timestamp;
  lastSeen: Timestamp;
  severity: string;
  actions: ActionCounts;
  rules: string[];
  uaFamilies: string[];
  services: string[];
  evidence: EvidenceCounts;
}

/** A notable moment, in time order. */
export interface TimelineEntry {
  ts: Timestamp;
  kind: 'first-seen' | 'escalation' | 'defense' | 'suppressed' | 'service' | 'integrity';
  event: string | null;
  text: string;
  sourcePrefix: string | null;
  route: string | null;
  stream: string | null;
  /** The record is in a stream where tampering was found. */
  suspect: boolean;
}

/** Occurrences per time bucket and event type: the chart's data. */
export interface Timeline {
  bucketSeconds: number;
  /** Event types in the order of `buckets[].counts`. */
  series: string[];
  buckets: Array<{ start: Timestamp; counts: number[]; notIndividuallyRecorded: number; suspect: number }>;
  entries: TimelineEntry[];
  /** Entries left out past the limit. */
  entriesOmitted: number;
}

/** One indicator value with where it was seen. */
export interface IndicatorValue {
  value: string;
  occurrences: number;
  firstSeen: Timestamp;
  lastSeen: Timestamp;
  events: string[];
  actions: ActionCounts;
}

/** Indicators of compromise, each list by occurrences, largest first. */
export interface Indicators {
  /** Anonymised source prefixes (IPv4 /24, IPv6 /48 by default), never full addresses. */
  sourcePrefixes: IndicatorValue[];
  /** User-Agent families (browser/OS without versions, or the product token such as `curl`). */
  uaFamilies: IndicatorValue[];
  /** `security_rule.name` of the rules that fired. */
  rules: IndicatorValue[];
  routes: IndicatorValue[];
  /** Values left out past the per-list limit. */
  omitted: { sourcePrefixes: number; uaFamilies: number; rules: number; routes: number };
}

/** A service whose streams are in the input (`service.name` of `stream_start`). */
export interface AffectedService {
  name: string;
  hosts: string[];
  streams: string[];
  occurrences: number;
  notIndividuallyRecorded: number;
  /** Worst integrity state of its streams. */
  integrity: StreamIntegrity['state'];
}

/** Flood-control drops: counted by the writer, never individually recorded. */
export interface SuppressedSummary {
  total: number;
  /** `nis2.events.suppressed` records behind the total. */
  records: number;
  byEvent: Array<{ event: string; count: number }>;
  /** Part of the total no per-event count accounts for. */
  unattributed: number;
}

/** An answer pre-filled from the evidence; a person must confirm it before it is sent. */
export interface PrefilledAnswer<T extends string> {
  answer: T;
  evidence: string[];
  toConfirm: true;
}

/** Severity pre-filled from the evidence, with every rule that raised it. */
export interface SeverityAssessment {
  level: 'none' | 'low' | 'medium' | 'high';
  reasons: Array<{ level: 'low' | 'medium' | 'high'; text: string }>;
  toConfirm: true;
}

/** The three stages of NIS2 Art. 23(4), pre-filled. Deadlines are null when the window has no event. */
export interface Art23Stages {
  /** When the entity became aware, at the earliest: the first event of the window. */
  awareness: { at: Timestamp | null; basis: string };
  earlyWarning: {
    /** Art. 23(4)(a): within 24 hours of becoming aware. */
    deadline: Timestamp | null;
    suspectedMalicious: PrefilledAnswer<'yes' | 'unclear' | 'no'>;
    crossBorderImpact: PrefilledAnswer<'possible' | 'unknown' | 'no-evidence'>;
  };
  notification: {
    /** Art. 23(4)(b): within 72 hours of becoming aware. */
    deadline: Timestamp | null;
    initialAssessment: string;
    severity: SeverityAssessment;
    impact: string[];
    indicators: string[];
    toConfirm: true;
  };
  finalReport: {
    /** Art. 23(4)(d): one month after the incident notification (taken at its deadline). */
    deadline: Timestamp | null;
    description: string;
    rootCause: { text: string; evidence: string[] };
    mitigations: { applied: string[]; toComplete: string[] };
    crossBorderImpact: string;
    toComplete: string[];
  };
}

/** The whole report. */
export interface IncidentReport {
  schema: typeof REPORT_SCHEMA_ID;
  generatedAt: Timestamp;
  generator: { name: string; version: string };
  window: ReportWindow;
  inputs: ReportInputs;
  integrity: IntegritySection;
  summary: ReportSummary;
  eventTypes: EventTypeSummary[];
  incidents: IncidentGroup[];
  /** Groups left out past the limit (the largest are kept), and the occurrences they hold. */
  incidentsOmitted: { groups: number; occurrences: number };
  timeline: Timeline;
  indicators: Indicators;
  services: AffectedService[];
  suppressed: SuppressedSummary;
  art23: Art23Stages;
  /** How the numbers were made, and anything odd met on the way. */
  notes: string[];
}
