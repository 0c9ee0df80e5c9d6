import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { result, type CheckContext, type CheckResult } from './types.js';

/**
 * Whether the events file can be written: the file itself if it exists, else the nearest existing
 * directory above it (the JSONL writer creates missing directories). Reads only: nothing is created.
 */
export function writableReason(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile()) return `'${path}' exists and is not a regular file`;
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return `a parent of '${path}' is not a directory, so it cannot be created`;
    if (code !== 'ENOENT') return `'${path}' is not writable (${code ?? 'error'})`;
  }
  let dir = dirname(path);
  for (;;) {
    try {
      const st = statSync(dir);
      if (!st.isDirectory()) return `'${dir}' is not a directory, so '${path}' cannot be created`;
      accessSync(dir, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return `a parent of '${dir}' is not a directory, so '${path}' cannot be created`;
      if (code !== 'ENOENT') return `'${dir}' is not writable (${code ?? 'error'}), so '${path}' cannot be created`;
    }
    const up = dirname(dir);
    if (up === dir) return `no existing directory above '${path}'`;
    dir = up;
  }
}

/** The local JSONL events file can be written (it is the only sink when OTLP is off). */
export function checkEventsFile(ctx: CheckContext): CheckResult[] {
  const id = 'export.events-file.writable';
  const path = ctx.config.export.eventsFile;
  if (path === undefined) return [result(id, 'b', 'info', 'no local events file (OTLP only)')];
  const only = !ctx.config.export.otlp;
  const why = writableReason(path);
  if (why !== undefined) {
    return [result(id, 'b', 'fail', `${why}: signed events written there would be lost${only ? ', and with OTLP off nothing else keeps them' : ''}`,
      { fix: 'point NIS2_EVENTS_FILE at a writable location owned by the app\'s user', data: { path, onlySink: only } })];
  }
  return [result(id, 'b', 'pass', `signed events can be written to '${path}'${only ? ' (the only sink: OTLP is off)' : ''}`, { data: { path, onlySink: only } })];
}
