import type { Timeline } from './schema.js';

/**
 * Series colours (Tableau 10): distinct on screen and in print; the report's limit of chart series
 * is the length of this list, so no two series share a colour.
 */
export const SERIES_COLORS = ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'] as const;
/** Events known only as counts (flood control), drawn hatched on top of their bucket. */
export const SUPPRESSED_COLOR = '#6b6b6b';
const MARK_COLORS = { integrity: '#c5221f', service: '#5f6368', defense: '#e8710a' } as const;

/** Escapes text for HTML and SVG (element content and quoted attribute values). */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return Math.max(1, m * mag);
  return Math.max(1, 10 * mag);
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function axisLabel(ms: number, bucketSeconds: number, previous: number | undefined): string {
  const iso = new Date(ms).toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 16);
  if (bucketSeconds >= 86_400) return day;
  // The date only where it changes: the axis stays short and still unambiguous.
  return previous === undefined || new Date(previous).toISOString().slice(0, 10) !== day ? `${day} ${time}` : time;
}

/**
 * The timeline as inline SVG: occurrences per bucket stacked by event type, events not
 * individually recorded hatched on top, buckets holding suspect records underlined in red, and
 * vertical marks for service starts/stops, defense changes and integrity problems. Drawn from the
 * report's numbers only; no script, no external reference, so it renders offline and in print.
 */
export function renderTimelineSvg(timeline: Timeline): string {
  const W = 1000;
  const H = 280;
  const left = 58;
  const right = 14;
  const top = 14;
  const bottom = 46;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const buckets = timeline.buckets;
  const n = buckets.length;
  const bucketMs = timeline.bucketSeconds * 1000;
  const startMs = n ? Date.parse(buckets[0]!.start) : 0;
  const endMs = startMs + n * bucketMs;
  let max = 0;
  for (const b of buckets) {
    const sum = b.counts.reduce((a, c) => a + c, 0) + b.notIndividuallyRecorded;
    if (sum > max) max = sum;
  }
  const step = niceStep(Math.max(max, 1), 4);
  const yMax = Math.max(step, Math.ceil(Math.max(max, 1) / step) * step);
  const y = (v: number): number => top + plotH - (v / yMax) * plotH;
  const slot = n ? plotW / n : plotW;
  const gap = slot > 6 ? Math.min(slot * 0.18, 6) : 0;
  const x = (ms: number): number => left + ((ms - startMs) / (endMs - startMs || 1)) * plotW;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Security event occurrences per ${esc(String(timeline.bucketSeconds))} s bucket">`);
  parts.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e3e3e3"/><rect width="3" height="6" fill="${SUPPRESSED_COLOR}"/></pattern></defs>`);
  // Grid and y axis.
  for (let v = 0; v <= yMax; v += step) {
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="${v === 0 ? '#444' : '#e2e2e2'}" stroke-width="1"/>`);
    parts.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#444">${esc(num(v))}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444" stroke-width="1"/>`);
  // Bars.
  for (let i = 0; i < n; i++) {
    const b = buckets[i]!;
    const bx = left + i * slot + gap / 2;
    const bw = Math.max(slot - gap, 1);
    let acc = 0;
    const title = `${b.start}: ${b.counts.map((c, s) => (c ? `${timeline.series[s]} ${c}` : '')).filter(Boolean).join(', ') || 'no recorded event'}` +
      (b.notIndividuallyRecorded ? `; ${b.notIndividuallyRecorded} not individually recorded` : '') + (b.suspect ? `; ${b.suspect} suspect` : '');
    parts.push(`<g><title>${esc(title)}</title>`);
    for (let s = 0; s < b.counts.length; s++) {
      const c = b.counts[s]!;
      if (c === 0) continue;
      const y0 = y(acc);
      const y1 = y(acc + c);
      parts.push(`<rect x="${bx.toFixed(1)}" y="${y1.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(y0 - y1, 2).toFixed(1)}" fill="${SERIES_COLORS[s % SERIES_COLORS.length]}"/>`);
      acc += c;
    }
    if (b.notIndividuallyRecorded > 0) {
      const y0 = y(acc);
      const y1 = y(acc + b.notIndividuallyRecorded);
      parts.push(`<rect x="${bx.toFixed(1)}" y="${y1.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(y0 - y1, 0.8).toFixed(1)}" fill="url(#hatch)" stroke="${SUPPRESSED_COLOR}" stroke-width="0.6"/>`);
    }
    if (b.suspect > 0) {
      parts.push(`<rect x="${bx.toFixed(1)}" y="${(top + plotH + 2).toFixed(1)}" width="${bw.toFixed(1)}" height="4" fill="${MARK_COLORS.integrity}"/>`);
    }
    parts.push('</g>');
  }
  // Marks: when services started or stopped, defenses changed, or the log was damaged.
  for (const e of timeline.entries) {
    const kind = e.kind === 'integrity' || e.kind === 'service' || e.kind === 'defense' ? e.kind : undefined;
    if (!kind || n === 0) continue;
    const ms = Date.parse(e.ts);
    if (ms < startMs || ms > endMs) continue;
    const xx = x(ms).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${top}" y2="${top + plotH}" stroke="${MARK_COLORS[kind]}" stroke-width="1.5" stroke-dasharray="4 3"><title>${esc(`${e.ts} ${e.text}`)}</title></line>`);
  }
  // X axis labels: at most eight, on bucket boundaries.
  if (n > 0) {
    const every = Math.max(1, Math.ceil(n / 8));
    let previous: number | undefined;
    for (let i = 0; i < n; i += every) {
      const ms = startMs + i * bucketMs;
      const xx = left + i * slot;
      parts.push(`<line x1="${xx.toFixed(1)}" x2="${xx.toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 8}" stroke="#444"/>`);
      parts.push(`<text x="${xx.toFixed(1)}" y="${top + plotH + 20}" font-size="11" fill="#444" text-anchor="${i === 0 ? 'start' : 'middle'}">${esc(axisLabel(ms, timeline.bucketSeconds, previous))}</text>`);
      previous = ms;
    }
    parts.push(`<text x="${W - right}" y="${H - 4}" font-size="11" fill="#666" text-anchor="end">UTC, one bar per ${esc(bucketLabel(timeline.bucketSeconds))}</text>`);
  } else {
    parts.push(`<text x="${left + plotW / 2}" y="${top + plotH / 2}" font-size="14" fill="#666" text-anchor="middle">No security event in the window</text>`);
  }
  parts.push(`<text x="14" y="${top + plotH / 2}" font-size="11" fill="#444" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">occurrences</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function bucketLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day(s)`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour(s)`;
  if (seconds % 60 === 0) return `${seconds / 60} minute(s)`;
  return `${seconds} second(s)`;
}
