import { stripOrigin } from '../../net/path.js';

export { matchPath } from '../../net/path.js';

/**
 * Path handling of the MFA gate: the path routes are matched against, and the `next` value a
 * browser is sent back to. Both must resist the tricks that make a guard and a router disagree
 * (`//admin`, `/%61dmin`, `/x/../admin`, absolute-form targets) and that turn a return path into
 * an open redirect (`//evil.example`, `/\evil.example`, `http://evil.example/`).
 */

/** Leading slashes, backslashes and their (multiply) percent-encoded forms: what makes a path look like `//host`. */
const LEADING_SLASHES = /^(?:[/\\]|%(?:25)*(?:2f|5c))+/i;
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL_OR_SPACE = /[\x00-\x20\x7f]/g;
const MAX_NEXT = 2048;

/**
 * The return path for the MFA page: path and query of the request, never another origin. The
 * scheme and authority of an absolute-form target are dropped, control characters and spaces
 * removed (browsers strip tab and newline from URLs, which would turn `/\t/evil` into `//evil`),
 * and any run of leading slashes or backslashes, plain or percent-encoded, becomes one `/`.
 * Over-long values lose their query, then fall back to `/`.
 */
export function sameOriginNext(rawUrl: string): string {
  let t = rawUrl.startsWith('/') ? rawUrl : stripOrigin(rawUrl);
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  t = t.replace(CONTROL_OR_SPACE, '');
  t = t.replace(LEADING_SLASHES, '/');
  if (!t.startsWith('/')) t = `/${t}`;
  if (t.length > MAX_NEXT) {
    const q = t.indexOf('?');
    t = q >= 0 && q <= MAX_NEXT ? t.slice(0, q) : '/';
  }
  return t;
}

/** `mfaUrl` with `param=<URL-encoded next>` added to its query (before any fragment). */
export function redirectLocation(mfaUrl: string, param: string, next: string): string {
  const hash = mfaUrl.indexOf('#');
  const base = hash >= 0 ? mfaUrl.slice(0, hash) : mfaUrl;
  const fragment = hash >= 0 ? mfaUrl.slice(hash) : '';
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${param}=${encodeURIComponent(next)}${fragment}`;
}
