// The whole chain with the real package: an HTTP app started with `--require @nis2/otel/register`
// exports its signed events over OTLP to the built collector, which fans out to Splunk HEC and
// QRadar (LEEF) mocks at once (base.yaml + splunk.yaml + qradar.yaml). Rate-limited requests
// must show up in both SIEMs with their mapped fields, and the stream exported from each SIEM must
// pass the package's `nis2-otel verify` as intact and closed (the app is stopped with SIGTERM, so
// its stream ends). Needs the package built (dist/); skipped otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { parseEnvelope, REPO_ROOT, vectorsDir } from './helpers/envelopes.ts';
import { assertCliAccepts } from './helpers/verify-cli.ts';
import { SplunkHecMock } from './mocks/splunk-hec.ts';
import { parseLeef, SyslogMock } from './mocks/syslog.ts';

const TOKEN = 'app-token';
const built = existsSync(join(REPO_ROOT, 'dist/cjs/register.js'));

describe('real app (@nis2/otel/register) → collector → Splunk + QRadar', { timeout: SUITE_TIMEOUT_MS, skip: built ? false : 'package not built (dist/ missing)' }, () => {
  let hec: SplunkHecMock;
  let syslog: SyslogMock;
  let collector: Collector | undefined;
  let app: ChildProcess | undefined;
  let appOut = '';
  let dir = '';

  before(async () => {
    hec = new SplunkHecMock(await freePort(), TOKEN);
    syslog = new SyslogMock({ port: await freePort(), framing: 'lf' });
    await hec.start();
    await syslog.start();
    collector = await startCollector({
      configs: ['splunk.yaml', 'qradar.yaml'],
      env: {
        SPLUNK_HEC_ENDPOINT: `${hec.url}/services/collector`,
        SPLUNK_HEC_TOKEN: TOKEN,
        QRADAR_SYSLOG_HOST: '127.0.0.1',
        QRADAR_SYSLOG_PORT: String(syslog.opts.port),
        QRADAR_SYSLOG_TLS_INSECURE: 'true',
      },
    });

    // the app runs where @nis2/otel is "installed" (a symlink to this repository)
    dir = mkdtempSync(join(tmpdir(), 'nis2-app-'));
    mkdirSync(join(dir, 'node_modules/@nis2'), { recursive: true });
    symlinkSync(REPO_ROOT, join(dir, 'node_modules/@nis2/otel'), 'dir');
    const keys = JSON.parse(readFileSync(join(vectorsDir(), 'keys.json'), 'utf8')) as { ed25519: { seed_base64url: string } };
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      PORT: String(port),
      OTEL_SERVICE_NAME: 'shop-api',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttp,
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host',
      NIS2_SIGNING_KEY: keys.ed25519.seed_base64url,
      NIS2_RATE_LIMIT: '3/60s',
      NO_PROXY: '*',
    };
    app = spawn(process.execPath, ['--require', '@nis2/otel/register', join(REPO_ROOT, 'examples/http-server.cjs')], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout?.on('data', (c: Buffer) => (appOut += c.toString()));
    app.stderr?.on('data', (c: Buffer) => (appOut += c.toString()));
    await waitFor('app listening', () => (appOut.includes('listening on') ? true : undefined), 30_000);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/login`, { headers: { 'user-agent': 'e2e-client/1.0' }, signal: AbortSignal.timeout(10_000) });
      await res.text();
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.filter((s) => s === 429).length, 3, `statuses ${statuses.join(',')}\n${appOut}`);
    // SIGTERM: the package flushes and closes its stream (stream_end), then the app exits
    const exited = once(app, 'exit');
    app.kill('SIGTERM');
    const timer = setTimeout(() => app?.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    const closed = (bodies: string[]): boolean => bodies.some((b) => parseEnvelope(b).event === 'nis2.integrity.stream_end');
    await waitFor(
      'the closed stream at both SIEMs',
      () => (closed(hec.events.map((e) => e.event as string)) && closed(syslog.messages.map((m) => parseLeef(m.msg).envelope ?? '')) ? true : undefined),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- app ---\n${appOut}\n--- collector ---\n${collector?.output().slice(-3000) ?? ''}`, { cause: err });
    });
  });

  after(async () => {
    if (app !== undefined && app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    await stopAllCollectors();
    await hec?.stop();
    await syslog?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
    if (dir !== '') removeDir(dir);
  });

  it('Splunk got the rate-limit blocks as CIM events from the app', () => {
    assert.deepEqual(hec.violations, []);
    const blocks = hec.events.filter((e) => e.fields?.signature_id === 'nis2.rate_limit.exceeded');
    assert.ok(blocks.length >= 1, JSON.stringify(hec.events.map((e) => e.fields?.signature_id)));
    const f = blocks[0]!.fields!;
    assert.equal(f.action, 'blocked');
    assert.equal(f.src, '127.0.0.0');
    assert.equal(f.uri_path, '/login');
    assert.equal(f.http_user_agent, 'e2e-client/1.0');
    assert.equal(f.app, 'shop-api');
    assert.equal(blocks[0]!.source, 'nis2-otel:shop-api');
  });

  it('QRadar got the same events as LEEF', () => {
    assert.deepEqual(syslog.violations, []);
    const leefs = syslog.messages.map((m) => parseLeef(m.msg));
    const block = leefs.find((l) => l.eventId === 'nis2.rate_limit.exceeded');
    assert.ok(block);
    assert.equal(block.attrs.get('src'), '127.0.0.0');
    assert.equal(block.attrs.get('action'), 'block');
    assert.equal(block.attrs.get('sev'), '6');
    assert.equal(hec.events.length, syslog.messages.length, 'both SIEMs got every record');
  });

  it('the stream exported from Splunk passes nis2-otel verify (intact, closed)', (t) => {
    assertCliAccepts(t, hec.events.map((e) => e.event as string), 1);
  });

  it('the stream exported from QRadar passes nis2-otel verify (intact, closed)', (t) => {
    assertCliAccepts(t, syslog.messages.map((m) => parseLeef(m.msg).envelope ?? ''), 1);
  });
});
