// Runs bench/micro/worker.mjs in one fresh process pinned to the server core.
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../lib/env.mjs';
import { runJson } from '../lib/proc.mjs';

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

export async function runMicro({ sliceMs, reps, verifyRecordsCount, log }) {
  const r = await runJson({ label: 'micro', args: [WORKER, JSON.stringify({ sliceMs, reps, verifyRecordsCount })], env: cleanEnv() });
  for (const [k, v] of Object.entries(r.signing)) log(`  sign ${k.padEnd(24)} ${Math.round(v.perSec.median).toString().padStart(8)} /s (spread ${(v.perSec.spread * 100).toFixed(0)}%)`);
  for (const [k, v] of Object.entries(r.verify)) log(`  verify ${k.padEnd(22)} ${Math.round(v.perSec.median).toString().padStart(8)} records/s (${v.state})`);
  return r;
}
