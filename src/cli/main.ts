import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../version.js';
import { registerCheck } from './check.js';
import { registerDecrypt } from './decrypt.js';
import { registerKeygen } from './keygen.js';
import { registerDemo } from './demo.js';
import { registerUpdateThreatList } from './update-threat-list.js';
import { registerVerify } from './verify.js';
import { registerReport } from './report.js';

/** Exit codes shared by every command. */
export const EXIT = {
  /** Success (for `verify`: every stream intact). */
  ok: 0,
  /** The command ran and its answer is "no" (for `verify`: tampered, unverifiable or open). */
  failed: 1,
  /** Usage error: unknown flag, missing file, unusable key, refused overwrite. */
  usage: 2,
} as const;

/** What a command needs from the process: output, and a place to leave its exit code. */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  exitCode: number;
}

/** A command module adds itself to the program; `main` owns parsing and exit codes. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

// Adding a command is one line here.
const COMMANDS: readonly RegisterCommand[] = [registerVerify, registerKeygen, registerDemo, registerUpdateThreatList, registerCheck, registerDecrypt, registerReport];

/**
 * Runs the `nis2-otel` CLI and resolves to the process exit code; never calls `process.exit`, so
 * pending output is flushed and tests can call it in-process.
 *
 * @param argv the full `process.argv` (node, script, arguments…).
 * @param io where output goes; defaults to the process's stdout and stderr.
 */
export async function main(argv: string[], io: { out?: (text: string) => void; err?: (text: string) => void } = {}): Promise<number> {
  const ctx: CliContext = {
    out: io.out ?? ((text) => void process.stdout.write(text)),
    err: io.err ?? ((text) => void process.stderr.write(text)),
    exitCode: EXIT.ok,
  };
  const program = new Command('nis2-otel')
    .description('Tools for @nis2/otel: verify signed security event logs, generate keys.')
    .version(PACKAGE_VERSION)
    // Subcommands copy these settings when created, so they are set before registering.
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err });
  for (const register of COMMANDS) register(program, ctx);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    ctx.err(`nis2-otel: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.usage;
  }
  return ctx.exitCode;
}
