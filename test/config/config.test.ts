// Configuration: one schema, three sources (code > env > file), errors that name the key and the
// fix, secrets never echoed, and a misconfigured app that stops before it serves.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createNis2LogPipeline, loadConfig, Nis2Error, type LoadConfigInput } from '../../dist/esm/index.js';
import { appDir, cleanup, countCode, runApp, tempDir, TEST_SIGNING_KEY, type Hook } from '../helpers/spawn-app.ts';

after(cleanup);

/** loadConfig's error, asserted to be a Nis2Error with `code`. */
function configError(input: LoadConfigInput, code: string): Nis2Error {
  try {
    loadConfig(input);
  } catch (err) {
    assert.ok(err instanceof Nis2Error, `expected a Nis2Error, got ${(err as Error)?.stack}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`loadConfig(${JSON.stringify(input)}) did not throw ${code}`);
}

function file(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('precedence: code > environment > file', () => {
  const dir = tempDir('config');
  const files = {
    json: file(dir, 'nis2.json', JSON.stringify({ mode: 'monitor', rateLimit: { limit: '10/60s', algorithm: 'fixed' }, events: { budget: 7 } })),
    yaml: file(dir, 'nis2.yaml', 'mode: monitor\nrateLimit:\n  limit: 10/60s\n  algorithm: fixed\nevents:\n  budget: 7\n'),
  };

  for (const [kind, path] of Object.entries(files)) {
    test(`${kind} file (NIS2_CONFIG_FILE): code beats env beats file, key by key`, () => {
      const all = loadConfig({ options: { rateLimit: { limit: '30/60s' } }, env: { NIS2_CONFIG_FILE: path, NIS2_RATE_LIMIT: '20/60s', NIS2_EVENTS_BUDGET: '9' } });
      assert.equal(all.rateLimit.points, 30);
      assert.equal(all.sources['rateLimit.limit'], 'code');
      assert.equal(all.events.budget, 9);
      assert.equal(all.sources['events.budget'], 'env');
      assert.equal(all.rateLimit.algorithm, 'fixed');
      assert.equal(all.sources['rateLimit.algorithm'], 'file');
      assert.equal(all.mode, 'monitor');
      assert.equal(all.rateLimit.mode, 'monitor', 'the defense follows the global mode');
      assert.equal(all.sources['rateLimit.ipv6Prefix'], 'default');

      const envAndFile = loadConfig({ env: { NIS2_CONFIG_FILE: path, NIS2_RATE_LIMIT: '20/60s' } });
      assert.equal(envAndFile.rateLimit.points, 20);
      assert.equal(envAndFile.sources['rateLimit.limit'], 'env');
      assert.equal(envAndFile.events.budget, 7);

      const fileOnly = loadConfig({ env: { NIS2_CONFIG_FILE: path } });
      assert.equal(fileOnly.rateLimit.points, 10);
      assert.equal(fileOnly.rateLimit.windowMs, 60_000);
      assert.equal(fileOnly.sources['rateLimit.limit'], 'file');
    });
  }

  test('an empty environment value does not override the file', () => {
    const c = loadConfig({ env: { NIS2_CONFIG_FILE: files.json, NIS2_RATE_LIMIT: '' } });
    assert.equal(c.rateLimit.points, 10);
  });

  test('a relative NIS2_CONFIG_FILE is resolved against the working directory', () => {
    const c = loadConfig({ env: { NIS2_CONFIG_FILE: 'nis2.yaml' }, cwd: dir });
    assert.equal(c.rateLimit.points, 10);
  });

  test('YAML route lists are parsed into policies', () => {
    const path = file(dir, 'routes.yml', 'rateLimit:\n  routes:\n    - method: POST\n      path: /login\n      limit: 5/60s\n      algorithm: fixed\n    - path: /api/**\n      limit: 50/10s\n');
    const c = loadConfig({ env: { NIS2_CONFIG_FILE: path } });
    assert.equal(c.rateLimit.routes.length, 2);
    assert.deepEqual(c.rateLimit.routes[0]!.methods, ['POST']);
    assert.equal(c.rateLimit.routes[0]!.points, 5);
    assert.equal(c.rateLimit.routes[0]!.algorithm, 'fixed');
    assert.ok(c.rateLimit.routes[1]!.pattern.test('/api/a/b'));
  });

  test('the environment\'s NIS2_RATE_LIMIT_MODE overrides the global NIS2_MODE for rate limiting', () => {
    const c = loadConfig({ env: { NIS2_MODE: 'monitor', NIS2_RATE_LIMIT_MODE: 'enforce' } });
    assert.equal(c.mode, 'monitor');
    assert.equal(c.rateLimit.mode, 'enforce');
  });

  test('the resolved config is frozen', () => {
    const c = loadConfig({ env: {} });
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.rateLimit));
    assert.throws(() => { (c.rateLimit as { points: number }).points = 1e9; }, TypeError);
  });
});

describe('trusted proxies load', () => {
  test('NIS2_TRUSTED_PROXIES with CIDRs and aliases loads into a frozen config', () => {
    const c = loadConfig({ env: { NIS2_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32, 192.0.2.7, loopback' } });
    assert.deepEqual(c.trustedProxies.map((p) => p.text), ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32', '127.0.0.0/8', '::1/128']);
    assert.ok(Object.isFrozen(c));
  });

  test('trustedProxies given in code or in a file load too', () => {
    assert.equal(loadConfig({ options: { trustedProxies: ['10.0.0.0/8'] }, env: {} }).trustedProxies.length, 1);
    const path = file(tempDir('config'), 'proxies.yaml', 'trustedProxies:\n  - private\n');
    assert.equal(loadConfig({ env: { NIS2_CONFIG_FILE: path } }).trustedProxies.length, 4);
  });
});

describe('unknown keys', () => {
  test('an unknown key is NIS2_ERR_CONFIG_UNKNOWN_KEY naming the key, with the right key suggested for a misplaced one', () => {
    const err = configError({ options: { limit: '5/60s' } as never, env: {} }, 'NIS2_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /'limit'/);
    assert.match(err.message, /did you mean 'rateLimit\.limit'/);
  });

  test('a misspelt key gets a suggestion (code)', () => {
    const err = configError({ options: { rateLimit: { limt: '5/60s' } } as never, env: {} }, 'NIS2_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /'rateLimit\.limt'/);
    assert.match(err.message, /did you mean 'rateLimit\.limit'/);
  });

  test('a wrongly cased section gets a suggestion (YAML file)', () => {
    const path = file(tempDir('config'), 'typo.yaml', 'ratelimit:\n  limit: 5/60s\n');
    const err = configError({ env: { NIS2_CONFIG_FILE: path } }, 'NIS2_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /'ratelimit'/);
    assert.ok(err.message.includes(path), 'names the file');
    assert.match(err.message, /did you mean 'rateLimit/);
  });

  test('an unknown key in a JSON file is rejected', () => {
    const path = file(tempDir('config'), 'unknown.json', JSON.stringify({ signing: { mode: 'record', colour: 'blue' } }));
    const err = configError({ env: { NIS2_CONFIG_FILE: path } }, 'NIS2_ERR_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /'signing\.colour'/);
  });
});

describe('bad values name the variable and the expected form', () => {
  const cases: Array<[Record<string, string>, RegExp[]]> = [
    [{ NIS2_RATE_LIMIT: 'abc' }, [/NIS2_RATE_LIMIT\b/, /<points>\/<window>/, /got "abc"/]],
    [{ NIS2_RATE_LIMIT: '0/60s' }, [/NIS2_RATE_LIMIT\b/]],
    [{ NIS2_RATE_LIMIT: '5/500ms' }, [/NIS2_RATE_LIMIT\b/, /1s ≤ window/]],
    [{ NIS2_MODE: 'block' }, [/NIS2_MODE\b/, /'enforce'/, /'monitor'/, /got "block"/]],
    [{ NIS2_TRUSTED_PROXIES: '10.0.0.0/33' }, [/NIS2_TRUSTED_PROXIES\b/, /'10\.0\.0\.0\/33' is not a CIDR/]],
    [{ NIS2_TRUSTED_PROXIES: '10.0.0/8' }, [/NIS2_TRUSTED_PROXIES\b/, /'10\.0\.0\/8'/]],
    [{ NIS2_TRUSTED_PROXIES: '10.0.0.0/8, proxy.example' }, [/NIS2_TRUSTED_PROXIES\b/, /'proxy\.example'/]],
    [{ NIS2_TRUSTED_PROXY_HOPS: '-1' }, [/NIS2_TRUSTED_PROXY_HOPS\b/, /integer from 0 to 32/]],
    [{ NIS2_RATE_LIMIT_ROUTES: 'POST login=5/60s' }, [/NIS2_RATE_LIMIT_ROUTES\b/, /must start with '\/'/]],
    [{ NIS2_RATE_LIMIT_ROUTES: 'POST /login' }, [/NIS2_RATE_LIMIT_ROUTES\b/, /=<points>\/<window>/]],
    [{ NIS2_RATE_LIMIT_MAX_KEYS: '10' }, [/NIS2_RATE_LIMIT_MAX_KEYS\b/]],
    [{ NIS2_SHUTDOWN_TIMEOUT: 'soon' }, [/NIS2_SHUTDOWN_TIMEOUT\b/, /duration/]],
    [{ NIS2_HANDLE_SIGNALS: 'maybe' }, [/NIS2_HANDLE_SIGNALS\b/, /true or false/]],
  ];
  for (const [env, patterns] of cases) {
    test(`${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} → NIS2_ERR_CONFIG_INVALID`, () => {
      const err = configError({ env }, 'NIS2_ERR_CONFIG_INVALID');
      for (const p of patterns) assert.match(err.message, p);
    });
  }

  test('a bad value in the file names the dotted key, the file and the env variable', () => {
    const path = file(tempDir('config'), 'bad.yaml', 'rateLimit:\n  limit: lots\n');
    const err = configError({ env: { NIS2_CONFIG_FILE: path } }, 'NIS2_ERR_CONFIG_INVALID');
    assert.match(err.message, /'rateLimit\.limit' in NIS2_CONFIG_FILE/);
    assert.match(err.message, /NIS2_RATE_LIMIT\b/);
  });

  test('a bad value in code names the option', () => {
    const err = configError({ options: { mode: 'block' as never }, env: {} }, 'NIS2_ERR_CONFIG_INVALID');
    assert.match(err.message, /option 'mode'/);
  });

  test('an unreadable or unparsable NIS2_CONFIG_FILE is NIS2_ERR_CONFIG_FILE', () => {
    const dir = tempDir('config');
    assert.match(configError({ env: { NIS2_CONFIG_FILE: join(dir, 'missing.yaml') } }, 'NIS2_ERR_CONFIG_FILE').message, /ENOENT/);
    configError({ env: { NIS2_CONFIG_FILE: file(dir, 'broken.json', '{"mode": ') } }, 'NIS2_ERR_CONFIG_FILE');
    configError({ env: { NIS2_CONFIG_FILE: file(dir, 'broken.yaml', 'mode: [unclosed\n') } }, 'NIS2_ERR_CONFIG_FILE');
  });
});

describe('secrets are never echoed', () => {
  const secret = 'S3cr3t-Value_ThatMustNotLeak';

  test('a bad NIS2_SIGNING_KEY fails with NIS2_ERR_KEY_INVALID without showing the key', () => {
    for (const bad of [`${secret}!!`, Buffer.from(secret).toString('base64'), `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----`]) {
      const config = loadConfig({ env: { NIS2_SIGNING_KEY: bad, NIS2_EVENTS_FILE: join(tempDir('config'), 'e.jsonl') } });
      assert.throws(() => createNis2LogPipeline({ resolvedConfig: config }), (err: unknown) => {
        assert.ok(err instanceof Nis2Error);
        assert.equal(err.code, 'NIS2_ERR_KEY_INVALID');
        assert.match(err.message, /NIS2_SIGNING_KEY/);
        assert.ok(!err.message.includes(secret), err.message);
        assert.ok(!err.message.includes(Buffer.from(secret).toString('base64')), err.message);
        return true;
      });
    }
  });

  test('a short NIS2_HMAC_KEY fails without showing the key', () => {
    const config = loadConfig({ env: { NIS2_HMAC_KEY: Buffer.from(secret).toString('base64'), NIS2_EVENTS_FILE: join(tempDir('config'), 'e.jsonl') } });
    assert.throws(() => createNis2LogPipeline({ resolvedConfig: config }), (err: unknown) => {
      assert.ok(err instanceof Nis2Error);
      assert.ok(!err.message.includes(Buffer.from(secret).toString('base64')), err.message);
      return true;
    });
  });

  test('a secret key of the wrong type in the file is rejected without its value', () => {
    const path = file(tempDir('config'), 'secret.yaml', 'signing:\n  key: 918273645546372819\n');
    const err = configError({ env: { NIS2_CONFIG_FILE: path } }, 'NIS2_ERR_CONFIG_INVALID');
    assert.match(err.message, /signing\.key/);
    assert.ok(!err.message.includes('918273645546372819'), err.message);
    assert.match(err.message, /not shown/);
  });
});

describe('a misconfigured app under the register hook', () => {
  const runs: Array<[string, Hook, string, Record<string, string>, RegExp, string | undefined]> = [
    ['NIS2_RATE_LIMIT=abc', 'require', 'http.cjs', { NIS2_RATE_LIMIT: 'abc' }, /NIS2_ERR_CONFIG_INVALID.*NIS2_RATE_LIMIT/, undefined],
    ['NIS2_MODE=block', 'import', 'express.mjs', { NIS2_MODE: 'block' }, /NIS2_ERR_CONFIG_INVALID.*NIS2_MODE/, undefined],
    ['bad CIDR', 'require', 'http.cjs', { NIS2_TRUSTED_PROXIES: '10.0.0.0/33' }, /NIS2_ERR_CONFIG_INVALID.*NIS2_TRUSTED_PROXIES/, undefined],
    ['bad signing key', 'require', 'http.cjs', { NIS2_SIGNING_KEY: 'Zm9vYmFyLXNlY3JldC1rZXktbWF0ZXJpYWw' }, /NIS2_ERR_KEY_INVALID.*NIS2_SIGNING_KEY/, 'Zm9vYmFyLXNlY3JldC1rZXktbWF0ZXJpYWw'],
    ['unknown key in the config file', 'require', 'http.cjs', { NIS2_CONFIG_FILE: 'nis2.json' }, /NIS2_ERR_CONFIG_UNKNOWN_KEY.*'rateLimit\.limits'/, undefined],
  ];
  for (const [label, hook, app, env, pattern, secret] of runs) {
    test(`${label} (--${hook}): exits 78 with one clear stderr line and never serves`, async () => {
      const dir = appDir('badcfg');
      if (env['NIS2_CONFIG_FILE']) file(dir, 'nis2.json', JSON.stringify({ rateLimit: { limits: '5/60s' } }));
      const r = await runApp({ app, hook, cwd: dir, env: { NIS2_SIGNING_KEY: TEST_SIGNING_KEY, ...env } });
      assert.deepEqual([r.code, r.signal], [78, null], r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
      assert.match(lines[0]!, /^@nis2\/otel: /);
      assert.match(lines[0]!, pattern);
      assert.doesNotMatch(r.stdout, /PORT=/, 'the app never started listening');
      if (secret) assert.equal(countCode(r.stderr, secret), 0, 'the secret is not echoed');
    });
  }
});
