// Child-process apps for the integration tests: each app runs in a fresh temp directory where
// `@nis2/otel` is "installed" (node_modules/@nis2/otel → the repository), so `--require
// @nis2/otel/register` / `--import @nis2/otel/register` resolve exactly as they would for a user.
// Every child and temp dir is tracked; call `cleanup()` from `after()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import canonicalize from 'canonicalize';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APPS = join(ROOT, 'test/fixtures/apps');
export const REGISTER_CJS = join(ROOT, 'dist/cjs/register.js');
export const REGISTER_ESM = join(ROOT, 'register.mjs');

/** The Ed25519 seed every test app signs with (so tests can verify without reading key files). */
export const TEST_SEED = Buffer.alloc(32, 0x5a);
export const TEST_SIGNING_KEY = TEST_SEED.toString('base64');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
export const TEST_PRIVATE_KEY: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, TEST_SEED]), format: 'der', type: 'pkcs8' });
export const TEST_PUBLIC_KEY: KeyObject = createPublicKey(TEST_PRIVATE_KEY);
export const TEST_PUBLIC_KEY_RAW: Buffer = (() => {
  const der = TEST_PUBLIC_KEY.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
})();

/** A parsed signed envelope (DESIGN §4). */
export type Envelope = {
  v: number; stream: string; seq: number; ts: string; event: string; severity: string;
  attrs: Record<string, unknown>; prev: string; kid: string; alg: string; sig?: string;
};

/**
 * Verifies one envelope body independently of the package: JCS via the `canonicalize` library,
 * Ed25519 via node:crypto with the test key.
 */
export function verifyEnvelope(body: string, publicKey: KeyObject = TEST_PUBLIC_KEY): boolean {
  const env = JSON.parse(body) as Envelope;
  if (typeof env.sig !== 'string') return false;
  const { sig, ...unsigned } = env;
  const bytes = Buffer.from(canonicalize(unsigned) ?? '', 'utf8');
  return edVerify(null, bytes, publicKey, Buffer.from(sig, 'base64url'));
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

/** A fresh temp dir under os.tmpdir() with @nis2/otel installed (symlinked); removed by cleanup(). */
export function appDir(prefix = 'app'): string {
  const dir = mkdtempSync(join(tmpdir(), `nis2-${prefix}-`));
  dirs.add(dir);
  mkdirSync(join(dir, 'node_modules/@nis2'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/@nis2/otel'), 'dir');
  return dir;
}

/** A plain temp dir (no package) under os.tmpdir(); removed by cleanup(). */
export function tempDir(prefix = 'tmp'): string {
  const dir = mkdtempSync(join(tmpdir(), `nis2-${prefix}-`));
  dirs.add(dir);
  return dir;
}

export type Hook = 'require' | 'import' | 'none';

export interface SpawnAppOptions {
  /** App file: a name under test/fixtures/apps or an absolute path. */
  app: string;
  /** How the register hook is loaded (default `require`). */
  hook?: Hook;
  /** Extra env (undefined deletes). NIS2_/OTEL_ variables of the test runner are never inherited. */
  env?: Record<string, string | undefined>;
  /** Working directory (default: a new appDir()). */
  cwd?: string;
  /** Node flags placed before the hook flag (e.g. another `--require`). */
  nodeArgs?: string[];
  /** Wait for the app's `PORT=<n>` line (default true). */
  waitForPort?: boolean;
  timeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AppProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dir: string;
  readonly eventsFile: string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Sends `signal` and waits (bounded) for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit & { ms: number }>;
  /** Waits for the process to exit on its own; SIGKILL (and the resulting exit) after `timeoutMs`. */
  waitExit(timeoutMs?: number): Promise<Exit & { ms: number }>;
  /** Envelopes written to the JSONL events file so far. */
  events(): Envelope[];
}

function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('NIS2_') || k.startsWith('OTEL_') || k === 'NODE_OPTIONS' || k.startsWith('NODE_TEST')) continue;
    out[k] = v;
  }
  return out;
}

/** Starts a fixture app under the register hook and waits for its `PORT=<n>` line. */
export async function spawnApp(options: SpawnAppOptions): Promise<AppProcess> {
  const dir = options.cwd ?? appDir();
  const hook = options.hook ?? 'require';
  const appPath = options.app.startsWith('/') ? options.app : join(APPS, options.app);
  const eventsFile = join(dir, 'events.jsonl');
  const env: Record<string, string> = {
    ...baseEnv(),
    NIS2_SIGNING_KEY: TEST_SIGNING_KEY,
    NIS2_KEY_DIR: join(dir, '.nis2'),
    NIS2_EVENTS_FILE: eventsFile,
    OTEL_METRICS_EXPORTER: 'none',
  };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const args = [...(options.nodeArgs ?? [])];
  if (hook === 'require') args.push('--require', '@nis2/otel/register');
  if (hook === 'import') args.push('--import', '@nis2/otel/register');
  args.push(appPath);
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); });
  });
  const timeoutMs = options.timeoutMs ?? 15_000;
  let port = 0;
  if (options.waitForPort ?? true) {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app ${options.app} did not print PORT= within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
      const onData = (): void => {
        const m = /^PORT=(\d+)$/m.exec(out);
        if (m) { clearTimeout(timer); child.stdout!.off('data', onData); resolve(Number(m[1])); }
      };
      child.stdout!.on('data', onData);
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`app ${options.app} exited (${e.code ?? e.signal}) before listening\nstdout: ${out}\nstderr: ${err}`));
      });
    });
  }
  return {
    child,
    port,
    dir,
    eventsFile,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', stopTimeoutMs = 10_000) {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return { ...e, ms: performance.now() - started };
    },
    async waitExit(waitTimeoutMs = 10_000) {
      const started = performance.now();
      const timer = setTimeout(() => child.kill('SIGKILL'), waitTimeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return { ...e, ms: performance.now() - started };
    },
    events: () => readEvents(eventsFile),
  };
}

/** Runs a script to completion (bounded) and returns its output. */
export async function runApp(options: SpawnAppOptions): Promise<Exit & { stdout: string; stderr: string }> {
  const app = await spawnApp({ ...options, waitForPort: false });
  const timer = setTimeout(() => app.child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const e = await app.exited;
  clearTimeout(timer);
  // Let the pipes drain.
  await new Promise((r) => setImmediate(r));
  return { ...e, stdout: app.stdout(), stderr: app.stderr() };
}

/** Envelopes of a JSONL events file (missing file → []). A partial last line is ignored. */
export function readEvents(path: string): Envelope[] {
  if (!existsSync(path)) return [];
  const out: Envelope[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try { out.push(JSON.parse(line) as Envelope); } catch { /* being written */ }
  }
  return out;
}

/** Counts occurrences of a warning/error code in a stderr text. */
export function countCode(text: string, code: string): number {
  return text.split(code).length - 1;
}

/** Kills every child still running and removes every temp dir. Call from `after()`. */
export function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
