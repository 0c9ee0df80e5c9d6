// Property-based fuzzing of the envelope verifier with streams written by the package's own
// StreamSigner (record and chain mode, Ed25519 and HMAC): any mutation of the evidence file —
// a flipped character, a deleted, duplicated, reordered or inserted line, a truncation, a changed
// attribute, a non-canonical re-serialisation — must be caught, and the verifier must never throw.
// Oracle: the mutation is harmless exactly when the stream's envelope lines, as a set, are the
// original ones (line order and exact duplicates are allowed by design, DESIGN §4 and issue 6).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, Ed25519SigningKey, HmacSigningKey, StreamSigner } from '../../dist/esm/index.js';
import type { SigningKey } from '../../dist/esm/index.js';
import { parseInputBytes } from '../../dist/esm/integrity/read-inputs.js';
import { PROBLEM_SEVERITY, verifyRecords, type VerifyOptions, type VerifyReport } from '../../dist/esm/integrity/verify.js';
import { fc, runs } from './fc.ts';

const ED = Ed25519SigningKey.fromSeed(Buffer.alloc(32, 11));
const HMAC_BYTES = Buffer.alloc(32, 12);
const HMAC = new HmacSigningKey(HMAC_BYTES);
const ATTACKER = Ed25519SigningKey.fromSeed(Buffer.alloc(32, 13));
const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const STATES = new Set(['intact-closed', 'intact-open', 'tampered', 'cannot-verify']);

interface Shape {
  hmac: boolean;
  chain: boolean;
  /** Per event: true for an access record (hash-chained only in chain mode). */
  events: boolean[];
  checkpointEvery: number;
}

const shape: fc.Arbitrary<Shape> = fc.record({
  hmac: fc.boolean(),
  chain: fc.boolean(),
  events: fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
  checkpointEvery: fc.integer({ min: 1, max: 5 }),
});

/** A whole stream, seq 0 to stream_end, as the JSONL lines the events file would hold. */
function writeStream(s: Shape): { lines: string[]; stream: string; options: VerifyOptions } {
  const key: SigningKey = s.hmac ? HMAC : ED;
  const signer = new StreamSigner(key);
  let t = T0;
  const lines: string[] = [];
  const startAttrs: Record<string, string | number> = { 'nis2.checkpoint.interval_s': 3600, 'service.name': 'fuzz' };
  if (key.publicKey) startAttrs['nis2.public_key'] = key.publicKey.toString('base64url');
  lines.push(signer.start(startAttrs, t).body);
  s.events.forEach((access, i) => {
    t += 7;
    const attrs = { 'client.address': '198.51.100.0', 'http.request.method': 'GET', 'url.path': `/item/${i}`, 'user_agent.original': 'Mozilla/5.0 “ü” 🚀', 'nis2.action': access ? 'allow' : 'block' };
    lines.push(signer.seal(access ? 'nis2.http.access' : 'nis2.rate_limit.exceeded', access ? 'INFO' : 'WARN', attrs, t, s.chain && access).body);
    if (signer.sinceCheckpoint >= s.checkpointEvery) lines.push(signer.checkpoint((t += 3)).body);
  });
  if (signer.sinceCheckpoint > 0) lines.push(signer.checkpoint((t += 3)).body);
  lines.push(signer.end(t + 5).body);
  return { lines, stream: signer.stream, options: s.hmac ? { hmacKeys: [{ key: HMAC_BYTES }] } : {} };
}

type Mutation =
  | { kind: 'flip'; line: number; pos: number; char: string }
  | { kind: 'delete'; line: number }
  | { kind: 'duplicate'; line: number; at: number }
  | { kind: 'shuffle'; keys: number[] }
  | { kind: 'swap-seq'; a: number; b: number }
  | { kind: 'insert'; from: number; seq: number; change: 'attr' | 'event' | 'ts' | 'none'; sign: 'keep' | 'attacker' | 'chain' }
  | { kind: 'truncate'; cut: number }
  | { kind: 'attr'; line: number; value: string | number | boolean }
  | { kind: 'reserialise'; line: number; style: 'spaces' | 'key-order' | 'unicode-escape' | 'sig-encoding' | 'crlf' | 'number' | 'lone-surrogate'; pick: number };

const index = fc.nat(1000);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), line: index, pos: fc.nat(5000), char: fc.constantFrom('0', '1', 'a', 'A', '"', '\\', ',', ':', '{', '}', ' ', '\n', 'ü', '🚀', '-', '_', 'Z', '9') }),
  fc.record({ kind: fc.constant('delete' as const), line: index }),
  fc.record({ kind: fc.constant('duplicate' as const), line: index, at: index }),
  fc.record({ kind: fc.constant('shuffle' as const), keys: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('swap-seq' as const), a: index, b: index }),
  fc.record({ kind: fc.constant('insert' as const), from: index, seq: fc.integer({ min: 0, max: 40 }), change: fc.constantFrom('attr' as const, 'event' as const, 'ts' as const, 'none' as const), sign: fc.constantFrom('keep' as const, 'attacker' as const, 'chain' as const) }),
  fc.record({ kind: fc.constant('truncate' as const), cut: fc.nat(100_000) }),
  fc.record({ kind: fc.constant('attr' as const), line: index, value: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()) }),
  fc.record({ kind: fc.constant('reserialise' as const), line: index, style: fc.constantFrom('spaces' as const, 'key-order' as const, 'unicode-escape' as const, 'sig-encoding' as const, 'crlf' as const, 'number' as const, 'lone-surrogate' as const), pick: fc.nat(100) }),
);

type Env = Record<string, unknown> & { seq: number; attrs: Record<string, unknown>; sig?: string; alg: string; kid: string };

/** The same signature bytes spelled differently: base64url's last character carries unused bits. */
function respellSig(sig: string, pick: number): string | undefined {
  const bytes = Buffer.from(sig, 'base64url');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const twins = [...alphabet].map((c) => sig.slice(0, -1) + c).filter((s) => s !== sig && Buffer.from(s, 'base64url').equals(bytes));
  return twins.length ? twins[pick % twins.length] : undefined;
}

function reserialise(line: string, style: Extract<Mutation, { kind: 'reserialise' }>['style'], pick: number): string {
  const env = JSON.parse(line) as Env;
  switch (style) {
    case 'spaces': return JSON.stringify(env, null, 1).replace(/\n/g, '');
    case 'key-order': return JSON.stringify(Object.fromEntries(Object.entries(env).reverse()));
    case 'unicode-escape': return line.replace(/"event":"n/, '"event":"\\u006e');
    case 'crlf': return `${line}\r`;
    case 'number': return line.replace(/"seq":(\d+)/, pick % 2 ? '"seq":$1.0' : '"seq":$1e0');
    // Valid JSON text no RFC 8785 serialiser accepts: `\ud83d` escapes half a surrogate pair.
    case 'lone-surrogate': return line.includes('"attrs":{}') ? line.replace('"attrs":{}', '"attrs":{"x":"\\ud83d"}') : line.replace('"attrs":{', '"attrs":{"!":"\\ud83d",');
    case 'sig-encoding': {
      const twin = env.sig === undefined ? undefined : respellSig(env.sig, pick);
      return twin === undefined ? `${line} ` : line.replace(`"sig":"${env.sig}"`, `"sig":"${twin}"`);
    }
  }
}

function forge(line: string, m: Extract<Mutation, { kind: 'insert' }>): string {
  const env = JSON.parse(line) as Env;
  env.seq = m.seq;
  if (m.change === 'attr') env.attrs = { ...env.attrs, 'nis2.forged': true };
  else if (m.change === 'event') env['event'] = 'nis2.auth.login_failed';
  else if (m.change === 'ts') env['ts'] = new Date(T0 + 1).toISOString();
  delete env.sig;
  if (m.sign === 'chain') {
    env.alg = 'chain';
  } else if (m.sign === 'attacker') {
    env.alg = ATTACKER.alg;
    env.kid = ATTACKER.kid;
    env.sig = ATTACKER.sign(Buffer.from(canonicalJson(env), 'utf8')).toString('base64url');
  } else {
    const original = (JSON.parse(line) as Env).sig;
    if (original !== undefined) env.sig = original;
    else env.alg = 'chain';
  }
  return canonicalJson(env);
}

/**
 * Applies one mutation to the file's lines (indices wrap around the current length). A mutation
 * that needs to re-serialise a line an earlier one broke (no longer JSON, or holding a lone
 * surrogate JCS refuses) leaves the lines as they are.
 */
function apply(lines: string[], m: Mutation): string[] {
  try {
    return mutate(lines, m);
  } catch {
    return lines;
  }
}

function mutate(lines: string[], m: Mutation): string[] {
  const n = lines.length;
  if (n === 0) return lines;
  const out = [...lines];
  switch (m.kind) {
    case 'flip': {
      const i = m.line % n;
      const body = out[i]!;
      const pos = m.pos % body.length;
      out[i] = body.slice(0, pos) + m.char + body.slice(pos + 1);
      return out;
    }
    case 'delete': out.splice(m.line % n, 1); return out;
    case 'duplicate': out.splice(m.at % (n + 1), 0, out[m.line % n]!); return out;
    case 'shuffle': return out.map((l, i) => ({ l, k: m.keys[i % m.keys.length]! * 1000 + i })).sort((a, b) => a.k - b.k).map((x) => x.l);
    case 'swap-seq': {
      const a = m.a % n;
      const b = m.b % n;
      const ea = JSON.parse(out[a]!) as Env;
      const eb = JSON.parse(out[b]!) as Env;
      [ea.seq, eb.seq] = [eb.seq, ea.seq];
      out[a] = canonicalJson(ea);
      out[b] = canonicalJson(eb);
      return out;
    }
    case 'insert': {
      out.splice(m.from % (n + 1), 0, forge(out[m.from % n]!, m));
      return out;
    }
    case 'truncate': {
      const text = `${out.join('\n')}\n`;
      return text.slice(0, m.cut % text.length).split('\n');
    }
    case 'attr': {
      const i = m.line % n;
      const env = JSON.parse(out[i]!) as Env;
      const keys = Object.keys(env.attrs ?? {});
      const key = keys.length ? keys[m.line % keys.length]! : 'nis2.added';
      env.attrs = { ...env.attrs, [key]: m.value };
      out[i] = canonicalJson(env);
      return out;
    }
    case 'reserialise': {
      const i = m.line % n;
      out[i] = reserialise(out[i]!, m.style, m.pick);
      return out;
    }
  }
}

/** The lines the reader and verifier treat as this stream's envelopes (other lines are logs or damage). */
function envelopeLines(lines: readonly string[], stream: string): string[] {
  return lines.filter((l) => {
    try {
      const v = JSON.parse(l) as Record<string, unknown>;
      return typeof v === 'object' && v !== null && !Array.isArray(v) && v['stream'] === stream && ('seq' in v || 'v' in v);
    } catch {
      return false;
    }
  });
}

function verifyText(text: string, options: VerifyOptions): { report: VerifyReport; readerMalformed: number } {
  const read = parseInputBytes(text, 'fuzz.jsonl');
  return { report: verifyRecords(read.records, options), readerMalformed: read.malformed.length };
}

function assertWellFormed(report: VerifyReport): void {
  for (const s of report.streams) {
    assert.ok(STATES.has(s.state), s.state);
    for (const p of s.problems) {
      assert.equal(p.severity, PROBLEM_SEVERITY[p.kind]);
      assert.ok(Number.isInteger(p.from) && Number.isInteger(p.to) && p.from <= p.to, JSON.stringify(p));
    }
  }
}

describe('verifyRecords against mutated streams', () => {
  test('an untouched stream is intact-closed with no problem, in every mode', () => {
    fc.assert(fc.property(shape, (s) => {
      const { lines, stream, options } = writeStream(s);
      const { report, readerMalformed } = verifyText(`${lines.join('\n')}\n`, options);
      assert.equal(readerMalformed, 0);
      assert.equal(report.streams.length, 1);
      assert.equal(report.streams[0]!.stream, stream);
      assert.equal(report.streams[0]!.state, 'intact-closed', JSON.stringify(report.streams[0]!.problems));
      assert.deepEqual(report.streams[0]!.problems, []);
    }), { numRuns: runs(60) });
  });

  test('every mutation is caught unless it only reordered or repeated lines; nothing ever throws', () => {
    fc.assert(fc.property(shape, fc.array(mutation, { minLength: 1, maxLength: 3 }), (s, mutations) => {
      const { lines, stream, options } = writeStream(s);
      let mutated = lines;
      for (const m of mutations) mutated = apply(mutated, m);
      const text = `${mutated.join('\n')}\n`;
      const { report } = verifyText(text, options);
      assertWellFormed(report);

      const original = new Set(lines);
      const now = envelopeLines(text.split('\n'), stream);
      const nowSet = new Set(now);
      const harmless = now.every((l) => original.has(l)) && lines.every((l) => nowSet.has(l));
      const mine = report.streams.find((r) => r.stream === stream);
      const flaggedMalformed = report.malformed.some((m) => m.stream === stream);
      if (harmless) {
        assert.ok(mine, 'the stream disappeared');
        assert.equal(mine.state, 'intact-closed', `a harmless change was reported: ${JSON.stringify(mine.problems)}`);
        assert.ok(mine.problems.every((p) => p.severity === 'benign'), JSON.stringify(mine.problems));
        assert.equal(mine.problems.some((p) => p.kind === 'duplicate'), now.length > nowSet.size, 'duplicates reported exactly when lines repeat');
      } else {
        assert.ok(mine === undefined || mine.state !== 'intact-closed' || flaggedMalformed,
          `a real change passed as intact-closed:\n${mutated.filter((l) => !original.has(l)).join('\n')}`);
      }
    }), { numRuns: runs(400), examples: [
      // The stream_end's signature re-spelt with other unused bits: same bytes once decoded.
      [{ hmac: false, chain: false, events: [false], checkpointEvery: 1 }, [{ kind: 'reserialise', line: 3, style: 'sig-encoding', pick: 0 }]],
      // A record with an escaped lone surrogate (valid JSON) in its attributes.
      [{ hmac: false, chain: false, events: [false], checkpointEvery: 1 }, [{ kind: 'reserialise', line: 1, style: 'lone-surrogate', pick: 0 }]],
      // seq 0 and the stream_end swap seqs, then seq 3 is broken: a malformed record with a valid, earlier ts.
      [{ hmac: false, chain: false, events: [false], checkpointEvery: 1 }, [{ kind: 'swap-seq', a: 0, b: 61 }, { kind: 'flip', line: 0, pos: 2, char: '0' }]],
    ] });
  });

  test('never throws on envelope-shaped garbage mixed into a real stream', () => {
    const field = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -2, max: 50 }), fc.constantFrom('', 'Ed25519', 'HMAC-SHA256', 'chain', 'nis2.integrity.stream_end', 'nis2.integrity.checkpoint', 'nis2.integrity.stream_start'));
    const junk = fc.record({ v: field, seq: field, ts: fc.oneof(field, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), event: field, severity: field, attrs: fc.oneof(field, fc.dictionary(fc.constantFrom('head', 'from', 'to', 'nis2.public_key', 'nis2.checkpoint.interval_s'), field)), prev: field, kid: field, alg: field, sig: field }, { requiredKeys: [] });
    fc.assert(fc.property(shape, fc.array(junk, { maxLength: 12 }), fc.boolean(), (s, garbage, sameStream) => {
      const { lines, stream, options } = writeStream(s);
      const bodies = garbage.map((g) => JSON.stringify({ ...g, stream: sameStream ? stream : 'other' }));
      const { report } = verifyText(`${[...lines, ...bodies].join('\n')}\n`, options);
      assertWellFormed(report);
      const mine = report.streams.find((r) => r.stream === stream)!;
      // Lines without `seq` and `v` are other logs to the reader, not records of the stream.
      if (sameStream && envelopeLines(bodies, stream).length > 0) {
        assert.ok(mine.state !== 'intact-closed' || report.malformed.some((m) => m.stream === stream), 'forged records in the stream passed');
      } else {
        assert.equal(mine.state, 'intact-closed');
      }
    }), { numRuns: runs(150), examples: [
      // A malformed record after the end, with a ts earlier than the record before it.
      [{ hmac: false, chain: false, events: [false], checkpointEvery: 1 }, [{ seq: 4, ts: '1970-01-01T00:00:00.000Z' }], true],
    ] });
  });
});

describe('verifyRecords: edge cases the fuzzer found', () => {
  const one: Shape = { hmac: false, chain: false, events: [false], checkpointEvery: 1 };

  test('edge case: the last record with its signature re-spelt (other unused base64url bits) is not the record that was written', () => {
    const { lines, stream } = writeStream(one);
    const end = lines.length - 1;
    const respelt = [...lines];
    respelt[end] = reserialise(lines[end]!, 'sig-encoding', 0);
    assert.notEqual(respelt[end], lines[end]);
    const mine = verifyRecords(respelt).streams.find((s) => s.stream === stream)!;
    assert.notEqual(mine.state, 'intact-closed', 'bytes that differ from what the writer signed passed as intact-closed');
  });

  test('edge case: a record holding an escaped lone surrogate (valid JSON, no RFC 8785 form) is reported, not thrown', () => {
    const { lines, stream } = writeStream(one);
    const broken = [...lines];
    broken[1] = reserialise(lines[1]!, 'lone-surrogate', 0);
    let report: VerifyReport | undefined;
    assert.doesNotThrow(() => { report = verifyRecords(broken); });
    assert.equal(report!.streams.find((s) => s.stream === stream)!.state, 'tampered');
  });

  test('edge case: a malformed record whose ts is earlier than its predecessor does not make the clock check throw', () => {
    const { lines, stream } = writeStream(one);
    const extra = JSON.stringify({ stream, seq: lines.length, ts: '1970-01-01T00:00:00.000Z' });
    let report: VerifyReport | undefined;
    assert.doesNotThrow(() => { report = verifyRecords([...lines, extra]); });
    assert.equal(report!.streams.find((s) => s.stream === stream)!.state, 'tampered');
  });
});
