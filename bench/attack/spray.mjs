// Distinct-IP spray, in-process: rate-limit state for N distinct clients in our WindowStore vs
// rate-limiter-flexible's RateLimiterMemory vs express-rate-limit's MemoryStore (no cap), one fresh
// pinned process per store (bench/attack/spray-worker.mjs).
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../lib/env.mjs';
import { runJson } from '../lib/proc.mjs';

const WORKER = fileURLToPath(new URL('./spray-worker.mjs', import.meta.url));
export const SPRAY_STORES = ['window-store', 'window-store:1250000', 'rate-limiter-flexible', 'express-rate-limit'];

export async function runSpray({ keys, stores = SPRAY_STORES, log }) {
  const results = {};
  for (const store of stores) {
    const r = await runJson({ label: `spray ${store}`, args: ['--expose-gc', WORKER, store, String(keys)], env: cleanEnv() });
    results[store] = r;
    log(`  spray ${store.padEnd(22)} ${(r.bytesPerKey).toFixed(1).padStart(6)} B/key  retained ${(r.retainedBytes / 2 ** 20).toFixed(1)} MiB  peak RSS +${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB${r.evictions !== undefined ? `  tracked ${r.tracked} evicted ${r.evictions}` : ''}`);
  }
  return { keys, stores: results };
}
