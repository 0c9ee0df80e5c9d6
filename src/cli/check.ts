import { Option, type Command } from 'commander';
import { loadConfig, type Nis2Config } from '../config/load.js';
import { ValueError, parseBoolean, parseDuration } from '../config/parse-values.js';
import { Nis2Error } from '../errors.js';
import { renderText, runAudit } from '../compliance/audit.js';
import { EXIT, type CliContext } from './main.js';

interface CheckFlags {
  format: 'text' | 'json';
  failOn: 'fail' | 'warn';
  offline?: boolean;
  behindProxy?: boolean;
  timeout: string;
}

function usage(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: EXIT.usage, code: 'nis2.usage' });
}

/** `--behind-proxy`, or `NIS2_EXPECT_PROXY` for deployments that set the environment, not the flags. */
function expectProxy(cmd: Command, flag: boolean | undefined): boolean {
  if (flag) return true;
  const env = process.env['NIS2_EXPECT_PROXY'];
  if (env === undefined || env.trim() === '') return false;
  try {
    return parseBoolean(env);
  } catch {
    usage(cmd, 'NIS2_EXPECT_PROXY: expected true or false');
  }
}

function timeoutFrom(cmd: Command, text: string): number {
  try {
    const ms = parseDuration(text);
    if (ms >= 50 && ms <= 60_000) return ms;
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
  }
  usage(cmd, "--timeout: expected a duration from 50ms to 60s, such as '2s' or '500ms'");
}

/** Registers `nis2-otel check`. */
export function registerCheck(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .summary('audit the configuration against NIS2 Art. 21(2) (exit 1 on failures)')
    .description('Audit the configuration `register` would start with (environment + NIS2_CONFIG_FILE, read by the same loader) and its\n' +
      'environment: signing key, PII sealing, trusted proxies, defense modes, Tor list age, OTLP endpoint, Redis, events file,\n' +
      'clocks, Node.js. Each finding names the NIS2 Art. 21(2) measure it supports. Reads only: never creates a key or a file.\n' +
      'Exit 0: no failure (and no warning with --fail-on warn). 1: failures. 2: usage error or invalid configuration.')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--fail-on <level>', 'lowest finding that makes the exit code 1').choices(['fail', 'warn']).default('fail'))
    .option('--offline', 'do not contact the OTLP endpoint or Redis (those checks report info)')
    .option('--behind-proxy', 'the app runs behind a reverse proxy: fail when no proxy is trusted (also NIS2_EXPECT_PROXY=true)')
    .option('--timeout <duration>', 'upper bound of each network probe', '2s')
    .action(async (flags: CheckFlags, cmd: Command) => {
      const behindProxy = expectProxy(cmd, flags.behindProxy);
      const timeoutMs = timeoutFrom(cmd, flags.timeout);
      let config: Nis2Config;
      try {
        config = loadConfig({ env: process.env, cwd: process.cwd() });
      } catch (err) {
        if (!(err instanceof Nis2Error)) throw err;
        // The loader's message names the key and its variable, never a secret value.
        ctx.err(`nis2-otel check: invalid configuration: ${err.message}\n`);
        if (flags.format === 'json') ctx.out(`${JSON.stringify({ schema: 'nis2-otel.check/1', ok: false, error: { code: err.code, message: err.message } }, null, 2)}\n`);
        ctx.exitCode = EXIT.usage;
        return;
      }
      const report = await runAudit({ config, env: process.env, cwd: process.cwd(), offline: flags.offline === true, timeoutMs, behindProxy, failOn: flags.failOn });
      ctx.out(flags.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
      ctx.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
