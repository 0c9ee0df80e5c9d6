// Shared fast-check settings for the fuzz suite. Every property runs with a fresh random seed
// unless FC_SEED is set, which replays one (fast-check prints `seed` and `path` with every failure,
// and shrinks the counterexample first). Run counts are small so the whole suite stays within
// seconds on two cores; FC_RUNS_SCALE multiplies them for a longer soak (e.g. FC_RUNS_SCALE=50).
import fc from 'fast-check';

const seed = process.env['FC_SEED'];
if (seed !== undefined && seed !== '') {
  const n = Number(seed);
  if (!Number.isSafeInteger(n)) throw new Error(`FC_SEED must be an integer, got '${seed}'`);
  fc.configureGlobal({ seed: n });
}

const scale = Number(process.env['FC_RUNS_SCALE'] ?? '1');
const SCALE = Number.isFinite(scale) && scale > 0 ? scale : 1;

/** The run count of one property: `n` by default, scaled by FC_RUNS_SCALE. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

export { fc };
