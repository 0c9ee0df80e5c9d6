// Small statistics for noisy machines: medians, spreads and paired ratios.

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Median with min/max and the spread (max − min) relative to the median. */
export function summary(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  const med = median(v);
  const min = Math.min(...v);
  const max = Math.max(...v);
  return { median: med, min, max, n: v.length, spread: med ? (max - min) / med : NaN };
}

/**
 * Ratios of paired samples (a[i] / b[i], taken in the same round, seconds apart) summarised; pairing
 * cancels most of a shared machine's slow drift, which a ratio of medians would keep.
 */
export function pairedRatio(a, b) {
  const r = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (b[i] > 0 && Number.isFinite(a[i])) r.push(a[i] / b[i]);
  return summary(r);
}

export const round = (x, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
