/**
 * The request path every defense matches routes against. It must resist the tricks that make a
 * guard and a router disagree (`//admin`, `/%61dmin`, `/x/../admin`, absolute-form targets), or a
 * route policy (rate limit, login lockout, MFA gate) could be bypassed by spelling the path
 * differently from how the app's router reads it.
 */

/** Anything a router might read differently from the raw path: escapes, backslashes, `//`, dot segments, absolute form. */
const NEEDS_NORMALISING = /%|\\|\/\/|\/\.|^[^/]/;
const ASCII_ESCAPE = /%([0-9A-Fa-f]{2})/g;

/** `http://host:port/p?q` (absolute-form request target) → `/p?q`; anything without a path → `/`. */
export function stripOrigin(target: string): string {
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
 * The same path with `.` and `..` kept as literal segments (decoded once, `\` read as `/`, empty
 * segments dropped), for routers that do not resolve dot segments (Express, find-my-way): to them
 * `/admin/..` is under `/admin`. Returns undefined when it equals {@link matchPath}'s result, so a
 * route policy tests at most two spellings and protects when either matches.
 */
export function literalPathVariant(path: string, resolved: string): string | undefined {
  if (!NEEDS_NORMALISING.test(path)) return undefined;
  let p = path.startsWith('/') ? path : stripOrigin(path);
  if (p.includes('%')) p = p.replace(ASCII_ESCAPE, (m, hex: string) => { const c = parseInt(hex, 16); return c < 0x80 ? String.fromCharCode(c) : m; });
  p = p.replaceAll('\\', '/');
  const segments = p.split('/').filter((seg, i, all) => seg !== '' || i === all.length - 1);
  const literal = `/${segments.join('/')}`.replace(/\/{2,}/g, '/');
  return literal === resolved ? undefined : literal;
}
