import { hash } from 'node:crypto';
import { ATTR_NIS2_CHECKPOINT_INTERVAL_S, ATTR_NIS2_PUBLIC_KEY } from '../semconv.js';
import { canonicalJson } from './canonical.js';
import { fromBase64Any } from './encoding.js';
import { CHAIN_ALG, ENVELOPE_VERSION, INTEGRITY_EVENTS } from './envelope.js';
import { Ed25519VerifyingKey, HmacSigningKey, KeyFormatError, readPemKey, type VerifyingKey } from './keys.js';

/**
 * Verdict for one stream.
 * - `intact-closed`: every record verified, ends with a signed `nis2.integrity.stream_end`.
 * - `intact-open`: no evidence of tampering, but no `stream_end` (still running, crashed, or cut).
 * - `tampered`: at least one problem of severity `tamper`.
 * - `cannot-verify`: no tampering found, but the signatures could not be checked with a trusted key.
 */
export type StreamState = 'intact-closed' | 'intact-open' | 'tampered' | 'cannot-verify';

/**
 * What a verifier can find. Each kind has one fixed severity ({@link PROBLEM_SEVERITY}), so a reader
 * of the JSON output can decide on `severity` alone and still see the precise reason in `kind`.
 *
 * - `modified`: the bytes at this seq are not what the writer hashed (the next record's `prev`
 *   disagrees); a range `a..b` when neither side is vouched for by a signature.
 * - `bad-signature`: the signature does not verify (content or signature altered), or an
 *   integrity record is unsigned.
 * - `not-canonical`: the bytes are not RFC 8785 of their content (re-serialised).
 * - `missing`: seqs absent from the stream (deleted records).
 * - `reordered`: records carry another record's seq; they verify under the seq they were written with.
 * - `inserted`: different records claim one seq; the one the chain links is kept.
 * - `after-end`: records after the stream's `stream_end`.
 * - `truncated`: an open stream's checkpoints stopped for longer than its declared interval.
 * - `bad-checkpoint`: a checkpoint's `head` or `from`/`to` does not match the records it covers.
 * - `foreign-key`: a record signed with a key other than the stream's.
 * - `malformed`: a record of the stream lacks envelope fields or has wrong types.
 * - `unknown-key`: the stream's key is not among the pinned public keys.
 * - `wrong-key`: no signature verifies with the HMAC key given for the stream's kid.
 * - `no-key`: no key to check the signatures with (HMAC key not given, no key declared).
 * - `uncovered`: `chain` records no valid signature vouches for (an open stream's tail).
 * - `time-backwards`: `ts` decreases from one seq to the next.
 * - `duplicate`: the same bytes more than once for a seq (a replay).
 */
export type ProblemKind =
  | 'modified'
  | 'bad-signature'
  | 'not-canonical'
  | 'missing'
  | 'reordered'
  | 'inserted'
  | 'after-end'
  | 'truncated'
  | 'bad-checkpoint'
  | 'foreign-key'
  | 'malformed'
  | 'unknown-key'
  | 'wrong-key'
  | 'no-key'
  | 'uncovered'
  | 'time-backwards'
  | 'duplicate';

/**
 * `tamper` makes the stream `tampered`; `unverifiable` makes it `cannot-verify` (unless tampered);
 * `warning` and `benign` are reported and change nothing.
 */
export type ProblemSeverity = 'tamper' | 'unverifiable' | 'warning' | 'benign';

/** The severity of every problem kind. */
export const PROBLEM_SEVERITY: Readonly<Record<ProblemKind, ProblemSeverity>> = {
  modified: 'tamper',
  'bad-signature': 'tamper',
  'not-canonical': 'tamper',
  missing: 'tamper',
  reordered: 'tamper',
  inserted: 'tamper',
  'after-end': 'tamper',
  truncated: 'tamper',
  'bad-checkpoint': 'tamper',
  'foreign-key': 'tamper',
  malformed: 'tamper',
  'unknown-key': 'unverifiable',
  'wrong-key': 'unverifiable',
  'no-key': 'unverifiable',
  // An open stream's last records wait for the next checkpoint; the stream state says "open".
  uncovered: 'warning',
  // Signed records with a backwards clock are authentic: NTP steps do this. Reported, not damning.
  'time-backwards': 'warning',
  // A durable spool replays what it could not confirm; the same bytes twice prove nothing bad.
  duplicate: 'benign',
};

/** Where a record was read: file (or other source name), 1-based line, index within an OTLP line. */
export interface RecordLocation {
  source?: string;
  line?: number;
  index?: number;
}

/** One finding, always tied to a seq range (inclusive) of its stream. */
export interface Problem {
  kind: ProblemKind;
  severity: ProblemSeverity;
  from: number;
  to: number;
  detail: string;
  /** Where the records involved were read, when known. */
  at?: RecordLocation[];
}

/**
 * How the stream's key was established: `pinned` (given by the caller), `hmac` (the caller's HMAC
 * key), `declared` (the stream's own `stream_start`, not pinned: proves integrity, not authorship),
 * `untrusted` (declared but not among the pinned keys), `none` (no key for the stream's kid).
 */
export type KeySource = 'pinned' | 'hmac' | 'declared' | 'untrusted' | 'none';

/** The verdict and findings for one stream. */
export interface StreamReport {
  stream: string;
  state: StreamState;
  /** Distinct seqs present. */
  records: number;
  firstSeq: number;
  lastSeq: number;
  firstTs: string | undefined;
  lastTs: string | undefined;
  /** A verified `stream_end` is the stream's last record. */
  closed: boolean;
  key: { kid: string | undefined; alg: string | undefined; source: KeySource };
  checkpoints: number;
  problems: Problem[];
}

/** An input that could not be placed in any stream (not JSON, no `stream`, no valid `seq`). */
export interface MalformedRecord {
  reason: string;
  at?: RecordLocation;
  stream?: string;
}

/** The verifier's answer for a set of records. */
export interface VerifyReport {
  /** In order of first appearance in the input. */
  streams: StreamReport[];
  malformed: MalformedRecord[];
  /** Inputs seen, including duplicates and malformed ones. */
  records: number;
}

/** A record body with where it came from; `parsed` may carry `JSON.parse(body)` to skip a re-parse. */
export interface RecordInput {
  body: string;
  parsed?: unknown;
  source?: string;
  line?: number;
  index?: number;
}

/** An HMAC-SHA256 key, with the key id string configured on the signer (`NIS2_HMAC_KEY_ID`). */
export interface HmacKeyOption {
  /** Raw bytes, or base64/base64url text. */
  key: Uint8Array | string;
  /** The configured key id string; the envelope `kid` is derived from it. Defaults to the key itself. */
  keyId?: string;
}

/** Keys and tolerances for {@link verifyRecords}. */
export interface VerifyOptions {
  /**
   * Trusted Ed25519 public keys (raw 32 bytes, base64/base64url, or SPKI PEM). When any is given, a
   * stream whose `stream_start` declares another key is `cannot-verify` (`unknown-key`). Defaults to
   * none: each stream's declared key is used (integrity without proof of authorship).
   */
  publicKeys?: ReadonlyArray<Uint8Array | string | Ed25519VerifyingKey>;
  /** HMAC keys. Without the key an HMAC stream is `cannot-verify`, never intact. Defaults to none. */
  hmacKeys?: ReadonlyArray<HmacKeyOption | VerifyingKey>;
  /**
   * Slack over the stream's declared checkpoint interval before a late checkpoint counts as
   * truncation. Defaults to 5000 ms.
   */
  checkpointGraceMs?: number;
  /**
   * When set, an open stream whose last checkpoint is older than its interval (plus grace) at this
   * time is reported `truncated`: a live writer would have sent a heartbeat. Defaults to unset,
   * which suits archives of streams that ended long ago.
   */
  asOf?: Date | string | number;
}

const MAX_REORDER_DISTANCE = 16;
const MAX_REORDER_TRIALS = 4096;
const MAX_LOCATIONS = 20;
const INTEGRITY_PREFIX = 'nis2.integrity.';
const B64URL = /^[A-Za-z0-9_-]+$/;
const SPKI_PEM = '-----BEGIN PUBLIC KEY-----';

/**
 * Parses an Ed25519 public key as users pass it: base64/base64url of the raw 32 bytes (what
 * `stream_start` and `nis2-otel keygen` print), raw bytes, or an SPKI PEM. The error message never
 * repeats the input.
 */
export function parseEd25519PublicKey(material: Uint8Array | string): Ed25519VerifyingKey {
  if (typeof material !== 'string') return new Ed25519VerifyingKey(material);
  const text = material.trim();
  if (text.startsWith(SPKI_PEM)) {
    const der = readPemKey(text, 'public', 'ed25519').export({ format: 'der', type: 'spki' });
    return new Ed25519VerifyingKey(der.subarray(der.length - 32));
  }
  const bytes = fromBase64Any(text);
  if (!bytes) throw new KeyFormatError('expected base64/base64url of a 32-byte Ed25519 public key, or a PEM block');
  return new Ed25519VerifyingKey(bytes);
}

function toHmacKey(option: HmacKeyOption | VerifyingKey): VerifyingKey {
  if ('verify' in option) return option;
  const bytes = typeof option.key === 'string' ? fromBase64Any(option.key) : option.key;
  if (!bytes) throw new KeyFormatError('the HMAC key is not base64');
  return new HmacSigningKey(bytes, option.keyId);
}

/** The envelope fields as parsed, before their types are checked. */
interface RawEnvelope {
  v?: unknown;
  stream?: unknown;
  seq?: unknown;
  ts?: unknown;
  event?: unknown;
  severity?: unknown;
  attrs?: unknown;
  prev?: unknown;
  kid?: unknown;
  alg?: unknown;
  sig?: unknown;
}

/** The envelope after {@link shapeError} accepted it. */
interface CheckedEnvelope {
  v: number;
  stream: string;
  seq: number;
  ts: string;
  event: string;
  severity: string;
  attrs: Record<string, unknown>;
  prev: string;
  kid: string;
  alg: string;
  sig?: string;
}

interface Rec {
  readonly body: string;
  readonly env: RawEnvelope;
  readonly seq: number;
  readonly at: RecordLocation | undefined;
  readonly order: number;
  hash?: string;
}

type SigStatus = 'ok' | 'bad' | 'chain' | 'no-key' | 'foreign-key' | 'malformed';

interface Slot {
  readonly rec: Rec;
  readonly seq: number;
  readonly env: CheckedEnvelope | undefined;
  readonly shape: string | undefined;
  readonly canonical: boolean;
  readonly hash: string;
  /** `prev` matches the predecessor's hash; undefined when the predecessor is absent. */
  readonly linkOk: boolean | undefined;
  readonly sig: SigStatus;
  /** Date.parse(ts), NaN when malformed. */
  readonly tsMs: number;
  /** SHA-256 of the canonical form, computed only for non-canonical records. */
  canonicalHash?: string | null;
  /** The content is vouched for: its own signature, or a hash link from a vouched successor. */
  auth: boolean;
  /** Set when the record verifies under this other seq: it was renumbered. */
  signedAs: number | undefined;
}

interface Keyring {
  readonly pinned: ReadonlyMap<string, VerifyingKey>;
  readonly hmac: ReadonlyMap<string, VerifyingKey>;
  readonly pinsGiven: boolean;
  readonly graceMs: number;
  readonly asOfMs: number | undefined;
}

function sha256(body: string): string {
  return hash('sha256', body, 'base64url');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function keysSorted(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!keysSorted(item)) return false;
    return true;
  }
  let last: string | undefined;
  for (const key in value) {
    if (last !== undefined && !(last < key)) return false;
    last = key;
    if (!keysSorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * JCS(parsed) === body, byte for byte. JCS is JSON.stringify with keys sorted by UTF-16 code units,
 * so when the native serialiser reproduces the body and every object's keys are already in order
 * the body is canonical, without paying for a JS serialiser. Anything else (integer-like keys that
 * V8 reorders, surrogate escapes JCS rejects) takes the exact, slow path.
 */
function isCanonical(parsed: unknown, body: string): boolean {
  if (JSON.stringify(parsed) === body && !body.includes('\\ud')) return keysSorted(parsed);
  try {
    return canonicalJson(parsed) === body;
  } catch {
    return false;
  }
}

function withoutSig(env: RawEnvelope, seq?: number): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...env };
  delete copy['sig'];
  if (seq !== undefined) copy['seq'] = seq;
  return copy;
}

/**
 * UTF-8(JCS(envelope without sig)). For a canonical body this is the body minus its top-level
 * `,"sig":"…"` member: `sig` sorts after `severity`, so it is never first, and the members after it
 * (`stream`, `ts`, `v`) are strings or numbers, so the last textual match is the top-level one (a
 * quote inside a JSON string is always escaped).
 */
/**
 * JCS of a value, or undefined when it has none (a lone surrogate escaped as `\ud83d` is valid
 * JSON but not I-JSON, and RFC 8785 refuses it): such a record cannot carry a valid signature.
 */
function canonicalOrUndefined(value: unknown): string | undefined {
  try {
    return canonicalJson(value);
  } catch {
    return undefined;
  }
}

function signedBytes(slot: { rec: Rec; canonical: boolean }, env: CheckedEnvelope): Buffer | undefined {
  if (slot.canonical && env.sig !== undefined) {
    const member = `,"sig":"${env.sig}"`;
    const at = slot.rec.body.lastIndexOf(member);
    if (at !== -1 && slot.rec.body.startsWith(',"stream":', at + member.length)) {
      return Buffer.from(slot.rec.body.slice(0, at) + slot.rec.body.slice(at + member.length), 'utf8');
    }
  }
  const text = canonicalOrUndefined(withoutSig(env));
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

function tsOf(env: RawEnvelope): number {
  return typeof env.ts === 'string' ? Date.parse(env.ts) : NaN;
}

function shapeError(env: RawEnvelope, tsMs: number): string | undefined {
  if (env.v !== ENVELOPE_VERSION) return `unsupported envelope version ${JSON.stringify(env.v) ?? 'undefined'}`;
  if (Number.isNaN(tsMs)) return '`ts` is not an RFC 3339 timestamp';
  if (typeof env.event !== 'string' || env.event === '') return '`event` is missing';
  if (typeof env.severity !== 'string') return '`severity` is missing';
  if (!isObject(env.attrs)) return '`attrs` is not an object';
  if (typeof env.prev !== 'string') return '`prev` is missing';
  if (typeof env.kid !== 'string' || env.kid === '') return '`kid` is missing';
  if (env.alg === CHAIN_ALG) return env.sig === undefined ? undefined : 'a `chain` record carries a `sig`';
  if (env.alg !== 'Ed25519' && env.alg !== 'HMAC-SHA256') return `unknown \`alg\` ${JSON.stringify(env.alg) ?? 'undefined'}`;
  if (typeof env.sig !== 'string' || !B64URL.test(env.sig)) return '`sig` is missing or not base64url';
  // One spelling only: base64url's unused trailing bits could otherwise change the bytes of a
  // record without changing the signature it decodes to.
  if (Buffer.from(env.sig, 'base64url').toString('base64url') !== env.sig) return '`sig` is not in canonical base64url';
  return undefined;
}

function problem(kind: ProblemKind, from: number, to: number, detail: string, at?: Array<RecordLocation | undefined>): Problem {
  const p: Problem = { kind, severity: PROBLEM_SEVERITY[kind], from, to, detail };
  const where = at?.filter((l): l is RecordLocation => l !== undefined);
  if (where && where.length > 0) p.at = where;
  return p;
}

/** `seq 3` or `seq 3..5`: how reports name a range. */
export function formatSeqRange(from: number, to: number): string {
  return from === to ? `seq ${from}` : `seq ${from}..${to}`;
}

/** Collapses sorted seqs into inclusive runs. */
function runs(seqs: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

function recHash(rec: Rec): string {
  return (rec.hash ??= sha256(rec.body));
}

/** Hash of the record's canonical form: what a successor's prev holds if only the bytes changed. */
function canonicalHashOf(slot: Slot): string | null {
  if (slot.canonicalHash === undefined) {
    try {
      slot.canonicalHash = sha256(canonicalJson(slot.rec.env));
    } catch {
      slot.canonicalHash = null;
    }
  }
  return slot.canonicalHash;
}

function locationOf(item: RecordInput): RecordLocation | undefined {
  if (item.source === undefined && item.line === undefined && item.index === undefined) return undefined;
  const at: RecordLocation = {};
  if (item.source !== undefined) at.source = item.source;
  if (item.line !== undefined) at.line = item.line;
  if (item.index !== undefined) at.index = item.index;
  return at;
}

/** `file:line#index`, the form reports and error messages use. */
export function formatLocation(at: RecordLocation | undefined): string {
  if (!at) return 'input';
  return `${at.source ?? 'input'}${at.line !== undefined ? `:${at.line}` : ''}${at.index !== undefined ? `#${at.index}` : ''}`;
}

/**
 * Verifies envelopes (DESIGN §4): groups them by stream, orders by seq, and checks canonical bytes,
 * the hash chain, signatures, checkpoints and the stream's end. Pure and synchronous; never throws
 * on bad records (they are reported), only on unusable keys in `options`.
 *
 * @param records raw envelope bodies, exactly as written (strings or {@link RecordInput}s); line
 *   order does not matter.
 */
export function verifyRecords(records: Iterable<string | RecordInput>, options: VerifyOptions = {}): VerifyReport {
  const pinned = new Map<string, VerifyingKey>();
  for (const k of options.publicKeys ?? []) {
    const key = k instanceof Ed25519VerifyingKey ? k : parseEd25519PublicKey(k);
    pinned.set(key.kid, key);
  }
  const hmac = new Map<string, VerifyingKey>();
  for (const k of options.hmacKeys ?? []) {
    const key = toHmacKey(k);
    hmac.set(key.kid, key);
  }
  const asOfMs = options.asOf === undefined ? undefined : new Date(options.asOf).getTime();
  const ring: Keyring = {
    pinned,
    hmac,
    pinsGiven: pinned.size > 0,
    graceMs: options.checkpointGraceMs ?? 5000,
    asOfMs: asOfMs !== undefined && Number.isFinite(asOfMs) ? asOfMs : undefined,
  };

  const streams = new Map<string, Rec[]>();
  const malformed: MalformedRecord[] = [];
  let order = 0;
  for (const input of records) {
    const item: RecordInput = typeof input === 'string' ? { body: input } : input;
    const at = locationOf(item);
    order++;
    if (typeof item.body !== 'string') {
      malformed.push({ reason: 'the record body is not a string', ...(at && { at }) });
      continue;
    }
    let parsed = item.parsed;
    if (parsed === undefined) {
      try {
        parsed = JSON.parse(item.body);
      } catch {
        malformed.push({ reason: 'not JSON', ...(at && { at }) });
        continue;
      }
    }
    if (!isObject(parsed)) {
      malformed.push({ reason: 'not a JSON object', ...(at && { at }) });
      continue;
    }
    const env = parsed as RawEnvelope;
    if (typeof env.stream !== 'string' || env.stream === '') {
      malformed.push({ reason: 'no `stream`', ...(at && { at }) });
      continue;
    }
    if (typeof env.seq !== 'number' || !Number.isSafeInteger(env.seq) || env.seq < 0) {
      malformed.push({ reason: '`seq` is not a non-negative integer', stream: env.stream, ...(at && { at }) });
      continue;
    }
    let list = streams.get(env.stream);
    if (!list) streams.set(env.stream, (list = []));
    list.push({ body: item.body, env, seq: env.seq, at, order });
  }

  const reports: StreamReport[] = [];
  for (const [id, recs] of streams) reports.push(verifyStream(id, recs, ring));
  return { streams: reports, malformed, records: order };
}

/**
 * Picks one record per seq: drops byte-identical replays (benign), and when different records
 * claim one seq keeps the one the chain links, reporting the others as inserted. `onFirst` runs as
 * soon as the lowest seq is settled, so later conflicts can be scored with the stream's key.
 */
function dedupe(recs: Rec[], problems: Problem[], sigValid: (rec: Rec) => boolean, onFirst: (first: Rec) => void): Rec[] {
  recs.sort((a, b) => a.seq - b.seq || a.order - b.order);
  const chosen: Rec[] = [];
  // Other, different records claiming the seq of chosen[index]; rare, so kept aside.
  const rivals = new Map<number, Rec[]>();
  const dupSeqs: number[] = [];
  const dupAt: Array<RecordLocation | undefined> = [];
  for (const rec of recs) {
    const last = chosen[chosen.length - 1];
    if (!last || last.seq !== rec.seq) {
      chosen.push(rec);
      continue;
    }
    const index = chosen.length - 1;
    const others = rivals.get(index);
    if (last.body === rec.body || others?.some((r) => r.body === rec.body)) {
      if (dupSeqs[dupSeqs.length - 1] !== rec.seq) dupSeqs.push(rec.seq);
      dupAt.push(rec.at);
    } else if (others) {
      others.push(rec);
    } else {
      rivals.set(index, [rec]);
    }
  }
  for (const [from, to] of runs(dupSeqs)) {
    problems.push(problem('duplicate', from, to, `the same bytes appear more than once for ${formatSeqRange(from, to)} (a replay; harmless)`, dupAt.slice(0, MAX_LOCATIONS)));
  }
  if (!rivals.has(0)) onFirst(chosen[0]!);
  for (const index of [...rivals.keys()].sort((a, b) => a - b)) {
    const group = [chosen[index]!, ...rivals.get(index)!];
    const seq = group[0]!.seq;
    const before = chosen[index - 1];
    const predHash = before && before.seq === seq - 1 ? recHash(before) : undefined;
    const next = chosen[index + 1];
    const successors = next && next.seq === seq + 1 ? [next, ...(rivals.get(index + 1) ?? [])] : [];
    // The successor's `prev` is the strongest evidence: it was fixed before a forger could know
    // which record to point it at. A valid signature comes next, then the predecessor link.
    const score = (rec: Rec): number => {
      const h = recHash(rec);
      let points = successors.some((r) => r.env.prev === h) ? 8 : 0;
      if (sigValid(rec)) points += 4;
      if (seq === 0 ? rec.env.prev === '' && rec.env.event === INTEGRITY_EVENTS.streamStart : rec.env.prev === predHash) points += 1;
      return points;
    };
    const scored = group.map((rec) => ({ rec, score: score(rec) }));
    let best = scored[0]!;
    for (const c of scored) if (c.score > best.score) best = c;
    chosen[index] = best.rec;
    if (index === 0) onFirst(best.rec);
    const rejected = scored.filter((c) => c !== best);
    const tie = rejected.some((c) => c.score === best.score);
    const signedToo = rejected.some((c) => sigValid(c.rec));
    problems.push(problem(
      'inserted',
      seq,
      seq,
      `${group.length} different records claim seq ${seq}; kept ${formatLocation(best.rec.at)}` +
        (tie ? ' (the first seen: nothing tells them apart)' : ', the one the chain links') +
        `, rejected ${rejected.map((c) => formatLocation(c.rec.at)).join(', ')}` +
        (signedToo ? '; a rejected record carries a valid signature: the signing key may be compromised' : ''),
      group.map((r) => r.at),
    ));
  }
  return chosen;
}

interface StreamKey {
  kid: string | undefined;
  alg: string | undefined;
  key: VerifyingKey | undefined;
  source: KeySource;
  declared: Ed25519VerifyingKey | undefined;
}

function declaredKey(env: RawEnvelope): Ed25519VerifyingKey | undefined {
  if (env.event !== INTEGRITY_EVENTS.streamStart || !isObject(env.attrs)) return undefined;
  const text = env.attrs[ATTR_NIS2_PUBLIC_KEY];
  if (typeof text !== 'string') return undefined;
  try {
    return parseEd25519PublicKey(text);
  } catch {
    return undefined;
  }
}

/**
 * The stream's key, from its first record's kid: the caller's HMAC key, a pinned key, or the key the
 * stream_start declares. With pins given, a declared key outside them makes the stream `untrusted`
 * even when its signatures are self-consistent: that is exactly what a forged stream looks like.
 */
function resolveKey(first: Rec, ring: Keyring): StreamKey {
  const kid = typeof first.env.kid === 'string' ? first.env.kid : undefined;
  const alg = typeof first.env.alg === 'string' ? first.env.alg : undefined;
  const declared = first.seq === 0 ? declaredKey(first.env) : undefined;
  const base = { kid, alg, declared };
  if (kid === undefined) return { ...base, key: undefined, source: 'none' };
  const mac = ring.hmac.get(kid);
  if (mac && alg !== 'Ed25519') return { ...base, key: mac, source: 'hmac' };
  const pin = ring.pinned.get(kid);
  if (ring.pinsGiven && alg !== 'HMAC-SHA256' && declared && !ring.pinned.has(declared.kid)) {
    return { ...base, key: declared.kid === kid ? declared : pin, source: 'untrusted' };
  }
  if (pin) return { ...base, key: pin, source: 'pinned' };
  if (declared && declared.kid === kid) return { ...base, key: declared, source: 'declared' };
  return { ...base, key: undefined, source: 'none' };
}

function verifySig(slot: { rec: Rec; canonical: boolean }, env: CheckedEnvelope, sk: StreamKey, asSeq?: number): boolean {
  if (!sk.key || sk.key.alg !== env.alg || env.sig === undefined) return false;
  const text = asSeq === undefined ? undefined : canonicalOrUndefined(withoutSig(env, asSeq));
  const data = asSeq === undefined ? signedBytes(slot, env) : text === undefined ? undefined : Buffer.from(text, 'utf8');
  if (data === undefined) return false;
  return sk.key.verify(data, Buffer.from(env.sig, 'base64url'));
}

function verifyStream(id: string, recs: Rec[], ring: Keyring): StreamReport {
  const problems: Problem[] = [];

  let sk: StreamKey | undefined;
  const sigValid = (rec: Rec): boolean => {
    if (!sk?.key || shapeError(rec.env, tsOf(rec.env)) !== undefined) return false;
    const env = rec.env as CheckedEnvelope;
    return env.alg !== CHAIN_ALG && env.kid === sk.kid && verifySig({ rec, canonical: isCanonical(rec.env, rec.body) }, env, sk);
  };
  const chosen = dedupe(recs, problems, sigValid, (first) => {
    sk = resolveKey(first, ring);
  });
  const key = sk!;

  // One pass: shape, canonical bytes, hash, link to the predecessor, signature.
  const slots: Slot[] = new Array(chosen.length);
  for (let i = 0; i < chosen.length; i++) {
    const rec = chosen[i]!;
    const tsMs = tsOf(rec.env);
    const shape = shapeError(rec.env, tsMs);
    const env = shape === undefined ? (rec.env as CheckedEnvelope) : undefined;
    const canonical = isCanonical(rec.env, rec.body);
    const h = recHash(rec);
    const before = i > 0 ? slots[i - 1]! : undefined;
    let linkOk: boolean | undefined;
    if (rec.seq === 0) linkOk = rec.env.prev === '';
    else if (before && before.seq === rec.seq - 1) linkOk = rec.env.prev === before.hash;
    let sig: SigStatus;
    if (!env) sig = 'malformed';
    else if (env.alg === CHAIN_ALG) sig = 'chain';
    else if (env.kid !== key.kid) sig = 'foreign-key';
    else if (!key.key) sig = 'no-key';
    else sig = verifySig({ rec, canonical }, env, key) ? 'ok' : 'bad';
    slots[i] = { rec, seq: rec.seq, env, shape, canonical, hash: h, linkOk, sig, tsMs, auth: false, signedAs: undefined };
  }
  const n = slots.length;

  // Authenticity flows backwards along intact links from every valid signature.
  for (let i = n - 1; i >= 0; i--) {
    const s = slots[i]!;
    const next = slots[i + 1];
    s.auth = s.sig === 'ok' || (next !== undefined && next.auth && next.linkOk === true && next.seq === s.seq + 1);
  }

  // An HMAC kid derives from a configured string, not from the key, so a wrong key under the right
  // key id fails every signature: say that once rather than call every record forged.
  const wrongKey = key.source === 'hmac' && slots.some((s) => s.sig === 'bad') && !slots.some((s) => s.sig === 'ok');
  const reordered = wrongKey ? new Set<number>() : detectReordering(slots, key, problems);

  // Records whose bytes differ from what the writer signed or chained.
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s.shape !== undefined) {
      problems.push(problem('malformed', s.seq, s.seq, s.shape, [s.rec.at]));
      continue;
    }
    if (reordered.has(s.seq)) continue;
    const env = s.env!;
    if (s.sig === 'bad' && !wrongKey) {
      problems.push(problem('bad-signature', s.seq, s.seq, `signature does not verify with key ${key.kid ?? '?'}: the content or the signature was altered`, [s.rec.at]));
    } else if (s.sig === 'foreign-key') {
      problems.push(problem('foreign-key', s.seq, s.seq, `signed with key ${env.kid}, but the stream signs with ${key.kid ?? '?'}`, [s.rec.at]));
    }
    if (env.alg === CHAIN_ALG && env.event.startsWith(INTEGRITY_PREFIX)) {
      problems.push(problem('bad-signature', s.seq, s.seq, `${env.event} is an integrity record and must be signed, but has alg "chain"`, [s.rec.at]));
    }
    if (!s.canonical) {
      const next = slots[i + 1];
      let note = '';
      if (next && next.seq === s.seq + 1 && next.linkOk === false) {
        note = canonicalHashOf(s) === next.rec.env.prev
          ? `; seq ${next.seq}'s prev matches its canonical form: the content is authentic, the bytes were re-serialised`
          : `; seq ${next.seq}'s prev matches neither these bytes nor their canonical form`;
      }
      problems.push(problem('not-canonical', s.seq, s.seq, `the bytes are not the RFC 8785 serialisation of their content${note}`, [s.rec.at]));
    }
  }

  // Broken links: blame the predecessor when the successor is vouched for.
  const blamed = new Set<number>();
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s.linkOk !== false || s.shape !== undefined) continue;
    if (s.seq === 0) {
      if (!reordered.has(0)) problems.push(problem('modified', 0, 0, 'seq 0 must have an empty prev', [s.rec.at]));
      continue;
    }
    const p = slots[i - 1]!;
    if (reordered.has(s.seq) || reordered.has(p.seq)) continue;
    if (!p.canonical && canonicalHashOf(p) === s.rec.env.prev) continue; // reported as not-canonical
    blamed.add(p.seq);
    if (s.auth) {
      problems.push(problem('modified', p.seq, p.seq, `seq ${s.seq}'s prev does not match the hash of seq ${p.seq}: seq ${p.seq} is not the record that was written`, [p.rec.at]));
    } else {
      problems.push(problem('modified', p.seq, s.seq, `chain broken between seq ${p.seq} and ${s.seq}, and neither is vouched for by a signature`, [p.rec.at, s.rec.at]));
    }
  }

  // Gaps. A missing tail cannot be seen; that is what stream_end and checkpoints are for.
  const firstSeq = slots[0]?.seq ?? 0;
  const lastSeq = slots[n - 1]?.seq ?? 0;
  if (firstSeq > 0) {
    problems.push(problem('missing', 0, firstSeq - 1, `${formatSeqRange(0, firstSeq - 1)} missing (including stream_start)`));
  }
  for (let i = 1; i < n; i++) {
    const a = slots[i - 1]!.seq;
    const b = slots[i]!.seq;
    if (b > a + 1) problems.push(problem('missing', a + 1, b - 1, `${formatSeqRange(a + 1, b - 1)} missing`, [slots[i - 1]!.rec.at, slots[i]!.rec.at]));
  }

  // Checkpoints: head is the covered record's hash; from/to count event records, 1-based.
  let checkpoints = 0;
  let lastCheckpoint: Slot | undefined;
  let events = 0;
  let lastTo = 0;
  let gapSinceCheckpoint = firstSeq > 0;
  let end: Slot | undefined;
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (i > 0 && s.seq !== slots[i - 1]!.seq + 1) gapSinceCheckpoint = true;
    const env = s.env;
    if (!env) continue;
    if (!env.event.startsWith(INTEGRITY_PREFIX)) {
      events++;
      continue;
    }
    if (env.event === INTEGRITY_EVENTS.streamEnd && !end) end = s;
    if (env.event !== INTEGRITY_EVENTS.checkpoint) continue;
    checkpoints++;
    lastCheckpoint = s;
    const { head, from, to } = env.attrs;
    if (s.sig !== 'bad' && !reordered.has(s.seq)) {
      if (head !== env.prev) {
        problems.push(problem('bad-checkpoint', s.seq, s.seq, 'the checkpoint head is not the hash of the record before it', [s.rec.at]));
      } else if (!gapSinceCheckpoint && (from !== lastTo + 1 || to !== events)) {
        problems.push(problem('bad-checkpoint', s.seq, s.seq, `the checkpoint covers events ${String(from)}..${String(to)}, but the stream holds events ${lastTo + 1}..${events} there`, [s.rec.at]));
      }
    }
    if (typeof to === 'number') {
      lastTo = to;
      events = to;
    }
    gapSinceCheckpoint = false;
  }

  if (end && end.seq !== lastSeq) {
    problems.push(problem('after-end', end.seq + 1, lastSeq, `records after the stream_end at seq ${end.seq}`, slots.filter((s) => s.seq > end.seq).slice(0, MAX_LOCATIONS).map((s) => s.rec.at)));
  }
  const closed = end !== undefined && end.seq === lastSeq && end.sig === 'ok';

  // An open stream must show a checkpoint at least every declared interval (a heartbeat).
  const start = slots[0]?.seq === 0 ? slots[0].env : undefined;
  const intervalS = start?.event === INTEGRITY_EVENTS.streamStart ? start.attrs[ATTR_NIS2_CHECKPOINT_INTERVAL_S] : undefined;
  const last = slots[n - 1];
  if (!end && typeof intervalS === 'number' && intervalS > 0 && last?.env) {
    const anchor = lastCheckpoint ?? slots[0]!;
    const anchorMs = anchor.tsMs;
    const limitMs = intervalS * 1000 + ring.graceMs;
    const lastMs = last.tsMs;
    if (lastMs - anchorMs > limitMs) {
      problems.push(problem('truncated', anchor.seq + 1, lastSeq, `no checkpoint for ${((lastMs - anchorMs) / 1000).toFixed(1)} s before the last record, though the stream declares one every ${intervalS} s: checkpoints were removed`, [anchor.rec.at, last.rec.at]));
    } else if (ring.asOfMs !== undefined && ring.asOfMs - anchorMs > limitMs) {
      problems.push(problem('truncated', lastSeq + 1, lastSeq + 1, `as of ${new Date(ring.asOfMs).toISOString()} the last checkpoint (seq ${anchor.seq}) is ${((ring.asOfMs - anchorMs) / 1000).toFixed(0)} s old, though the stream declares one every ${intervalS} s: records from seq ${lastSeq + 1} on are missing, or the writer stopped without stream_end`, [last.rec.at]));
    }
  }

  // Clock going backwards (unless renumbering already explains it).
  let before: Slot | undefined;
  let beforeMs = NaN;
  for (const s of slots) {
    const ms = s.tsMs;
    if (before && ms < beforeMs && !reordered.has(s.seq)) {
      problems.push(problem('time-backwards', before.seq, s.seq, `ts goes backwards from ${String(before.rec.env.ts)} to ${String(s.rec.env.ts)}`, [before.rec.at, s.rec.at]));
    }
    if (!Number.isNaN(ms)) {
      before = s;
      beforeMs = ms;
    }
  }

  // Keys.
  if (wrongKey) {
    problems.push(problem('wrong-key', firstSeq, lastSeq, `no signature verifies with the given HMAC key for kid ${key.kid ?? '?'}: wrong key, or the key belongs to another key id`));
  } else if (key.source === 'untrusted') {
    problems.push(problem('unknown-key', firstSeq, lastSeq, `the stream declares key ${key.declared?.kid ?? key.kid ?? '?'}, which is not among the pinned public keys`));
  } else if (key.source === 'none' && slots.some((s) => s.sig === 'no-key')) {
    const why = key.alg === 'HMAC-SHA256'
      ? 'give the HMAC key (--hmac-key-file, --hmac-kid) to verify it'
      : 'the stream declares no public key; pin one with --public-key';
    problems.push(problem('no-key', firstSeq, lastSeq, `no key for kid ${key.kid ?? '?'} (${key.alg ?? '?'}): ${why}`));
  }

  // Chain records no valid signature vouches for.
  if (key.key) {
    const lastSigned = slots.findLastIndex((s) => s.sig === 'ok');
    const uncovered: number[] = [];
    for (const s of slots) if (s.sig === 'chain' && !s.auth && !reordered.has(s.seq) && !blamed.has(s.seq)) uncovered.push(s.seq);
    for (const [from, to] of runs(uncovered)) {
      const tail = lastSigned === -1 || from > slots[lastSigned]!.seq;
      problems.push(problem('uncovered', from, to, tail
        ? `${formatSeqRange(from, to)} not yet covered by a signed checkpoint: unverified open tail`
        : `${formatSeqRange(from, to)} not covered by any signature: the chain to the next signed record is broken`));
    }
  }

  problems.sort((a, b) => a.from - b.from || a.to - b.to);
  let state: StreamState;
  if (problems.some((p) => p.severity === 'tamper')) state = 'tampered';
  else if (problems.some((p) => p.severity === 'unverifiable') || key.source === 'none') state = 'cannot-verify';
  else state = closed ? 'intact-closed' : 'intact-open';

  return {
    stream: id,
    state,
    records: n,
    firstSeq,
    lastSeq,
    firstTs: slots[0]?.env?.ts,
    lastTs: last?.env?.ts,
    closed,
    key: { kid: key.kid, alg: key.alg, source: key.source },
    checkpoints,
    problems,
  };
}

/**
 * Renumbered records (e.g. two records that swapped seqs) fail their signature or break the chain
 * only because of their seq. Trying the seqs of the other damaged records nearby tells a reorder
 * from a modification; the trials are bounded so a wrecked stream cannot make this quadratic.
 */
function detectReordering(slots: readonly Slot[], key: StreamKey, problems: Problem[]): Set<number> {
  const moved = new Set<number>();
  const damaged = slots.filter((s, i) => {
    if (!s.env) return false;
    if (s.sig === 'bad') return true;
    const next = slots[i + 1];
    return s.sig === 'chain' && next !== undefined && next.seq === s.seq + 1 && next.linkOk === false;
  });
  if (damaged.length < 2) return moved;
  // A chain record's hash under its written seq is the `prev` of whichever record followed it.
  const prevs = new Set<string>();
  for (const s of slots) if (typeof s.rec.env.prev === 'string') prevs.add(s.rec.env.prev);
  let trials = 0;
  search: for (const s of damaged) {
    for (const t of damaged) {
      if (t === s || Math.abs(t.seq - s.seq) > MAX_REORDER_DISTANCE) continue;
      if (++trials > MAX_REORDER_TRIALS) break search;
      const fits = s.sig === 'bad'
        ? verifySig(s, s.env!, key, t.seq)
        : prevs.has(sha256(canonicalOrUndefined({ ...s.rec.env, seq: t.seq }) ?? ''));
      if (fits) {
        s.signedAs = t.seq;
        moved.add(s.seq);
        break;
      }
    }
  }
  const spans: Array<{ from: number; to: number; members: Slot[] }> = [];
  for (const s of slots) {
    if (s.signedAs === undefined) continue;
    const from = Math.min(s.seq, s.signedAs);
    const to = Math.max(s.seq, s.signedAs);
    const last = spans[spans.length - 1];
    if (last && from <= last.to) {
      last.to = Math.max(last.to, to);
      last.members.push(s);
    } else {
      spans.push({ from, to, members: [s] });
    }
  }
  for (const span of spans) {
    const moves = span.members.map((s) => `seq ${s.seq} holds the record written as seq ${s.signedAs}`).join(', ');
    problems.push(problem('reordered', span.from, span.to, `records were renumbered: ${moves}`, span.members.map((s) => s.rec.at)));
  }
  return moved;
}
