/** Most hops we read from a forwarding header; longer chains are cut from the left (the forgeable side). */
export const MAX_HOPS = 32;
const MAX_HEADER = 4096;

/** `X-Forwarded-For: a, b, c` → ['a','b','c'] (rightmost last), at most the last MAX_HOPS. */
export function parseXForwardedFor(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  const tail = text.length > MAX_HEADER ? text.slice(text.length - MAX_HEADER) : text;
  const hops = tail.split(',');
  const out: string[] = [];
  for (let i = Math.max(0, hops.length - MAX_HOPS); i < hops.length; i++) out.push(hops[i]!.trim());
  return out;
}

/**
 * RFC 7239 `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"` → the `for` values,
 * rightmost last, ports stripped. Elements without `for` yield '' (unknown hop).
 */
export function parseForwarded(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : value;
  const tail = text.length > MAX_HEADER ? text.slice(text.length - MAX_HEADER) : text;
  const out: string[] = [];
  const elements = tail.split(',');
  for (let e = Math.max(0, elements.length - MAX_HOPS); e < elements.length; e++) {
    let found = '';
    for (const pair of elements[e]!.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let v = pair.slice(eq + 1).trim();
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      if (v.startsWith('[')) {
        const end = v.indexOf(']');
        v = end > 0 ? v.slice(1, end) : '';
      } else if (v.indexOf(':') === v.lastIndexOf(':') && v.includes(':')) {
        v = v.slice(0, v.indexOf(':')); // IPv4 with port
      }
      found = v;
    }
    out.push(found);
  }
  return out;
}
