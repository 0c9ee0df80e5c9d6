// Builds (or finds) the collector distributions and runs them on free 127.0.0.1 ports.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { REPO_ROOT } from './envelopes.ts';
import { HOST, freePort, waitFor } from './net.ts';

export const CONFIG_DIR = join(REPO_ROOT, 'collector-config');

/** main = builder.yaml (Splunk, syslog/QRadar/CEF, Sumo Logic, OTLP); elastic = builder-elastic.yaml. */
export type Distribution = 'main' | 'elastic';

const MANIFEST: Record<Distribution, string> = { main: 'builder.yaml', elastic: 'builder-elastic.yaml' };
const ENV_OVERRIDE: Record<Distribution, string> = { main: 'NIS2_COLLECTOR_BIN', elastic: 'NIS2_COLLECTOR_ELASTIC_BIN' };
const resolved = new Map<Distribution, string>();

/**
 * Path of the collector binary: $NIS2_COLLECTOR_BIN / $NIS2_COLLECTOR_ELASTIC_BIN if set, else
 * whatever scripts/build-collector.sh prints (a cache hit returns at once; a cold build takes
 * minutes, hence the generous bound).
 */
export function collectorBinary(dist: Distribution = 'main'): string {
  const cached = resolved.get(dist);
  if (cached !== undefined) return cached;
  const override = process.env[ENV_OVERRIDE[dist]];
  let bin: string;
  if (override !== undefined && override !== '') bin = override;
  else {
    const out = execFileSync('bash', [join(REPO_ROOT, 'scripts/build-collector.sh'), join(CONFIG_DIR, MANIFEST[dist])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 45 * 60_000,
    });
    bin = out.trim().split('\n').pop() ?? '';
  }
  if (bin === '') throw new Error(`no collector binary for ${dist}`);
  resolved.set(dist, bin);
  return bin;
}

const running = new Set<ChildProcess>();

export interface StartOptions {
  dist?: Distribution;
  /** Pipeline files after base.yaml, e.g. ['splunk.yaml']. */
  configs: string[];
  env?: Record<string, string>;
  /** Reuse a storage directory (persistent queue) across restarts; a fresh one otherwise. */
  storageDir?: string;
  /** Reuse ports across restarts. */
  ports?: { http: number; grpc: number; health: number };
}

export interface Collector {
  readonly otlpHttp: string;
  readonly storageDir: string;
  readonly ports: { http: number; grpc: number; health: number };
  readonly proc: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after 20 s; resolves to how it ended. */
  stop(): Promise<StopResult>;
}

export interface StopResult {
  ms: number;
  killed: boolean;
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Never inherit proxy settings: every endpoint of this suite is on 127.0.0.1.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: '*', no_proxy: '*' };
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete env[k];
  return { ...env, ...extra };
}

export async function startCollector(opts: StartOptions): Promise<Collector> {
  const bin = collectorBinary(opts.dist ?? 'main');
  const ports = opts.ports ?? { http: await freePort(), grpc: await freePort(), health: await freePort() };
  const storageDir = opts.storageDir ?? mkdtempSync(join(tmpdir(), 'nis2-collector-'));
  const args: string[] = ['--config', join(CONFIG_DIR, 'base.yaml')];
  for (const c of opts.configs) args.push('--config', c.startsWith('/') ? c : join(CONFIG_DIR, c));
  const env = baseEnv({
    NIS2_OTLP_HTTP_ENDPOINT: `${HOST}:${ports.http}`,
    NIS2_OTLP_GRPC_ENDPOINT: `${HOST}:${ports.grpc}`,
    NIS2_COLLECTOR_HEALTH_ENDPOINT: `${HOST}:${ports.health}`,
    NIS2_COLLECTOR_STORAGE_DIR: storageDir,
    ...(opts.env ?? {}),
  });
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  let exited = false;
  proc.once('exit', () => {
    exited = true;
    running.delete(proc);
  });
  const collector: Collector = {
    otlpHttp: `http://${HOST}:${ports.http}`,
    storageDir,
    ports,
    proc,
    output: () => out,
    stop: async () => await stopProcess(proc),
  };
  try {
    await waitFor(
      'collector health check',
      async () => {
        if (exited) throw new Error(`collector exited early:\n${out}`);
        const res = await fetch(`http://${HOST}:${ports.health}/`, { signal: AbortSignal.timeout(1000) });
        await res.text();
        return res.status === 200 ? true : undefined;
      },
      30_000,
      150,
    );
  } catch (err) {
    await stopProcess(proc);
    throw new Error(`${(err as Error).message}\n--- collector output ---\n${out}`, { cause: err });
  }
  return collector;
}

async function stopProcess(proc: ChildProcess): Promise<StopResult> {
  const t0 = Date.now();
  if (proc.exitCode !== null || proc.signalCode !== null) return { ms: 0, killed: false };
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill('SIGKILL');
  }, 20_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
  return { ms: Date.now() - t0, killed };
}

/** For after(): stops every collector this process started. */
export async function stopAllCollectors(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p)));
}

process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `<collector> validate` for base.yaml + these files; returns the combined output or throws. */
export function validateConfigs(files: string[], env: Record<string, string>, dist: Distribution = 'main'): string {
  const bin = collectorBinary(dist);
  const args = ['validate', '--config', join(CONFIG_DIR, 'base.yaml')];
  for (const f of files) args.push('--config', join(CONFIG_DIR, f));
  return execFileSync(bin, args, { env: baseEnv(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}
