/**
 * Value parsers shared by every config source. Each takes the raw value (a string from the
 * environment, or a typed value from a file or code) and returns the parsed value or throws a
 * `ValueError` whose message says what was expected; the loader adds which key it was.
 */
export class ValueError extends Error {}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `60s`, `5m`, `1h`; a bare number means seconds. Returns milliseconds. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(value);
    if (m) return Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
  }
  throw new ValueError("expected a duration such as '500ms', '60s', '5m' or '1h'");
}

/** `<points>/<window>`, e.g. `100/60s`, `5/min`, `1000/1h`. */
export function parseRate(value: unknown): { points: number; windowMs: number } {
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*\/\s*(\d*(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(value);
    if (m) {
      const points = Number(m[1]);
      const windowMs = (m[2] === '' ? 1 : Number(m[2])) * DURATION_UNITS[m[3] ?? 's']!;
      if (points >= 1 && points <= 0xffff_fffe && windowMs >= 1000 && windowMs <= 86_400_000 * 7) {
        return { points, windowMs };
      }
    }
  }
  throw new ValueError("expected '<points>/<window>' such as '100/60s' or '5/min' (1 ≤ points, 1s ≤ window ≤ 7d)");
}

export function parseInteger(min: number, max: number) {
  return (value: unknown): number => {
    const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    throw new ValueError(`expected an integer from ${min} to ${max}`);
  };
}

export function parseBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
  }
  throw new ValueError('expected true or false');
}

export function parseEnum<T extends string>(...allowed: T[]) {
  return (value: unknown): T => {
    if (typeof value === 'string' && (allowed as string[]).includes(value.trim())) return value.trim() as T;
    throw new ValueError(`expected one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  };
}

export function parseString(value: unknown): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ValueError('expected a non-empty string');
}

/** A comma-separated string or an array of strings. */
export function parseStringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((s) => s.trim());
  throw new ValueError('expected a comma-separated string or a list of strings');
}
