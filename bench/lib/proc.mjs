// Child processes for the benchmarks: CPU pinning, servers that announce their URL, bounded waits.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

let tasksetOk;
/** Whether `taskset` exists and two cores are there to pin server and load apart. */
export function canPin() {
  if (tasksetOk === undefined) {
    tasksetOk = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  }
  return tasksetOk;
}

/** CPU sets: the server (and in-process micro-benchmarks) on core 0, the load generator on core 1. */
export const CPU = { server: '0', load: '1' };

/** [command, args] that run `cmd args` pinned to `cpu` when pinning is possible. */
export function pinned(cpu, cmd, args) {
  return canPin() ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}

/**
 * Starts a server process and resolves once it prints `listening on <url>`. Rejects (with its
 * stderr) if it exits or stays silent for `timeoutMs`. The handle's `stop()` sends SIGTERM and
 * falls back to SIGKILL, so no server outlives the benchmark.
 */
export function startServer({ label, cmd, args, env, cwd, cpu = CPU.server, timeoutMs = 30_000 }) {
  const [c, a] = pinned(cpu, cmd, args);
  const child = spawn(c, a, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => { if (stderr.length < 64_000) stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no 'listening on' within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /listening on (\S+)/.exec(stdout);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`${label}: exited (${code ?? signal}) before listening\n${stderr}`)); });
  });
  return ready.then((url) => ({
    label,
    url,
    pid: child.pid,
    stderr: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  }));
}

/** Runs a node script to completion (pinned), returning its last stdout line parsed as JSON. */
export function runJson({ label, cmd = process.execPath, args, env = process.env, cwd, cpu = CPU.server, timeoutMs = 600_000 }) {
  const [c, a] = pinned(cpu, cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { if (err.length < 64_000) err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${label}: exited ${code ?? signal}\n${err}\n${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${label}: last line is not JSON: ${last.slice(0, 200)}\n${err}`));
      }
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on (for agents that must find no collector). */
export async function closedPort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
