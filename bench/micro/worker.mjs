// Pipeline micro-benchmarks, run in one pinned process (bench/micro/micro.mjs starts it):
// envelope build + JCS + SHA-256 chain + signature through StreamSigner in each signing mode,
// tweetnacl per-record signing as the reference, the access-record path end to end, and the
// verifier. Each case is time-boxed, warmed up, repeated with the cases interleaved, and reported as
// the median (and spread) of its repetitions.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import nacl from 'tweetnacl';
import { ROOT } from '../lib/env.mjs';
import { summary, round } from '../lib/stats.mjs';

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist/esm', p)).href);
const { StreamSigner, Ed25519SigningKey, HmacSigningKey, Nis2SigningProcessor } = await dist('index.js');
const { verifyRecords } = await dist('integrity/verify.js');
const { SecurityEventEmitter } = await dist('events/emitter.js');

const { sliceMs, reps, verifyRecordsCount } = JSON.parse(process.argv[2] ?? '{}');
const SLICE = sliceMs ?? 500;
const REPS = reps ?? 5;
const N_VERIFY = verifyRecordsCount ?? 20_000;

// A typical nis2.http.access record's attributes (what guard.ts writes for an allowed request).
const ACCESS = {
  'http.request.method': 'GET',
  'url.path': '/api/orders/12345',
  'client.address': '203.0.113.0',
  'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'http.response.status_code': 200,
  'nis2.action': 'allow',
};
const CHECKPOINT_EVERY = 1000;
const seed = randomBytes(32);
const ed = Ed25519SigningKey.fromSeed(seed);
const hmac = new HmacSigningKey(randomBytes(32), 'bench');
const naclPair = nacl.sign.keyPair.fromSeed(seed);
/** tweetnacl behind the SigningKey interface: same envelope work, pure-JS signature. */
const naclKey = { alg: 'Ed25519', kid: ed.kid, publicKey: ed.publicKey, sign: (data) => Buffer.from(nacl.sign.detached(data, naclPair.secretKey)) };

function sealer(key, chain, checkpoints) {
  const signer = new StreamSigner(key);
  let ts = Date.now();
  return () => {
    signer.seal('nis2.http.access', 'INFO', ACCESS, ts++, chain);
    if (checkpoints && signer.sinceCheckpoint >= CHECKPOINT_EVERY) signer.checkpoint(ts);
  };
}

/** The request path's emit + the drain: emitter → LoggerProvider → Nis2SigningProcessor → discard. */
function accessPipeline(chain) {
  const sink = { onEmit() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  const processor = new Nis2SigningProcessor({ signer: new StreamSigner(ed), downstream: [sink], chainAccessRecords: chain, checkpointIntervalMs: 3_600_000, checkpointEvery: CHECKPOINT_EVERY });
  const provider = new LoggerProvider({ processors: [processor] });
  const logger = provider.getLogger('bench');
  const emitter = new SecurityEventEmitter({ logger: () => logger, privacy: { ipv4Prefix: 24, ipv6Prefix: 48 }, budget: 200, aggregateWindowMs: 60_000, maxKeys: 10_000 });
  let n = 0;
  return () => {
    emitter.emitAccess({ ...ACCESS, 'client.address': '203.0.113.7' });
    if (++n % 256 === 0) emitter.drain();
  };
}

const CASES = {
  'ed25519-record': sealer(ed, false, false),
  'chain+checkpoints': sealer(ed, true, true),
  'hmac-record': sealer(hmac, false, false),
  'tweetnacl-record': sealer(naclKey, false, false),
  'access-pipeline-chain': accessPipeline(true),
  'access-pipeline-record': accessPipeline(false),
};

function timed(fn, ms) {
  let n = 0;
  const end = performance.now() + ms;
  let t;
  do {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    t = performance.now();
  } while (t < end);
  return n / ((t - end + ms) / 1000);
}

const signing = Object.fromEntries(Object.keys(CASES).map((k) => [k, []]));
for (const fn of Object.values(CASES)) timed(fn, SLICE); // warm-up
for (let r = 0; r < REPS; r++) for (const [k, fn] of Object.entries(CASES)) signing[k].push(timed(fn, SLICE));

// Verifier: one closed stream per signing mode, checked against the pinned public key.
function stream(chain, n) {
  const signer = new StreamSigner(ed);
  let ts = Date.now();
  const out = [signer.start({ 'nis2.checkpoint.interval_s': 60, 'nis2.public_key': ed.publicKey.toString('base64url') }, ts).body];
  for (let i = 0; i < n; i++) {
    out.push(signer.seal('nis2.http.access', 'INFO', ACCESS, ts++, chain).body);
    if (signer.sinceCheckpoint >= CHECKPOINT_EVERY) out.push(signer.checkpoint(ts).body);
  }
  if (signer.sinceCheckpoint > 0) out.push(signer.checkpoint(ts).body);
  out.push(signer.end(ts).body);
  return out;
}
const streams = { chain: stream(true, N_VERIFY), record: stream(false, N_VERIFY) };
const verify = { chain: [], record: [] };
const states = {};
for (const [k, bodies] of Object.entries(streams)) states[k] = verifyRecords(bodies.slice(0, 2000), { publicKeys: [ed.publicKey] }).streams[0]?.state; // warm-up
for (let r = 0; r < Math.max(3, Math.ceil(REPS / 2)); r++) {
  for (const [k, bodies] of Object.entries(streams)) {
    const t0 = performance.now();
    const report = verifyRecords(bodies, { publicKeys: [ed.publicKey] });
    verify[k].push(bodies.length / ((performance.now() - t0) / 1000));
    states[k] = report.streams[0]?.state;
  }
}

const out = { sliceMs: SLICE, reps: REPS, checkpointEvery: CHECKPOINT_EVERY, signing: {}, verify: {} };
for (const [k, xs] of Object.entries(signing)) out.signing[k] = { perSec: summary(xs), samples: xs.map((x) => round(x, 0)) };
for (const [k, xs] of Object.entries(verify)) out.verify[k] = { records: streams[k].length, state: states[k], perSec: summary(xs), samples: xs.map((x) => round(x, 0)) };
process.stdout.write(`${JSON.stringify(out)}\n`);
