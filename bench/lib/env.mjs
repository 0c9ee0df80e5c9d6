// What every benchmark child process shares: the repo root, a clean environment, a signing key.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const requireFromRoot = createRequire(join(ROOT, 'package.json'));

/** Resolves a package entry from the repo, or undefined when it is not installed. */
export function resolveOptional(spec) {
  try {
    return requireFromRoot.resolve(spec);
  } catch {
    return undefined;
  }
}

const STRIP = /^(OTEL_|NIS2_|DD_|AIKIDO_|NODE_OPTIONS$|NODE_V8_COVERAGE$|NODE_TEST_CONTEXT$)/;

/** The parent's environment without anything that would change what a child measures or where it sends data. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!STRIP.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Ed25519 seed for this run (base64); never persisted. */
export const SIGNING_KEY = randomBytes(32).toString('base64');

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Compiled package entry points the benchmarks load (built by `node scripts/build.mjs`). */
export const DIST = {
  esm: join(ROOT, 'dist/esm/index.js'),
  register: join(ROOT, 'dist/cjs/register.js'),
};
