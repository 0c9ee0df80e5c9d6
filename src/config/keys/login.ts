import { ValueError, parseDuration, parseEnum, parseRate, parseStringList } from '../parse-values.js';
import { compilePathPattern } from '../routes.js';
import type { KeySpec } from '../schema.js';

/** A login route: method (or any) and a path pattern. */
export interface LoginRoute {
  readonly methods: readonly string[];
  readonly pattern: RegExp;
}

function parseLoginRoutes(value: unknown): LoginRoute[] {
  return parseStringList(value).map((entry) => {
    const parts = entry.trim().split(/\s+/);
    const [method, path] = parts.length === 1 ? [undefined, parts[0]] : [parts[0], parts[1]];
    if (!path) throw new ValueError(`login route '${entry}' needs a path, e.g. 'POST /login'`);
    if (method !== undefined && !/^[A-Za-z]+$/.test(method)) throw new ValueError(`'${method}' is not an HTTP method`);
    return { methods: method ? [method.toUpperCase()] : [], pattern: compilePathPattern(path) };
  });
}

function parseStatuses(value: unknown): number[] {
  const list = Array.isArray(value) ? value.map(String) : parseStringList(value);
  return list.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 100 || n > 599) throw new ValueError(`'${s}' is not an HTTP status code`);
    return n;
  });
}

/** Configuration keys of login-failure tracking (documented in the README table like every key). */
export const LOGIN_KEYS: readonly KeySpec[] = [
  { key: 'login.mode', env: 'NIS2_LOGIN_MODE', defaultText: 'the global `mode` when routes are set', parse: parseEnum('enforce', 'monitor', 'off'),
    doc: 'Brute-force and credential-stuffing lockouts on the login routes: `enforce`, `monitor` or `off`.' },
  { key: 'login.routes', env: 'NIS2_LOGIN_ROUTES', defaultValue: [], parse: parseLoginRoutes,
    doc: "Login routes, e.g. `'POST /login, POST /api/session'` (`*`/`**` globs). A response status in `login.failureStatuses` counts as a failed login." },
  { key: 'login.failureStatuses', env: 'NIS2_LOGIN_FAILURE_STATUSES', defaultValue: '401,403', parse: parseStatuses,
    doc: 'Response statuses of a login route that count as a failure.' },
  { key: 'login.maxPerIp', env: 'NIS2_LOGIN_MAX_PER_IP', defaultValue: '10/15m', parse: parseRate,
    doc: 'Failed logins allowed per client address per window before it is locked out of the login routes.' },
  { key: 'login.maxPerUser', env: 'NIS2_LOGIN_MAX_PER_USER', defaultValue: '5/15m', parse: parseRate,
    doc: 'Failed logins allowed per username (from `trackLoginFailure` or `login.usernameFrom`) per window before it is locked out.' },
  { key: 'login.lockout', env: 'NIS2_LOGIN_LOCKOUT', defaultValue: '15m', parse: parseDuration,
    doc: 'How long a locked-out address or username is refused (429 on the login routes).' },
  { key: 'login.usernameFrom', env: 'NIS2_LOGIN_USERNAME_FROM', parse: parseStringList, defaultText: 'none',
    doc: "Where to read the username at response time: `body.<field>` (the app's parsed body, e.g. `body.username`), `header.<name>` or `query.<name>`; or call `trackLoginFailure(req, username)` in code." },
];

/** Options of login-failure tracking, as accepted in code and in the config file. */
export interface LoginOptions {
  login?: {
    mode?: 'enforce' | 'monitor' | 'off'; routes?: string | string[]; failureStatuses?: string | number[];
    maxPerIp?: string; maxPerUser?: string; lockout?: string | number; usernameFrom?: string | string[];
  };
}
