/** Time handling for the report: strict RFC 3339 input, bucket sizes, calendar months. */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Milliseconds since the epoch for an RFC 3339 date-time with an explicit offset (`Z` or `±hh:mm`),
 * or undefined. Stricter than `Date.parse`, which accepts local times and rolls `02-30` over to
 * March: a report window given wrong must be refused, not silently moved.
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(text.trim().toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/** RFC 3339 UTC with milliseconds, the form envelopes use. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `5m`, `1h`, `1d` → seconds; undefined for anything else (including 0). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return seconds > 0 ? seconds : undefined;
}

/** `300` → `5m`: how bucket sizes are shown. */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** Bucket sizes a reader can reason about; the chart picks the smallest that keeps it legible. */
const NICE_BUCKETS_S = [60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 604_800];

/** Most buckets an automatically sized chart has. */
export const MAX_AUTO_BUCKETS = 100;

/** The smallest nice bucket size that splits `spanMs` into at most {@link MAX_AUTO_BUCKETS} buckets. */
export function chooseBucketSeconds(spanMs: number): number {
  for (const size of NICE_BUCKETS_S) {
    if (Math.floor(spanMs / (size * 1000)) + 1 <= MAX_AUTO_BUCKETS) return size;
  }
  return Math.ceil(spanMs / 1000 / (MAX_AUTO_BUCKETS - 1) / 86_400) * 86_400;
}

/** Start of the bucket holding `ms`; buckets are aligned on the epoch, so reports of one log agree. */
export function bucketStart(ms: number, bucketMs: number): number {
  return Math.floor(ms / bucketMs) * bucketMs;
}

/**
 * `ms` plus `months` calendar months in UTC, clamped to the month's last day (31 Jan + 1 month =
 * 28/29 Feb), as legal "one month" periods are counted.
 */
export function addMonthsUtc(ms: number, months: number): number {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + months;
  const targetYear = year + Math.floor(month / 12);
  const targetMonth = ((month % 12) + 12) % 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(targetYear, targetMonth + 1));
  return Date.UTC(targetYear, targetMonth, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}
