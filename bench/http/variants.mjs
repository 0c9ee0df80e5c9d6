// The variants of the HTTP overhead benchmark (bench/README.md, "HTTP overhead"), as process specs.
import { join } from 'node:path';
import { DIST, ROOT, SIGNING_KEY, cleanEnv, ensureDir, resolveOptional } from '../lib/env.mjs';

const APPS = {
  hello: join(ROOT, 'bench/http/apps/hello.cjs'),
  express: join(ROOT, 'bench/http/apps/express.cjs'),
};
const OTEL_PRELOAD = join(ROOT, 'bench/http/preload/otel.cjs');
/** High enough that no request of a run is ever limited: the limiter does all its work, every time. */
export const NEVER_LIMIT = '4000000000/60s';

/** Order = table order. `apps` lists where a variant applies. */
export const VARIANTS = [
  { id: 'bare', label: '(1) bare Node', apps: ['hello', 'express'] },
  { id: 'otel', label: '(2) OTel NodeSDK + instrumentation-http', apps: ['hello', 'express'] },
  { id: 'otel+guard', label: '(3) (2) + @nis2/otel guard, rate limit on', apps: ['hello', 'express'] },
  { id: 'otel+guard+access-chain', label: '(4) (3) + signed access record per request, chain', apps: ['hello', 'express'] },
  { id: 'otel+guard+access-record', label: '(4′) (3) + signed access record per request, record', apps: ['hello', 'express'] },
  { id: 'guard', label: '(5) @nis2/otel register hook, no tracing', apps: ['hello', 'express'] },
  { id: 'otel-untraced', label: '(5ref) NodeSDK + instrumentation-http and -express, no tracer provider (what (5) runs beside the guard)', apps: ['hello', 'express'] },
  { id: 'express-rate-limit', label: '(6) express-rate-limit (MemoryStore)', apps: ['express'] },
  { id: 'dd-trace-appsec', label: '(6) dd-trace with AppSec', apps: ['hello', 'express'], requires: 'dd-trace/init' },
  { id: 'aikido', label: '(6) Aikido Zen (offline, blocking mode)', apps: ['hello', 'express'], requires: '@aikidosec/firewall' },
];

/**
 * The command line and environment of one variant. `closedPort` is a 127.0.0.1 port nothing listens
 * on, for agents that look for a collector; `dir` a scratch directory of this variant.
 */
export function processSpec(variantId, app, { dir, closedPort }) {
  const v = VARIANTS.find((x) => x.id === variantId);
  if (!v) throw new Error(`unknown variant ${variantId}`);
  if (!v.apps.includes(app)) return { skip: `not applicable to ${app}` };
  const nodeArgs = [];
  const env = cleanEnv({ PORT: '0' });
  const nis2 = {
    NIS2_SIGNING_KEY: SIGNING_KEY,
    NIS2_RATE_LIMIT: NEVER_LIMIT,
    NIS2_EVENTS_FILE: join(ensureDir(dir), 'events.jsonl'),
    NIS2_KEY_DIR: join(dir, 'keys'),
    NIS2_ACCESS_LOG: 'off',
  };
  switch (variantId) {
    case 'bare':
      break;
    case 'otel':
      nodeArgs.push('--require', OTEL_PRELOAD);
      break;
    case 'otel-untraced':
      nodeArgs.push('--require', OTEL_PRELOAD);
      env.BENCH_SPANS = 'none';
      env.BENCH_EXPRESS_INSTR = '1';
      break;
    case 'otel+guard':
    case 'otel+guard+access-chain':
    case 'otel+guard+access-record':
      nodeArgs.push('--require', OTEL_PRELOAD);
      Object.assign(env, nis2, { BENCH_GUARD: '1' });
      if (variantId !== 'otel+guard') {
        env.NIS2_ACCESS_LOG = 'all';
        env.NIS2_SIGNING_MODE = variantId.endsWith('chain') ? 'chain' : 'record';
      }
      break;
    case 'guard':
      // No OTLP endpoint: register starts no tracer provider and writes events to the JSONL file.
      nodeArgs.push('--require', DIST.register);
      Object.assign(env, nis2);
      break;
    case 'express-rate-limit':
      env.BENCH_MIDDLEWARE = 'express-rate-limit';
      break;
    case 'dd-trace-appsec': {
      const init = resolveOptional('dd-trace/init');
      if (!init) return { skip: 'dd-trace is not installed' };
      nodeArgs.push('--require', init);
      Object.assign(env, {
        DD_APPSEC_ENABLED: 'true',
        // No agent: traces go to a closed loopback port and are dropped; nothing leaves the machine.
        DD_TRACE_AGENT_URL: `http://127.0.0.1:${closedPort}`,
        DD_DOGSTATSD_HOST: '127.0.0.1',
        DD_DOGSTATSD_PORT: String(closedPort),
        DD_REMOTE_CONFIGURATION_ENABLED: 'false',
        DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
        DD_CRASHTRACKING_ENABLED: 'false',
        DD_PROFILING_ENABLED: 'false',
        DD_RUNTIME_METRICS_ENABLED: 'false',
        DD_TRACE_STARTUP_LOGS: 'false',
        DD_SERVICE: 'nis2-bench',
      });
      break;
    }
    case 'aikido': {
      const zen = resolveOptional('@aikidosec/firewall');
      if (!zen) return { skip: '@aikidosec/firewall is not installed' };
      nodeArgs.push('--require', zen);
      // No AIKIDO_TOKEN: the agent protects locally and reports nowhere; its rate limiting is
      // configured from Aikido's cloud dashboard, so offline it cannot be turned on.
      Object.assign(env, { AIKIDO_BLOCK: 'true' });
      if (app === 'express') env.BENCH_MIDDLEWARE = 'aikido';
      break;
    }
    default:
      throw new Error(`no spec for ${variantId}`);
  }
  return { cmd: process.execPath, args: [...nodeArgs, APPS[app]], env, cwd: dir };
}
