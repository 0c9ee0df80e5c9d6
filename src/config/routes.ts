import { ValueError, parseEnum, parseRate } from './parse-values.js';

/** A per-route rate-limit policy as resolved from the configuration. */
export interface RoutePolicy {
  /** `METHOD path` as written (the policy is `routeN` in headers, where names must be tokens). */
  readonly name: string;
  /** Upper-case methods; empty means every method. */
  readonly methods: readonly string[];
  readonly pattern: RegExp;
  readonly points: number;
  readonly windowMs: number;
  readonly algorithm: 'sliding' | 'fixed' | undefined;
}

const METHOD = /^[A-Z]+$/;
const algorithm = parseEnum('sliding', 'fixed');

/** `*` stays within a path segment, `**` crosses segments; everything else is literal. */
export function compilePathPattern(path: string): RegExp {
  if (!path.startsWith('/')) throw new ValueError(`route path '${path}' must start with '/'`);
  let out = '^';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '*') {
      if (path[i + 1] === '*') { out += '.*'; i++; } else out += '[^/]*';
    } else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  // Case-insensitive like Express's default router: matching more than the app never lets a path through.
  return new RegExp(`${out}$`, 'i');
}

function policy(methodPart: string | string[] | undefined, path: unknown, limit: unknown, algo: unknown): RoutePolicy {
  if (typeof path !== 'string') throw new ValueError('each route needs a `path` string');
  const methods = (Array.isArray(methodPart) ? methodPart : methodPart ? [methodPart] : []).map((m) => m.toUpperCase());
  for (const m of methods) if (!METHOD.test(m) && m !== '*') throw new ValueError(`'${m}' is not an HTTP method`);
  const { points, windowMs } = parseRate(limit);
  return {
    name: `${methods.length ? methods.join('|') : '*'} ${path}`,
    methods: methods.filter((m) => m !== '*'),
    pattern: compilePathPattern(path),
    points,
    windowMs,
    algorithm: algo === undefined ? undefined : algorithm(algo),
  };
}

/** Parses `'POST /login=5/60s, GET /api/**=50/10s'` or a list of `{method, path, limit, algorithm}`. */
export function parseRoutePolicies(value: unknown): RoutePolicy[] {
  if (typeof value === 'string') {
    return value.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
      const eq = entry.lastIndexOf('=');
      if (eq < 0) throw new ValueError(`route '${entry}' needs '=<points>/<window>', e.g. 'POST /login=5/60s'`);
      const lhs = entry.slice(0, eq).trim().split(/\s+/);
      const [method, path] = lhs.length === 1 ? [undefined, lhs[0]] : [lhs[0], lhs[1]];
      return policy(method, path, entry.slice(eq + 1), undefined);
    });
  }
  if (Array.isArray(value)) {
    return value.map((r: unknown) => {
      if (typeof r !== 'object' || r === null) throw new ValueError('each route must be an object {method, path, limit}');
      const o = r as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (!['method', 'path', 'limit', 'algorithm'].includes(k)) throw new ValueError(`unknown route field '${k}' (allowed: method, path, limit, algorithm)`);
      }
      const m = o['method'];
      if (m !== undefined && typeof m !== 'string' && !(Array.isArray(m) && m.every((x) => typeof x === 'string'))) {
        throw new ValueError('route `method` must be a string or a list of strings');
      }
      return policy(m as string | string[] | undefined, o['path'], o['limit'], o['algorithm']);
    });
  }
  throw new ValueError("expected 'METHOD /path=<points>/<window>, …' or a list of {method, path, limit}");
}
