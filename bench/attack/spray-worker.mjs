// One store, one fresh process (`node --expose-gc`): N distinct IPv4 clients hit it once each,
// keyed directly (no HTTP), and we report the state's bytes per key and the process's peak memory.
// Run by bench/attack/spray.mjs for each store so no store's garbage counts against another.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, requireFromRoot } from '../lib/env.mjs';

const [storeArg, nArg] = process.argv.slice(2);
// `window-store:<maxKeys>` sizes our store's cap (default 1,000,000, the guard's default).
const [store, capArg] = storeArg.split(':');
const CAP = Number(capArg ?? 1_000_000);
const N = Number(nArg);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

const ipOf = (i) => {
  const v = (0x0b000000 + i) >>> 0; // 11.0.0.0 onwards: N distinct addresses (keys only, never contacted)
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
};
const mem = () => {
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
};
const settle = () => { globalThis.gc(); globalThis.gc(); return mem(); };

const CHUNK = 10_000;
let hitOne; // (ip) => void | Promise
let info = () => ({});
let keep; // the store must stay reachable until the last measurement
if (store === 'window-store') {
  const { WindowStore } = await import(pathToFileURL(join(ROOT, 'dist/esm/index.js')).href);
  const { clientKey } = await import(pathToFileURL(join(ROOT, 'dist/esm/defenses/client-key.js')).href);
  // The defaults of the guard's default policy: 100/60s sliding, maxKeys 1,000,000.
  const s = new WindowStore({ points: 100, windowMs: 60_000, sliding: true, maxKeys: CAP });
  const key = { hi: 0, lo: 0 };
  const out = { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 };
  const now = Date.now();
  hitOne = (ip) => { clientKey(ip, 56, key); s.hit(key.hi, key.lo, now, out); };
  info = () => ({ tracked: s.size, evictions: s.evictions, tableBytes: s.bytes, maxKeys: 1_000_000 });
  keep = s;
} else if (store === 'rate-limiter-flexible') {
  const { RateLimiterMemory } = requireFromRoot('rate-limiter-flexible');
  const s = new RateLimiterMemory({ points: 100, duration: 60 });
  hitOne = (ip) => s.consume(ip);
  keep = s;
} else if (store === 'express-rate-limit') {
  const { MemoryStore } = requireFromRoot('express-rate-limit');
  const s = new MemoryStore();
  s.init({ windowMs: 60_000 });
  hitOne = (ip) => s.increment(ip);
  info = () => ({ tracked: s.current.size + s.previous.size });
  keep = s;
} else {
  throw new Error(`unknown store ${store}`);
}

const base = settle();
let peakRss = base.rss;
let peakHeap = base.heap;
const t0 = performance.now();
for (let i = 0; i < N; i += CHUNK) {
  const pending = [];
  for (let j = i; j < Math.min(N, i + CHUNK); j++) {
    const p = hitOne(ipOf(j));
    if (p) pending.push(p);
  }
  if (pending.length) await Promise.all(pending);
  const m = mem();
  if (m.rss > peakRss) peakRss = m.rss;
  if (m.heap > peakHeap) peakHeap = m.heap;
}
const seconds = (performance.now() - t0) / 1000;
const after = settle();
const extra = info();
process.stdout.write(`${JSON.stringify({
  store: storeArg,
  keys: N,
  seconds,
  keysPerSec: N / seconds,
  retainedBytes: after.heap - base.heap,
  bytesPerKey: (after.heap - base.heap) / N,
  peakHeapBytes: peakHeap - base.heap,
  peakRssBytes: peakRss - base.rss,
  baseRssBytes: base.rss,
  ...extra,
  alive: keep !== undefined,
})}\n`);
process.exit(0); // rate-limiter-flexible holds one timer per key
