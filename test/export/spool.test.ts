import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { verifyRecords } from '../../dist/esm/integrity/verify.js';
import { DurableSpool } from '../../dist/esm/export/spool.js';
import { IntegrityLogRecord } from '../../dist/esm/export/integrity-record.js';
import { defaultResource } from '@opentelemetry/resources';
import { AppProcess } from '../helpers/app-process.ts';
import { freePort } from '../helpers/redis-server.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

/** An exporter whose answer the test controls. */
function controllable() {
  const received: string[] = [];
  let up = false;
  return {
    received,
    setUp(v: boolean) { up = v; },
    exporter: {
      export(records: Array<{ body?: unknown }>, cb: (r: { code: number }) => void) {
        if (!up) return cb({ code: ExportResultCode.FAILED });
        for (const r of records) received.push(String(r.body));
        cb({ code: ExportResultCode.SUCCESS });
      },
      shutdown: () => Promise.resolve(),
    },
  };
}

function record(i: number, event = 'nis2.rate_limit.exceeded') {
  return new IntegrityLogRecord({
    resource: defaultResource(), scope: { name: 'test' }, tsMs: Date.now(), eventName: event,
    severityText: 'WARN', severityNumber: 13, body: `{"seq":${i}}`, attributes: { 'nis2.seq': i },
  });
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick(25);
  }
}

test('records are on disk before export, kept while the exporter fails, delivered in order once it is back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-spool-'));
  const c = controllable();
  const spool = new DurableSpool({ dir, exporter: c.exporter as never, maxBytes: 1 << 30, hardMaxBytes: 1 << 30, fsync: 'batch', tickMs: 20 });
  cleanups.push(() => spool.shutdown());
  for (let i = 0; i < 500; i++) spool.onEmit(record(i));
  await tick(100);
  const files = readdirSync(spool.dir).filter((f) => f.startsWith('seg-'));
  assert.ok(files.length >= 1, 'segments written while the exporter is down');
  const onDisk = files.map((f) => readFileSync(join(spool.dir, f), 'utf8')).join('');
  assert.equal((onDisk.match(/"nis2.seq"/g) ?? []).length, 500);
  assert.equal(c.received.length, 0);
  assert.ok(spool.stats.failedExports >= 1);
  c.setUp(true);
  await spool.forceFlush();
  await until(() => c.received.length === 500);
  assert.deepEqual(c.received.map((b) => JSON.parse(b).seq), Array.from({ length: 500 }, (_, i) => i));
  await until(() => readdirSync(spool.dir).filter((f) => f.startsWith('seg-')).length === 0);
});

test('over the soft cap the oldest access records go first and the drop is reported; security events stay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-spool-cap-'));
  const c = controllable();
  const drops: Array<{ security: number; access: number }> = [];
  const spool = new DurableSpool({
    dir, exporter: c.exporter as never, maxBytes: 20_000, hardMaxBytes: 1 << 30, fsync: 'none', tickMs: 20, segmentBytes: 4096,
    onDrop: (d) => drops.push(d),
  });
  cleanups.push(() => spool.shutdown());
  for (let i = 0; i < 200; i++) spool.onEmit(record(i, 'nis2.http.access'));
  await tick(60);
  for (let i = 0; i < 50; i++) spool.onEmit(record(1000 + i));
  await tick(60);
  for (let i = 0; i < 200; i++) spool.onEmit(record(2000 + i, 'nis2.http.access'));
  await tick(100);
  const droppedAccess = drops.reduce((n, d) => n + d.access, 0);
  assert.ok(droppedAccess > 0, 'access records were dropped');
  assert.equal(drops.reduce((n, d) => n + d.security, 0), 0, 'no security event dropped below the hard cap');
  c.setUp(true);
  await spool.forceFlush();
  await until(() => c.received.filter((b) => JSON.parse(b).seq >= 1000 && JSON.parse(b).seq < 1050).length === 50);
  assert.equal(c.received.length + droppedAccess, 450, 'everything is either delivered or counted as dropped');
});

/** A minimal OTLP/HTTP JSON logs endpoint on a chosen port (so it can be "down" first). */
function jsonSink(port: number) {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rl of payload.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) bodies.push(lr.body.stringValue);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return {
    bodies,
    start: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function appEnv(dir: string, port: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_EXPORTER: 'none',
    NIS2_SPOOL_DIR: join(dir, 'spool'), NIS2_KEY_DIR: join(dir, 'keys'), NIS2_RATE_LIMIT: '1000000/60s',
    NIS2_ACCESS_LOG: 'all', NIS2_SIGNING_MODE: 'chain', NIS2_SHUTDOWN_TIMEOUT: '3s',
  };
}

async function load(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, k) => fetch(`${url}/r${i + k}`).then((r) => r.text())));
}

test('collector down under load, then back: every record arrives and the stream verifies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-outage-'));
  const port = await freePort();
  const sink = jsonSink(port);
  const app = await AppProcess.start(appEnv(dir, port));
  cleanups.push(() => app.stop(), () => sink.stop());
  await load(app.url, 600);
  await sink.start();
  await load(app.url, 200);
  await app.stop();
  await until(() => sink.bodies.some((b) => b.includes('"nis2.integrity.stream_end"')), 15_000);
  const report = verifyRecords(sink.bodies);
  assert.equal(report.streams.length, 1);
  const [stream] = report.streams;
  assert.equal(stream!.state, 'intact-closed', JSON.stringify(stream!.problems));
  const seqs = new Set(sink.bodies.map((b) => JSON.parse(b).seq));
  assert.equal(seqs.size, stream!.lastSeq + 1, 'no seq missing');
  assert.ok(sink.bodies.filter((b) => b.includes('"nis2.http.access"')).length >= 800);
});

test('app killed with SIGKILL mid-stream: the next start delivers what was spooled; the old stream reads as open, not tampered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-kill-'));
  const port = await freePort();
  const sink = jsonSink(port);
  cleanups.push(() => sink.stop());
  const first = await AppProcess.start(appEnv(dir, port));
  await load(first.url, 300);
  await tick(300); // written to the spool (one batch per event-loop turn)
  const killed = new Promise<void>((r) => first.child.once('exit', () => r()));
  first.child.kill('SIGKILL');
  await killed;
  await sink.start();
  const second = await AppProcess.start(appEnv(dir, port));
  cleanups.push(() => second.stop());
  await load(second.url, 10);
  await second.stop();
  await until(() => verifyRecords(sink.bodies).streams.length === 2, 15_000);
  const report = verifyRecords(sink.bodies);
  const states = report.streams.map((s) => s.state).sort();
  assert.deepEqual(states, ['intact-closed', 'intact-open']);
  const old = report.streams.find((s) => s.state === 'intact-open')!;
  assert.ok(old.records >= 300, `the killed stream's spooled records were delivered (${old.records})`);
});
