/**
 * Path handling of the MFA gate: the path routes are matched against, and the `next` value a
 * browser is sent back to. Both must resist the tricks that make a guard and a router disagree
 * (`//admin`, `/%61dmin`, `/x/../admin`, absolute-form targets) and that turn a return path into
 * an open redirect (`//evil.example`, `/\evil.example`, `http://evil.example/`).
 */

/** Anything a router might read differently from the raw path: escapes, backslashes, `//`, dot segments, absolute form. */
const NEEDS_NORMALISING = /%|\\|\/\/|\/\.|^[^/]/;
const ASCII_ESCAPE = /%([0-9A-Fa-f]{2})/g;
/** Leading slashes, backslashes and their (multiply) percent-encoded forms: what makes a path look like `//host`. */
const LEADING_SLASHES = /^(?:[/\\]|%(?:25)*(?:2f|5c))+/i;
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL_OR_SPACE = /[\x00-\x20\x7f]/g;
const MAX_NEXT = 2048;

/** `http://host:port/p?q` (absolute-form request target) → `/p?q`; anything without a path → `/`. */
function stripOrigin(target: string): string {
  const scheme = target.indexOf('://');
  if (scheme < 0) return target.startsWith('/') ? target : '/';
  const slash = target.indexOf('/', scheme + 3);
  const query = target.indexOf('?', scheme + 3);
  if (slash < 0 || (query >= 0 && query < slash)) return query >= 0 ? `/${target.slice(query)}` : '/';
  return target.slice(slash);
}

/**
 * The path routes are matched against. Returns the input unchanged (no allocation) in the common
 * case; otherwise: the path of an absolute-form target, ASCII `%XX` decoded once (find-my-way and
 * others route on the decoded path), `\` read as `/` (WHATWG URL parsing), empty segments dropped,
 * `.`/`..` resolved. It may match more than the app's router would; never less.
 */
export function matchPath(path: string): string {
  if (!NEEDS_NORMALISING.test(path)) return path;
  let p = path.startsWith('/') ? path : stripOrigin(path);
  if (p.includes('%')) p = p.replace(ASCII_ESCAPE, (m, hex: string) => { const c = parseInt(hex, 16); return c < 0x80 ? String.fromCharCode(c) : m; });
  p = p.replaceAll('\\', '/');
  const segments = p.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '..') out.pop();
    else if (s === '.' || (s === '' && i < segments.length - 1)) continue;
    else out.push(s);
  }
  return `/${out.join('/')}`;
}

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
