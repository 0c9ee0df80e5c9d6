import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hashBody } from '../../dist/esm/integrity/encoding.js';
import { Ed25519SigningKey, HmacSigningKey } from '../../dist/esm/integrity/keys.js';
import { PROBLEM_SEVERITY, verifyRecords } from '../../dist/esm/integrity/verify.js';
import type { StreamReport, VerifyOptions, VerifyReport } from '../../dist/esm/integrity/verify.js';
import { parse, serialize, sign, signStream } from '../helpers/sign-stream.ts';
import type { Env, StreamOptions } from '../helpers/sign-stream.ts';

const key = Ed25519SigningKey.fromSeed(randomBytes(32));
const attacker = Ed25519SigningKey.fromSeed(randomBytes(32));

// Layout of a 6-event stream with a checkpoint every 3 events:
// 0 stream_start, 1-3 events, 4 checkpoint{1..3}, 5-7 events, 8 checkpoint{4..6}, 9 stream_end.
function stream(mode: 'signed' | 'chain', extra: Partial<StreamOptions> = {}): string[] {
  return signStream({ key, mode, events: 6, checkpointEvery: 3, ...extra });
}

/** Problems that decide the verdict (tamper / unverifiable), as `kind@from-to`. */
function findings(s: StreamReport): string[] {
  return s.problems.filter((p) => p.severity === 'tamper' || p.severity === 'unverifiable').map((p) => `${p.kind}@${p.from}-${p.to}`);
}

function kindsOf(s: StreamReport, severity: string): string[] {
  return s.problems.filter((p) => p.severity === severity).map((p) => `${p.kind}@${p.from}-${p.to}`);
}

function only(report: VerifyReport): StreamReport {
  assert.deepEqual(report.malformed, []);
  assert.equal(report.streams.length, 1);
  return report.streams[0]!;
}

function verifyOne(bodies: string[], options?: VerifyOptions): StreamReport {
  return only(verifyRecords(bodies, options));
}

/** Replaces record `seq` by `change(envelope)`, re-serialised canonically; re-signed when asked. */
function edit(bodies: string[], seq: number, change: (env: Env) => void, resignWith?: Ed25519SigningKey): string[] {
  const copy = [...bodies];
  const env = parse(copy[seq]!);
  change(env);
  copy[seq] = serialize(resignWith ? sign(env, resignWith) : env);
  return copy;
}

test('a fresh stream verifies as intact and closed, signed and chain mode', () => {
  for (const mode of ['signed', 'chain'] as const) {
    const s = verifyOne(stream(mode));
    assert.equal(s.state, 'intact-closed', mode);
    assert.deepEqual(s.problems, [], mode);
    assert.equal(s.closed, true);
    assert.deepEqual([s.firstSeq, s.lastSeq, s.records, s.checkpoints], [0, 9, 10, 2]);
    assert.deepEqual(s.key, { kid: key.kid, alg: 'Ed25519', source: 'declared' });
  }
});

test('every problem kind has a severity', () => {
  for (const severity of Object.values(PROBLEM_SEVERITY)) assert.match(severity, /^(tamper|unverifiable|warning|benign)$/);
});

test('modifying an attribute of a signed record: bad signature and broken link at that seq', () => {
  const s = verifyOne(edit(stream('signed'), 2, (e) => (e.attrs['client.address'] = '203.0.113.99')));
  assert.equal(s.state, 'tampered');
  assert.deepEqual(findings(s), ['bad-signature@2-2', 'modified@2-2']);
});

test('modifying a chain record: caught by the next prev and the checkpoint', () => {
  const s = verifyOne(edit(stream('chain'), 2, (e) => (e.attrs['url.path'] = '/admin')));
  assert.equal(s.state, 'tampered');
  assert.deepEqual(findings(s), ['modified@2-2']);
  // seq 1 is only vouched for through seq 2: it is reported as no longer covered, not as intact.
  assert.deepEqual(kindsOf(s, 'warning'), ['uncovered@1-1']);
});

test('modifying the chain record just before a checkpoint: the checkpoint no longer links to it', () => {
  const s = verifyOne(edit(stream('chain'), 3, (e) => (e.attrs['http.response.status_code'] = 500)));
  assert.deepEqual(findings(s), ['modified@3-3']);
});

test('deleting a record: missing seq', () => {
  for (const mode of ['signed', 'chain'] as const) {
    const bodies = stream(mode);
    bodies.splice(6, 1);
    const s = verifyOne(bodies);
    assert.equal(s.state, 'tampered', mode);
    assert.deepEqual(findings(s), ['missing@6-6'], mode);
  }
});

test('deleting stream_start: missing seq 0, and no key to check the rest with', () => {
  const s = verifyOne(stream('signed').slice(1));
  assert.equal(s.state, 'tampered');
  assert.deepEqual(findings(s), ['missing@0-0', 'no-key@1-9']);
});

test('swapping the seq numbers of two records: reordered, signed and chain mode', () => {
  for (const mode of ['signed', 'chain'] as const) {
    const bodies = stream(mode);
    const a = parse(bodies[2]!);
    const b = parse(bodies[3]!);
    [a.seq, b.seq] = [b.seq, a.seq];
    bodies[2] = serialize(b);
    bodies[3] = serialize(a);
    const s = verifyOne(bodies);
    assert.equal(s.state, 'tampered', mode);
    assert.deepEqual(findings(s), ['reordered@2-3'], mode);
    assert.deepEqual(kindsOf(s, 'warning').filter((k) => k.startsWith('time-backwards')), [], mode);
  }
});

test('shuffled line order is not tampering', () => {
  const bodies = stream('chain');
  const shuffled = bodies.map((b, i) => [(i * 7919) % 13, b] as const).sort((x, y) => x[0] - y[0]).map(([, b]) => b);
  assert.notDeepEqual(shuffled, bodies);
  assert.equal(verifyOne(shuffled).state, 'intact-closed');
});

test('a forged record claiming an existing seq: inserted, and the genuine one is kept', () => {
  const bodies = stream('signed');
  const forged = parse(bodies[5]!);
  forged.attrs['client.address'] = '10.0.0.0';
  for (const signer of [attacker, key]) {
    const withForgery = [...bodies, serialize(sign({ ...forged, attrs: { ...forged.attrs } }, signer))];
    const s = verifyOne(withForgery);
    assert.equal(s.state, 'tampered');
    assert.deepEqual(findings(s), ['inserted@5-5']);
    const inserted = s.problems.find((p) => p.kind === 'inserted')!;
    assert.equal(inserted.detail.includes('signing key may be compromised'), signer === key);
  }
  // Put the forgery first in the input: the chain, not line order, decides which one is genuine.
  const first = verifyOne([serialize(sign(forged, key)), ...bodies]);
  assert.deepEqual(findings(first), ['inserted@5-5']);
  assert.match(first.problems[0]!.detail, /kept input, the one the chain links/);
});

test('a forged stream_start with another key: inserted at seq 0, key of the linked one kept', () => {
  const bodies = stream('signed');
  const fake = parse(bodies[0]!);
  fake.attrs['nis2.public_key'] = attacker.publicKey.toString('base64url');
  fake.kid = attacker.kid;
  const s = verifyOne([serialize(sign(fake, attacker)), ...bodies]);
  assert.deepEqual(findings(s), ['inserted@0-0']);
  assert.equal(s.key.kid, key.kid);
});

test('truncating the tail: open at best, never closed', () => {
  const signed = verifyOne(stream('signed').slice(0, 7));
  assert.equal(signed.state, 'intact-open');
  assert.equal(signed.closed, false);
  assert.deepEqual(signed.problems, []);
  // In chain mode the records after the last checkpoint are an unverified tail.
  const chain = verifyOne(stream('chain').slice(0, 7));
  assert.equal(chain.state, 'intact-open');
  assert.deepEqual(kindsOf(chain, 'warning'), ['uncovered@5-6']);
  assert.match(chain.problems[0]!.detail, /unverified open tail/);
});

test('re-serialising a record non-canonically: not canonical, though the content is authentic', () => {
  const bodies = stream('signed');
  const env = parse(bodies[2]!);
  const reordered = JSON.stringify(Object.fromEntries(Object.entries(env).reverse()));
  const spaced = bodies[2]!.replace('"seq":2', '"seq": 2');
  const escaped = bodies[2]!.replace('"WARN"', '"\\u0057ARN"');
  for (const variant of [reordered, spaced, escaped]) {
    assert.notEqual(variant, bodies[2]);
    const copy = [...bodies];
    copy[2] = variant;
    const s = verifyOne(copy);
    assert.equal(s.state, 'tampered');
    assert.deepEqual(findings(s), ['not-canonical@2-2']);
    assert.match(s.problems[0]!.detail, /content is authentic/);
  }
});

test('a trailing \\r (CRLF conversion) is a change of bytes', () => {
  const bodies = stream('signed');
  const s = verifyOne(bodies.map((b) => `${b}\r`));
  assert.equal(s.state, 'tampered');
  assert.ok(findings(s).every((f) => f.startsWith('not-canonical@')));
});

test('flipping one bit of a signature: bad signature', () => {
  const s = verifyOne(edit(stream('signed'), 7, (e) => {
    const sig = Buffer.from(e.sig!, 'base64url');
    sig[10]! ^= 0x01;
    e.sig = sig.toString('base64url');
  }));
  assert.equal(s.state, 'tampered');
  assert.deepEqual(findings(s), ['bad-signature@7-7', 'modified@7-7']);
});

test('a duplicated line is a benign replay: reported, still intact', () => {
  const bodies = stream('chain');
  const s = verifyOne([...bodies, bodies[3]!, bodies[3]!, bodies[4]!]);
  assert.equal(s.state, 'intact-closed');
  assert.deepEqual(kindsOf(s, 'benign'), ['duplicate@3-4']);
});

test('time going backwards: tampered when the ts was edited, a warning when the signer\'s clock stepped back', () => {
  const bodies = stream('signed');
  const earlier = new Date(Date.parse(parse(bodies[1]!).ts) - 60_000).toISOString();
  const edited = verifyOne(edit(bodies, 2, (e) => (e.ts = earlier)));
  assert.equal(edited.state, 'tampered');
  assert.deepEqual(findings(edited), ['bad-signature@2-2', 'modified@2-2']);
  assert.deepEqual(kindsOf(edited, 'warning'), ['time-backwards@1-2']);

  const stepped = verifyOne(stream('signed', { tsOf: (n, ms) => (n === 2 ? ms - 60_000 : ms) }));
  assert.equal(stepped.state, 'intact-closed');
  assert.deepEqual(kindsOf(stepped, 'warning'), ['time-backwards@1-2']);
});

test('a record after stream_end: after-end, even when validly signed and chained', () => {
  const bodies = stream('signed');
  const end = parse(bodies[9]!);
  const late: Env = { ...end, seq: 10, event: 'nis2.rate_limit.exceeded', attrs: { 'nis2.action': 'block' }, prev: hashBody(bodies[9]!) };
  const s = verifyOne([...bodies, serialize(sign(late, key))]);
  assert.equal(s.state, 'tampered');
  assert.deepEqual(findings(s), ['after-end@10-10']);
  assert.equal(s.closed, false);
});

test('an open stream whose checkpoints stopped for longer than its declared interval: truncated', () => {
  const late = verifyOne(signStream({ key, mode: 'signed', events: 3, checkpointEvery: 100, intervalS: 60, end: false, stepMs: 30_000 }));
  assert.equal(late.state, 'tampered');
  assert.deepEqual(findings(late), ['truncated@1-3']);

  const onTime = verifyOne(signStream({ key, mode: 'signed', events: 3, checkpointEvery: 100, intervalS: 60, end: false, stepMs: 20_000 }));
  assert.equal(onTime.state, 'intact-open');

  // A closed stream needs no heartbeat check: stream_end proves nothing was cut.
  const closed = verifyOne(signStream({ key, mode: 'signed', events: 3, checkpointEvery: 100, intervalS: 60, stepMs: 30_000 }));
  assert.equal(closed.state, 'intact-closed');
});

test('asOf: an open stream without a recent checkpoint is reported truncated', () => {
  const bodies = signStream({ key, mode: 'chain', events: 3, checkpointEvery: 3, intervalS: 60, end: false, startMs: Date.parse('2026-11-25T10:00:00Z') });
  const lastSeq = bodies.length - 1;
  assert.equal(verifyOne(bodies, { asOf: '2026-11-25T10:00:30Z' }).state, 'intact-open');
  const stale = verifyOne(bodies, { asOf: '2026-11-25T10:10:00Z' });
  assert.equal(stale.state, 'tampered');
  assert.deepEqual(findings(stale), [`truncated@${lastSeq + 1}-${lastSeq + 1}`]);
});

test('checkpoints that lie about their range or head: bad checkpoint, even when signed with the key', () => {
  // An open stream ending on its checkpoint (seq 8), so no later record's prev also gives it away.
  const open = stream('chain', { end: false });
  assert.equal(parse(open[8]!).event, 'nis2.integrity.checkpoint');
  const range = verifyOne(edit(open, 8, (e) => (e.attrs['to'] = 5), key));
  assert.equal(range.state, 'tampered');
  assert.deepEqual(findings(range), ['bad-checkpoint@8-8']);
  const head = verifyOne(edit(open, 8, (e) => (e.attrs['head'] = hashBody('x')), key));
  assert.deepEqual(findings(head), ['bad-checkpoint@8-8']);
  // Mid-stream, the next record's prev catches the re-signed checkpoint too.
  const mid = verifyOne(edit(stream('chain'), 4, (e) => (e.attrs['from'] = 2), key));
  assert.deepEqual(findings(mid).sort(), ['bad-checkpoint@4-4', 'modified@4-4']);
});

test('an integrity record downgraded to alg "chain" is not accepted', () => {
  const s = verifyOne(edit(stream('chain'), 9, (e) => {
    e.alg = 'chain';
    delete e.sig;
  }));
  assert.equal(s.state, 'tampered');
  assert.ok(findings(s).includes('bad-signature@9-9'));
});

test('HMAC streams: intact with the key, cannot-verify without it, tampering still found without it', () => {
  const secret = randomBytes(32);
  const mac = new HmacSigningKey(secret, 'ops-2026');
  const bodies = signStream({ key: mac, mode: 'chain', events: 4, checkpointEvery: 2 });
  const withKey = verifyOne(bodies, { hmacKeys: [{ key: secret, keyId: 'ops-2026' }] });
  assert.equal(withKey.state, 'intact-closed');
  assert.equal(withKey.key.source, 'hmac');
  const base64Key = verifyOne(bodies, { hmacKeys: [{ key: secret.toString('base64'), keyId: 'ops-2026' }] });
  assert.equal(base64Key.state, 'intact-closed');
  const withoutKey = verifyOne(bodies);
  assert.equal(withoutKey.state, 'cannot-verify');
  assert.deepEqual(findings(withoutKey), [`no-key@0-${bodies.length - 1}`]);
  // A different key id string gives another kid: the key does not apply.
  assert.equal(verifyOne(bodies, { hmacKeys: [{ key: secret }] }).state, 'cannot-verify');
  // Hash links need no key; without signatures the break cannot be pinned on one side of it.
  const tampered = verifyOne(edit(bodies, 1, (e) => (e.attrs['url.path'] = '/x')));
  assert.equal(tampered.state, 'tampered');
  assert.deepEqual(findings(tampered), [`no-key@0-${bodies.length - 1}`, 'modified@1-2']);
});

test('pinned keys: a whole stream forged with another key is not trusted', () => {
  const genuine = stream('signed');
  assert.equal(verifyOne(genuine, { publicKeys: [key.publicKey] }).key.source, 'pinned');
  assert.equal(verifyOne(genuine, { publicKeys: [key.publicKey.toString('base64')] }).state, 'intact-closed');
  const forged = signStream({ key: attacker, mode: 'signed', events: 6, checkpointEvery: 3 });
  // Without pins, a self-consistent forgery is intact (the declared key proves integrity only) …
  assert.equal(verifyOne(forged).state, 'intact-closed');
  // … with pins it is not.
  const pinned = verifyOne(forged, { publicKeys: [key.publicKey] });
  assert.equal(pinned.state, 'cannot-verify');
  assert.deepEqual(findings(pinned), ['unknown-key@0-9']);
});

test('a stream_start replaced by one declaring the attacker\'s key: the genuine records do not match it', () => {
  const bodies = stream('signed');
  const start = parse(bodies[0]!);
  start.attrs['nis2.public_key'] = attacker.publicKey.toString('base64url');
  start.kid = attacker.kid;
  bodies[0] = serialize(sign(start, attacker));
  const s = verifyOne(bodies);
  assert.equal(s.state, 'tampered');
  assert.equal(s.key.kid, attacker.kid);
  assert.deepEqual(findings(s), ['modified@0-1', ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `foreign-key@${n}-${n}`)]);
});

test('garbage input is reported, never thrown', () => {
  const inputs = ['', 'not json', '[]', 'null', '42', '{}', '{"stream":"x"}', '{"stream":"x","seq":-1}', '{"stream":"x","seq":"1"}',
    '{"stream":"x","seq":1.5}', '{"stream":"","seq":0}', '{"stream":"s","seq":0}', '{"stream":"s","seq":1,"v":1,"alg":"chain"}'];
  const report = verifyRecords([...inputs.map((body, i) => ({ body, source: 'junk.jsonl', line: i + 1 })), { body: 42 as unknown as string }]);
  assert.equal(report.records, inputs.length + 1);
  assert.equal(report.malformed.length, 12);
  assert.deepEqual(report.malformed[1], { reason: 'not JSON', at: { source: 'junk.jsonl', line: 2 } });
  const s = report.streams[0]!;
  assert.equal(s.stream, 's');
  assert.equal(s.state, 'tampered');
  assert.deepEqual(findings(s).filter((f) => f.startsWith('malformed')), ['malformed@0-0', 'malformed@1-1']);
});

test('any single-character change to any record of a closed stream is detected', () => {
  for (const mode of ['signed', 'chain'] as const) {
    const bodies = stream(mode);
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let trial = 0; trial < 300; trial++) {
      const copy = [...bodies];
      const i = rand(copy.length);
      const body = copy[i]!;
      const at = rand(body.length);
      const alphabet = '0123456789abcdefABCDEF{}[]":,- _xyz\\';
      let ch = alphabet[rand(alphabet.length)]!;
      if (ch === body[at]) ch = ch === 'x' ? 'y' : 'x';
      copy[i] = body.slice(0, at) + ch + body.slice(at + 1);
      const report = verifyRecords(copy);
      const allIntact = report.malformed.length === 0 && report.streams.every((s) => s.state === 'intact-closed');
      assert.equal(allIntact, false, `${mode}: change at record ${i}, offset ${at} to ${JSON.stringify(ch)} went unnoticed`);
    }
  }
});

test('edge case: attrs with a nested "sig" key, integer-like keys and non-ASCII still verify', () => {
  const bodies = stream('signed', {
    attrsOf: (n) => ({ nested: { sig: 'AAAA', stream: 'x' }, '10': 1, '9': 2, 'url.path': `/p\u2028${n}`, emoji: '🚀' }),
  });
  assert.ok(bodies[1]!.includes('"10":1,"9":2'));
  const s = verifyOne(bodies);
  assert.equal(s.state, 'intact-closed');
  assert.deepEqual(s.problems, []);
});

test('streams are reported in order of first appearance, each on its own', () => {
  const a = stream('signed', { stream: 'stream-a' });
  const b = stream('chain', { stream: 'stream-b' }).slice(0, 7);
  const report = verifyRecords([b[0]!, ...a, ...b.slice(1)]);
  assert.deepEqual(report.streams.map((s) => [s.stream, s.state]), [['stream-b', 'intact-open'], ['stream-a', 'intact-closed']]);
});
