import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** An example app under `--require @nis2/otel/register`, started with the given environment. */
export class AppProcess {
  url = '';
  readonly child: ChildProcess;
  stderr = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
  }

  static async start(env: Record<string, string>, app = `${ROOT}examples/http-server.cjs`, cwd?: string): Promise<AppProcess> {
    const child = spawn(process.execPath, ['--require', `${ROOT}dist/cjs/register.js`, app], {
      cwd: cwd ?? ROOT,
      env: { ...process.env, PORT: '0', NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new AppProcess(child);
    proc.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app did not start: ${proc.stderr}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        const m = /listening on (\S+)/.exec(d.toString());
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`app exited ${code}: ${proc.stderr}`)); });
    });
    return proc;
  }

  /** SIGTERM and wait for the exit (the package flushes and writes stream_end first). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await exited;
  }
}
