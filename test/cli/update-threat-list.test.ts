// `nis2-otel update-threat-list`, run as a user would (the bin in a child process), against a list
// server on 127.0.0.1. The default source (the Tor Project) is never used: every run names its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCacheSync } from '../../dist/esm/threat-intel/cache.js';
import { ThreatList } from '../../dist/esm/threat-intel/threat-list.js';
import { parseSource } from '../../dist/esm/threat-intel/source.js';
import { closedPort, listServer, removeTempDirs, tempDir } from '../threat-intel/helpers.ts';

after(removeTempDirs);

const BIN = fileURLToPath(new URL('../../bin/nis2-otel.cjs', import.meta.url));

/** Runs the bin with only the given NIS2_* variables (none leak in from the test's environment). */
function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], NODE_NO_WARNINGS: '1', ...options.env };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd ?? tempDir('cli'), env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

const LIST = '# exits\n198.51.100.7\n2001:db8:7::7\n198.51.100.7\nnot-an-address\n198.51.100.8\n';

test('fetches the list and writes the cache atomically; a second run revalidates with the ETag (304)', async () => {
  const server = await listServer(LIST);
  const out = join(tempDir('cli'), 'state', 'tor.txt');
  try {
    const first = await run(['update-threat-list', '--source', server.url, '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /wrote 3 entries \(2 IPv4, 1 IPv6, 0 CIDR blocks\) to .*tor\.txt; 1 invalid line\(s\) skipped, the first at line 5: "not-an-address"/);
    const cached = readCacheSync(out);
    assert.equal(cached.meta!.etag, '"v1"');
    assert.equal(cached.meta!.source, server.url);
    assert.deepEqual(cached.list.entries.map((e) => e.text), ['198.51.100.7/32', '198.51.100.8/32', '2001:db8:7::7/128']);
    assert.equal(cached.list.invalid, 0, 'the cache holds only valid entries');

    const second = await run(['update-threat-list', '--source', server.url, '--out', out]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /not modified; .* confirmed current, 3 entries/);
    assert.equal(server.requests.at(-1)!.ifNoneMatch, '"v1"');
    assert.equal(server.requests.at(-1)!.status, 304);
    assert.ok(readCacheSync(out).meta!.fetchedAt >= cached.meta!.fetchedAt);

    const forced = await run(['update-threat-list', '--source', server.url, '--out', out, '--force']);
    assert.equal(forced.code, 0);
    assert.equal(server.requests.at(-1)!.ifNoneMatch, undefined);

    // The file it wrote is exactly what the guard starts from.
    const tl = new ThreatList({ name: 'tor_exit', defense: 'tor', rule: 'tor_exit_node', source: parseSource(`http://127.0.0.1:${await closedPort()}/x`), cacheFile: out, refreshIntervalMs: 3_600_000, staleAfterMs: 0 });
    tl.close();
    assert.ok(tl.matcher.has('198.51.100.8') && tl.matcher.has('2001:db8:7::7'));
  } finally {
    await server.close();
  }
});

test('a failed fetch or a page that is not a list exits 1 and leaves the cache as it was', async () => {
  const server = await listServer(LIST);
  const out = join(tempDir('cli'), 'tor.txt');
  try {
    assert.equal((await run(['update-threat-list', '--source', server.url, '--out', out])).code, 0);
    const before = readFileSync(out, 'utf8');
    server.fail(503);
    const down = await run(['update-threat-list', '--source', server.url, '--out', out]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /HTTP 503; .*tor\.txt left as it was/);
    server.fail(undefined);
    server.serveRaw('<!doctype html>\n<html>\n<body>captive portal</body>\n</html>\n', 'text/html');
    const html = await run(['update-threat-list', '--source', server.url, '--out', out]);
    assert.equal(html.code, 1);
    assert.match(html.stderr, /is not an IP list \(4 invalid lines, 0 entries; line 1: "<!doctype html>"\)/);
    assert.equal(readFileSync(out, 'utf8'), before);
    const refused = await run(['update-threat-list', '--source', `http://127.0.0.1:${await closedPort()}/list`, '--out', join(tempDir('cli'), 'new.txt')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /cannot fetch/);
  } finally {
    await server.close();
  }
});

test('without flags it uses tor.source and tor.cacheFile from the environment, else .nis2/ under the working directory', async () => {
  const server = await listServer(LIST);
  try {
    const dir = tempDir('cli');
    const viaEnv = join(dir, 'from-env.txt');
    const r = await run(['update-threat-list'], { cwd: dir, env: { NIS2_TOR_SOURCE: server.url, NIS2_TOR_CACHE_FILE: viaEnv } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(viaEnv));
    const cwd = tempDir('cli');
    const d = await run(['update-threat-list'], { cwd, env: { NIS2_TOR_SOURCE: server.url } });
    assert.equal(d.code, 0, d.stderr);
    assert.ok(existsSync(join(cwd, '.nis2', 'tor-exit-list.txt')));
  } finally {
    await server.close();
  }
});

test('a file source (e.g. exit-addresses downloaded elsewhere) is converted to the cache format', async () => {
  const dir = tempDir('cli');
  const source = join(dir, 'exit-addresses');
  writeFileSync(source, 'ExitNode 00AA\nPublished 2026-11-24 23:10:55\nExitAddress 198.51.100.20 2026-11-25 01:04:12\nExitAddress 2001:db8:20::1 2026-11-25 01:04:12\n');
  const out = join(dir, 'tor.txt');
  const r = await run(['update-threat-list', '--source', source, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readCacheSync(out).list.entries.map((e) => e.text), ['198.51.100.20/32', '2001:db8:20::1/128']);
});

test('usage errors exit 2: a bad source, a bad timeout, source and output the same file, a broken config', async () => {
  const dir = tempDir('cli');
  const same = join(dir, 'list.txt');
  writeFileSync(same, '198.51.100.7\n');
  for (const [args, pattern, env] of [
    [['update-threat-list', '--source', 'ftp://example.invalid/list', '--out', join(dir, 'x')], /--source: expected an http\(s\) URL/, {}],
    [['update-threat-list', '--source', same, '--out', join(dir, 'x'), '--timeout', 'soon'], /--timeout: expected a duration/, {}],
    [['update-threat-list', '--source', same, '--out', same], /same file/, {}],
    [['update-threat-list', '--source', same, '--out', join(dir, 'x')], /NIS2_TOR_STALE_AFTER/, { NIS2_TOR_STALE_AFTER: 'later' }],
    [['update-threat-list', '--source', same], /tor\.cacheFile is off: give --out/, { NIS2_TOR_CACHE_FILE: 'off' }],
  ] as Array<[string[], RegExp, Record<string, string>]>) {
    const r = await run(args, { env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const help = await run(['update-threat-list', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--source <url\|file>/);
});
