import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Package root (where dist/, bin/ and examples/ are). */
  readonly root: string;
  readonly out?: (line: string) => void;
}

function packageRoot(): string {
  // The CLI runs from dist/cjs/cli/; the ESM build is never the bin.
  if (typeof __dirname === 'undefined') throw new Error('nis2-otel demo runs from the CommonJS build (bin/nis2-otel.cjs)');
  return resolve(__dirname, '../../..');
}

async function waitForUrl(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('the demo app did not start within 15 s')), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(d.toString());
      if (m) { clearTimeout(timer); resolvePromise(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the demo app exited early (${code})`)); });
  });
}

/**
 * `nis2-otel demo`: starts the example app under the register hook (limit 5/60s), fires a short
 * scripted attack from 127.0.0.1 (a burst past the limit, then spoofed X-Forwarded-For values that
 * an untrusted client uses to dodge limits), stops it with SIGTERM, verifies the signed log, and
 * shows that editing one record is caught. Exit 0 only when all of that behaved as it should.
 */
export async function runDemo(options: Partial<DemoOptions> = {}): Promise<number> {
  const root = options.root ?? packageRoot();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'nis2-demo-'));
  const events = join(dir, 'events.jsonl');
  out(`▶ starting examples/http-server.cjs under --require @nis2/otel/register (limit 5/60s), events → ${events}`);
  const child = spawn(process.execPath, ['--require', join(root, 'dist/cjs/register.js'), join(root, 'examples/http-server.cjs')], {
    cwd: dir,
    env: { ...process.env, PORT: '0', NIS2_RATE_LIMIT: '5/60s', NIS2_EVENTS_FILE: events, NIS2_KEY_DIR: join(dir, '.nis2'), NIS2_OTLP: 'off', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let ok = true;
  try {
    const url = await waitForUrl(child);
    out(`▶ burst of 8 requests from one client to ${url}`);
    const burst: number[] = [];
    for (let i = 0; i < 8; i++) burst.push((await fetch(`${url}/login`)).status);
    out(`  statuses: ${burst.join(' ')}`);
    ok &&= burst.slice(0, 5).every((s) => s === 200) && burst.slice(5).every((s) => s === 429);
    out('▶ 4 more with spoofed X-Forwarded-For (no proxy is trusted, so the header is ignored)');
    const spoofed: number[] = [];
    for (let i = 0; i < 4; i++) spoofed.push((await fetch(`${url}/login`, { headers: { 'X-Forwarded-For': `203.0.113.${i + 1}` } })).status);
    out(`  statuses: ${spoofed.join(' ')}`);
    ok &&= spoofed.every((s) => s === 429);
  } finally {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  }
  const lines = readFileSync(events, 'utf8').trim().split('\n');
  out(`▶ app stopped; ${lines.length} signed records written:`);
  for (const line of lines) {
    const e = JSON.parse(line) as { seq: number; event: string; attrs: Record<string, unknown> };
    const count = e.attrs['nis2.aggregate.count'];
    out(`  #${e.seq} ${e.event}${e.attrs['client.address'] ? ` client=${String(e.attrs['client.address'])}` : ''}${count ? ` (+${String(count)} more, aggregated)` : ''}`);
  }
  const bin = join(root, 'bin/nis2-otel.cjs');
  out('▶ nis2-otel verify');
  const verified = spawnSync(process.execPath, [bin, 'verify', events], { encoding: 'utf8' });
  out(verified.stdout.trimEnd());
  ok &&= verified.status === 0;
  const tampered = join(dir, 'tampered.jsonl');
  writeFileSync(tampered, lines.map((l, i) => (i === 1 ? l.replace('"url.path":"/login"', '"url.path":"/admin"') : l)).join('\n') + '\n');
  out('▶ the same log with one record edited (url.path /login → /admin): nis2-otel verify');
  const caught = spawnSync(process.execPath, [bin, 'verify', tampered], { encoding: 'utf8' });
  out(caught.stdout.trimEnd());
  ok &&= caught.status === 1;
  out(ok ? '✔ demo behaved as expected' : '✘ demo did not behave as expected');
  return ok ? 0 : 1;
}

/** Adds `nis2-otel demo` to the CLI. */
export function registerDemo(program: import('commander').Command, ctx: { out(text: string): void; exitCode: number }): void {
  program
    .command('demo')
    .summary('rate-limit an example app, then verify its signed log')
    .description('Starts examples/http-server.cjs under the register hook, fires a short scripted attack at it on 127.0.0.1, stops it and verifies the signed events (and a tampered copy).')
    .action(async () => {
      ctx.exitCode = await runDemo({ out: (line) => ctx.out(`${line}\n`) });
    });
}
