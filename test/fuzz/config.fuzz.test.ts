// Property-based fuzzing of loadConfig (DESIGN §7): whatever the environment, the options given in
// code or the config file hold, it returns a deep-frozen config or throws a Nis2Error with a
// documented NIS2_ERR_* code — never another exception — and no error message repeats a secret.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CONFIG_KEYS, ERROR_CODES, loadConfig, Nis2Error, type Nis2Config } from '../../dist/esm/index.js';
import { fc, runs } from './fc.ts';

/** Marks every secret the properties hand in; no message may contain it. */
const MARK = 'Zq8xSECRETx8qZ';
const CWD = mkdtempSync(join(tmpdir(), 'nis2-fuzz-config-'));
const FILES = mkdtempSync(join(tmpdir(), 'nis2-fuzz-config-file-'));
const SECRET_KEYS = CONFIG_KEYS.filter((k) => k.secret);
const ENV_NAMES = CONFIG_KEYS.flatMap((k) => (k.env ? [k.env] : []));
const SECRET_ENV = new Set(SECRET_KEYS.flatMap((k) => (k.env ? [k.env] : [])));
const KEY_PATHS = CONFIG_KEYS.map((k) => k.key);
const SECRET_PATHS = new Set(SECRET_KEYS.map((k) => k.key));

/** Values that get past many parsers, so the cross-key checks run too. */
const PLAUSIBLE = fc.constantFrom(
  'on', 'off', 'auto', 'enforce', 'monitor', 'record', 'chain', 'sliding', 'all', 'blocked', 'true', 'false', '0', '1', '10', '32', '-1',
  '1s', '500ms', '5m', '100/60s', '5/min', '0/1s', 'loopback', 'private', '10.0.0.0/8', '::1/128', '/admin', 'GET /admin', 'POST /login=5/60s',
  '/mfa', 'https://idp.example/jwks', 'http://127.0.0.1:1/x', 'redis://127.0.0.1:6379', 'x-auth-mfa', 'HS256', 'RS256', 'none', 'mfa,otp',
  '[]', '[{"type":"slack","url":"https://hooks.example/x"}]', '.nis2', '/dev/null', 'events.jsonl', '',
);
const secretValue = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => `${s}${MARK}`),
  fc.constantFrom(
    `redis://user:${MARK}@127.0.0.1:6379/0`, `rediss://:${MARK}@h:6380`, `redis//:${MARK}@`, `http://:${MARK}@h`, `${MARK}`,
    `[{"type":"json","url":"https://hooks.example/${MARK}","secret":"${MARK}${MARK}${MARK}"}]`, `[{"type":"slack","url":"${MARK}"}]`, `[{"type":${MARK}`,
    `-----BEGIN PRIVATE KEY-----\n${MARK}\n-----END PRIVATE KEY-----`, `${MARK}${MARK}${MARK}`,
  ),
);
const envValue = fc.oneof(PLAUSIBLE, fc.string({ maxLength: 30 }));

const env = fc.array(fc.tuple(fc.constantFrom(...ENV_NAMES, 'NIS2_CONFIG_FILE', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'NIS2_NOT_A_KEY'), envValue, secretValue), { maxLength: 12 })
  .map((entries) => Object.fromEntries(entries.map(([name, value, secret]) => [name, SECRET_ENV.has(name) ? secret : value])));

const jsonish = fc.oneof(PLAUSIBLE, fc.jsonValue({ maxDepth: 3 }), fc.array(PLAUSIBLE, { maxLength: 3 }), fc.constant(undefined));
const keyPath = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...KEY_PATHS) }, { weight: 1, arbitrary: fc.constantFrom('rateLimit.limt', 'foo', 'signing.bar', 'mfa.jwt', 'export', 'constructor', '__proto__.x', 'toString') });

/** Builds `{a: {b: value}}` from dotted paths (later paths win, a leaf may replace a branch). */
function nest(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of entries) {
    const parts = path.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      const next = Object.getOwnPropertyDescriptor(node, p)?.value;
      if (typeof next !== 'object' || next === null || Array.isArray(next)) Object.defineProperty(node, p, { value: {}, enumerable: true, writable: true, configurable: true });
      node = Object.getOwnPropertyDescriptor(node, p)!.value as Record<string, unknown>;
    }
    Object.defineProperty(node, parts[parts.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

const options = (value: fc.Arbitrary<unknown>) => fc.array(fc.tuple(keyPath, value, secretValue), { maxLength: 10 })
  .map((entries) => nest(entries.map(([path, v, secret]) => [path, SECRET_PATHS.has(path) ? secret : v] as const)));

/** Values only code can pass: BigInt, cycles, functions, symbols, class instances. */
const codeValue = fc.oneof(
  fc.bigInt(),
  fc.constant(null).map(() => { const o: Record<string, unknown> = { path: '/x', limit: '1/s' }; o['self'] = o; return o; }),
  fc.constant(null).map(() => { const a: unknown[] = ['/x']; a.push(a); return a; }),
  fc.constant(() => true),
  fc.constant(Symbol('s')),
  // Fresh instances per run: nest() may hang properties on them.
  fc.nat(7).map((i) => [() => new Date(0), () => new Map([['a', 1]]), () => new Set([1]), () => /re/, () => NaN, () => Infinity, () => -0, () => new Uint8Array(2)][i]!()),
  jsonish,
);

function assertDeepFrozen(value: unknown, where: string, seen = new Set<unknown>()): void {
  if (typeof value !== 'object' || value === null || value instanceof RegExp || value instanceof Map || ArrayBuffer.isView(value) || seen.has(value)) return;
  seen.add(value);
  assert.ok(Object.isFrozen(value), `${where} is not frozen`);
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${where}.${k}`, seen);
}

/** The contract: a frozen config, or a Nis2Error with a documented code and no secret in it. */
function loadsOrRefuses(load: () => Nis2Config): void {
  let config: Nis2Config;
  try {
    config = load();
  } catch (err) {
    assert.ok(err instanceof Nis2Error, `threw ${(err as Error)?.constructor?.name ?? typeof err}: ${(err as Error)?.message}`);
    assert.ok(Object.hasOwn(ERROR_CODES, err.code) && err.code.startsWith('NIS2_ERR_'), err.code);
    assert.ok(!err.message.includes(MARK), `the message repeats a secret: ${err.message}`);
    return;
  }
  assertDeepFrozen(config, 'config');
  for (const [key, value] of config.values) assertDeepFrozen(value, `values.get('${key}')`);
}

describe('loadConfig', () => {
  test('random environments: a frozen config or a NIS2_ERR_* error that names no secret', () => {
    fc.assert(fc.property(env, (e) => {
      loadsOrRefuses(() => loadConfig({ env: e, cwd: CWD }));
    }), { numRuns: runs(400) });
  });

  test('random option objects (JSON-like, unknown and misspelt keys included), with and without an environment', () => {
    fc.assert(fc.property(options(jsonish), fc.option(env, { nil: {} }), (o, e) => {
      loadsOrRefuses(() => loadConfig({ options: o as never, env: e, cwd: CWD }));
    }), { numRuns: runs(400) });
  });

  test('option values only code can pass (BigInt, cycles, functions, symbols) are refused cleanly too', () => {
    fc.assert(fc.property(options(codeValue), (o) => {
      loadsOrRefuses(() => loadConfig({ options: o as never, env: {}, cwd: CWD }));
    }), { numRuns: runs(300), examples: [
      [{ trustedProxyHops: 5n }],
      [(() => { const r: Record<string, unknown> = { path: '/x', limit: 'bad' }; r['self'] = r; return { rateLimit: { routes: [r] } }; })()],
      [(() => { const p: Record<string, unknown> = {}; p['self'] = p; return { mfa: { predicate: p } }; })()],
    ] });
  });

  test('whatever the top level is, it is an options object or a clean error', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue({ maxDepth: 1 }), codeValue), (o) => {
      loadsOrRefuses(() => loadConfig({ options: o as never, env: {}, cwd: CWD }));
    }), { numRuns: runs(100) });
  });

  test('a damaged JSON or YAML config file is refused without quoting the secrets it holds', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9+/]{24,44}$/).map((s) => `sk_${s}`);
    const damage = fc.record({ kind: fc.constantFrom('unquote', 'unclosed', 'comma', 'insert', 'truncate'), at: fc.nat(400), char: fc.constantFrom('x', '}', ',', ':', '"', ' ', '{') });
    fc.assert(fc.property(secret, secret, damage, fc.boolean(), (hmacKey, password, d, yaml) => {
      let text = yaml
        ? `mode: enforce\nsigning:\n  hmacKey: "${hmacKey}"\nredis:\n  url: "redis://:${password}@127.0.0.1:6379"\n`
        : JSON.stringify({ mode: 'enforce', signing: { hmacKey }, redis: { url: `redis://:${password}@127.0.0.1:6379` } });
      const at = text.indexOf(hmacKey);
      switch (d.kind) {
        case 'unquote': text = text.replace(`"${hmacKey}"`, hmacKey); break;
        case 'unclosed': text = text.replace(`${hmacKey}"`, hmacKey); break;
        case 'comma': text = text.replace(`${hmacKey}"`, `${hmacKey}",`); break;
        case 'insert': { const i = (at + (d.at % (hmacKey.length + 8))) % text.length; text = text.slice(0, i) + d.char + text.slice(i); break; }
        case 'truncate': text = text.slice(0, at + (d.at % hmacKey.length)); break;
      }
      const file = join(FILES, yaml ? 'nis2.yaml' : 'nis2.json');
      writeFileSync(file, text);
      let message = '';
      try {
        loadConfig({ env: { NIS2_CONFIG_FILE: file }, cwd: CWD });
      } catch (err) {
        assert.ok(err instanceof Nis2Error, String(err));
        message = err.message;
      }
      for (const s of [hmacKey, password]) {
        for (let i = 0; i + 8 <= s.length; i++) {
          assert.ok(!message.includes(s.slice(i, i + 8)), `the error quotes part of a secret ('${s.slice(i, i + 8)}'): ${message}`);
        }
      }
    }), { numRuns: runs(200), examples: [['sk_SECRETSECRETSECRETSECRET0', 'sk_PASSWORDPASSWORDPASSWORD1', { kind: 'unquote', at: 0, char: 'x' }, false]] });
  });
});
