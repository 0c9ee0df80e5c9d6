import type { AnyRequest } from '../defenses/types.js';

const MAX_COOKIE_HEADER = 8192;
const MAX_COOKIES = 64;

/**
 * Reads one cookie's value without parsing the whole header into an object (no allocation for the
 * other cookies). Bounded: header cut at 8 KiB, at most 64 pairs looked at; values are not
 * URI-decoded (session ids are compared as sent).
 */
export function readCookie(req: AnyRequest, name: string): string | undefined {
  const header = req.headers['cookie'];
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  const bounded = text.length > MAX_COOKIE_HEADER ? text.slice(0, MAX_COOKIE_HEADER) : text;
  let start = 0;
  for (let n = 0; n < MAX_COOKIES && start < bounded.length; n++) {
    let end = bounded.indexOf(';', start);
    if (end < 0) end = bounded.length;
    const eq = bounded.indexOf('=', start);
    if (eq > start && eq < end && bounded.slice(start, eq).trim() === name) {
      let value = bounded.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

/** The bearer token of an `Authorization: Bearer …` header (bounded to 8 KiB). */
export function readBearer(req: AnyRequest): string | undefined {
  const auth = req.headers['authorization'];
  if (typeof auth !== 'string' || auth.length > MAX_COOKIE_HEADER) return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(auth);
  return m ? m[1] : undefined;
}
