// Micro-benchmark: the cost of sealing one PII value (libsodium crypto_box_seal format) on the
// thread that drains events. Run after `node scripts/build.mjs`:
//
//   node bench/privacy-seal.mjs [--seconds 1] [--json]
//
// Variants, measured in the same run:
//   tweetnacl        pure JS: nacl.box.keyPair + BLAKE2b-192 nonce + nacl.box (what "just use tweetnacl" costs)
//   native           SealingKey: node:crypto X25519 key pair + agreement, tweetnacl HSalsa20/XSalsa20-Poly1305
//   async threadpool the X25519 work through node:crypto's callback APIs (libuv thread pool): what the
//                    event-loop thread still pays per value, measured by event-loop utilisation. Shows why
//                    the package does not precompute ephemeral keys this way (see README "Sealed PII").
//   access record    PiiSealer.apply on an access record with user.id and client.address.raw (2 seals + 2 HMACs)
//   pseudonym only   the same record with sealing off: values dropped, pseudonyms kept (the baseline)
import { diffieHellman, generateKeyPair } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { blake2b } from '@noble/hashes/blake2.js';
import nacl from 'tweetnacl';
import { PiiSealer } from '../dist/esm/privacy/pii.js';
import { Pseudonymizer } from '../dist/esm/privacy/pseudonym.js';
import { SealingKey, generateSealKeyPair } from '../dist/esm/privacy/seal.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 1;
const asJson = args.includes('--json');
const VALUE = Buffer.from('customer-8841@example.org');
const pair = generateSealKeyPair();
const { publicKey } = pair;

function tweetnaclSeal(message) {
  const eph = nacl.box.keyPair();
  const input = new Uint8Array(64);
  input.set(eph.publicKey, 0);
  input.set(publicKey, 32);
  const box = nacl.box(message, blake2b(input, { dkLen: 24 }), publicKey, eph.secretKey);
  const out = new Uint8Array(32 + box.length);
  out.set(eph.publicKey, 0);
  out.set(box, 32);
  return out;
}

/** Runs `fn` in a tight loop for about `seconds` (after a warm-up): ops/s and µs/op. */
function tight(fn) {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { ops: Math.round(n / (ns / 1e9)), us: ns / 1e3 / n };
}

/**
 * Ephemeral key pair + agreement through the callback APIs, two in flight: event-loop busy time
 * per value (job set-up, result KeyObjects, callbacks), which is what a precomputing pool would
 * still cost the thread that serves requests.
 */
async function threadpool() {
  const recipient = (await import('node:crypto')).createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), publicKey]), format: 'der', type: 'spki',
  });
  const target = Math.max(500, Math.round(seconds * 10_000));
  const before = performance.eventLoopUtilization();
  const start = performance.now();
  await new Promise((resolve) => {
    let started = 0;
    let done = 0;
    const one = () => {
      started++;
      generateKeyPair('x25519', {}, (err, _pub, priv) => {
        if (err) throw err;
        diffieHellman({ privateKey: priv, publicKey: recipient }, (err2) => {
          if (err2) throw err2;
          if (++done === target) resolve();
          else if (started < target) one();
        });
      });
    };
    one();
    one();
  });
  const elu = performance.eventLoopUtilization(before);
  const us = (elu.active * 1000) / target;
  return { ops: Math.round(1e6 / us), us, wallUs: ((performance.now() - start) * 1000) / target };
}

const record = {
  'http.request.method': 'GET', 'url.path': '/account', 'client.address': '203.0.113.0',
  'user.id': 'customer-8841', 'client.address.raw': '203.0.113.9',
};

const results = {};
results.tweetnacl = tight(() => tweetnaclSeal(VALUE));
const key = new SealingKey(publicKey);
results.native = tight(() => key.seal(VALUE));
results['async threadpool (event-loop share)'] = await threadpool();
const sealing = new PiiSealer({ sealingKey: key, pseudonymizer: new Pseudonymizer('bench') });
results['access record, sealed (2 values)'] = tight(() => sealing.apply({ ...record }));
const dropping = new PiiSealer({ pseudonymizer: new Pseudonymizer('bench') });
results['access record, pseudonyms only'] = tight(() => dropping.apply({ ...record }));

if (asJson) {
  console.log(JSON.stringify({ node: process.version, seconds, results }, null, 2));
} else {
  console.log(`sealing a ${VALUE.length}-byte value, node ${process.version}, ${seconds}s per variant`);
  console.log(`${'variant'.padEnd(38)} ${'ops/s'.padStart(9)} ${'µs/op'.padStart(9)}`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(38)} ${String(r.ops).padStart(9)} ${r.us.toFixed(1).padStart(9)}${r.wallUs ? `   (wall ${r.wallUs.toFixed(1)} µs/op)` : ''}`);
  }
  console.log(`native is ${(results.native.ops / results.tweetnacl.ops).toFixed(1)}× tweetnacl`);
}
