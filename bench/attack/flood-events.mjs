// Events under a flood: a distinct-address flood through a trusted proxy (X-Forwarded-For from a
// pool of addresses, each over its 1/60 s limit within the run) against the register hook, then the
// JSONL events file is read back and its security records counted per second against
// NIS2_EVENTS_BUDGET. The token bucket starts full, so at most budget × (seconds + 1) events may
// appear during the flood.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from '../lib/load.mjs';
import { closedPort, startServer } from '../lib/proc.mjs';
import { processSpec } from '../http/variants.mjs';

export async function runFloodEvents({ durationS, connections, loader, tmp, log, budget = 200, pool = 10_000 }) {
  const dir = join(tmp, 'flood-events');
  const spec = processSpec('guard', 'hello', { dir, closedPort: await closedPort() });
  Object.assign(spec.env, { NIS2_RATE_LIMIT: '1/60s', NIS2_TRUSTED_PROXIES: 'loopback', NIS2_EVENTS_BUDGET: String(budget) });
  const server = await startServer({ label: 'flood-events', ...spec });
  let load;
  const startMs = Date.now();
  try {
    load = await runLoad({ url: server.url, durationS, connections, loader, xffPool: pool });
  } finally {
    await server.stop();
  }
  const endMs = Date.now();
  const lines = readFileSync(spec.env.NIS2_EVENTS_FILE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const byEvent = {};
  const perSecond = new Map();
  let suppressedReported = 0;
  let aggregatedReported = 0;
  let inFlood = 0;
  for (const e of lines) {
    byEvent[e.event] = (byEvent[e.event] ?? 0) + 1;
    if (e.event.startsWith('nis2.integrity.')) continue;
    if (e.event === 'nis2.events.suppressed') suppressedReported += Number(e.attrs['nis2.suppressed.count'] ?? 0);
    if (e.attrs['nis2.aggregate.count'] !== undefined) aggregatedReported += Number(e.attrs['nis2.aggregate.count']);
    const t = Date.parse(e.ts);
    if (t < startMs || t > endMs) continue;
    inFlood++;
    const sec = Math.floor((t - startMs) / 1000);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
  }
  const seconds = (endMs - startMs) / 1000;
  const result = {
    budget,
    pool,
    seconds,
    requests: load.requests,
    blocked: load.non2xx,
    floodRps: load.rps,
    securityEventsInFlood: inFlood,
    eventsPerSec: inFlood / seconds,
    peakSecond: Math.max(0, ...perSecond.values()),
    allowed: Math.ceil(budget * (seconds + 1)),
    suppressedReported,
    aggregatedReported,
    byEvent,
  };
  log(`  flood ${Math.round(load.rps)} req/s, ${load.non2xx} blocked → ${inFlood} security events in ${seconds.toFixed(1)} s (${result.eventsPerSec.toFixed(0)}/s, peak second ${result.peakSecond}; budget ${budget}/s), suppressed reported ${suppressedReported}`);
  return result;
}
