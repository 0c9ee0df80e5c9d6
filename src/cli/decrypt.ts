import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import { KeyFormatError } from '../integrity/keys.js';
import { readInputFiles } from '../integrity/read-inputs.js';
import { formatLocation, type RecordInput } from '../integrity/verify.js';
import { OpeningKey, isSealedValue, parseSealedToken } from '../privacy/seal.js';
import { EXIT, type CliContext } from './main.js';
import { checkFiles, usage } from './key-flags.js';

/** What a value that cannot be opened is printed as; the reason goes to stderr. */
export const UNOPENABLE = '<unopenable>';

// Per-value reasons printed to stderr before only counting: a whole file sealed to another key
// should say so clearly, not bury the summary under a million identical lines.
const MAX_REASONS = 50;

interface DecryptFlags {
  key: string[];
}

/** Reads one private key file; errors name the file, never its content. */
function keyFrom(cmd: Command, ctx: CliContext, path: string): OpeningKey {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode;
  } catch (err) {
    usage(cmd, `--key: cannot read '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let key: OpeningKey;
  try {
    key = OpeningKey.parse(text);
  } catch (err) {
    if (err instanceof KeyFormatError) usage(cmd, `--key '${path}': ${err.message}`);
    throw err;
  }
  if ((mode & 0o077) !== 0) ctx.err(`nis2-otel decrypt: warning: the private key file '${path}' is readable by other users; chmod 600 it\n`);
  return key;
}

interface Tally {
  opened: number;
  unopenable: number;
  reasons: number;
}

/**
 * Opens every sealed value of one envelope's `attrs` (strings, and strings inside arrays) with the
 * key its kid names. Values that do not open become {@link UNOPENABLE}, with the reason on stderr.
 */
function openAttrs(attrs: Record<string, EnvelopeAttrValue>, keys: ReadonlyMap<string, OpeningKey>, where: string, tally: Tally, ctx: CliContext): Record<string, EnvelopeAttrValue> {
  const fail = (name: string, detail: string): string => {
    tally.unopenable++;
    if (tally.reasons++ < MAX_REASONS) ctx.err(`nis2-otel decrypt: ${where} attribute '${name}': ${detail}\n`);
    return UNOPENABLE;
  };
  const open = (name: string, value: string): string => {
    const kid = parseSealedToken(value)?.kid;
    const key = kid === undefined ? undefined : keys.get(kid);
    if (kid !== undefined && key === undefined) return fail(name, `sealed to key ${kid}; no --key with that id was given (given: ${[...keys.keys()].join(', ')})`);
    const result = (key ?? keys.values().next().value!).openString(value);
    if (!result.ok) return fail(name, result.detail);
    tally.opened++;
    return result.value;
  };
  const out: Record<string, EnvelopeAttrValue> = {};
  for (const [name, value] of Object.entries(attrs)) {
    if (isSealedValue(value)) out[name] = open(name, value);
    else if (Array.isArray(value)) out[name] = value.map((v) => (isSealedValue(v) ? open(name, v) : v));
    else out[name] = value;
  }
  return out;
}

function locate(record: RecordInput, seq: unknown): string {
  return `${formatLocation(record)}${typeof seq === 'number' ? ` (seq ${seq})` : ''}`;
}

/** Registers `nis2-otel decrypt`. */
export function registerDecrypt(program: Command, ctx: CliContext): void {
  program
    .command('decrypt')
    .summary('print records with their sealed PII opened (needs the investigator\'s private key)')
    .description('Print the envelopes of JSONL files or OTLP/JSON log exports as JSONL on stdout, with every sealed value\n' +
      '(nis2enc:1:<kid>:…) opened with the private key from `nis2-otel keygen --encryption`. Never writes files.\n' +
      'Opened records no longer match their signatures: verify the originals with `nis2-otel verify`.\n' +
      `A value that cannot be opened is printed as ${UNOPENABLE}, with the reason on stderr.\n` +
      'Exit 0: every sealed value opened. 1: at least one could not be opened. 2: usage error.')
    .argument('<files...>', 'JSONL files of envelopes, OTLP/JSON exports, or collector `file` exporter output')
    .option('--key <file>', 'file holding the X25519 private key (base64url, or PKCS#8 PEM); repeatable, e.g. across key rotation',
      (value: string, previous: string[]) => [...previous, value], [] as string[])
    .action(async (files: string[], flags: DecryptFlags, cmd: Command) => {
      if (flags.key.length === 0) usage(cmd, '--key <file> is required: the private key from `nis2-otel keygen --encryption`');
      checkFiles(cmd, files);
      const keys = new Map<string, OpeningKey>();
      for (const path of flags.key) {
        const key = keyFrom(cmd, ctx, path);
        keys.set(key.kid, key);
      }
      const input = await readInputFiles(files);
      const tally: Tally = { opened: 0, unopenable: 0, reasons: 0 };
      const lines: string[] = [];
      for (const record of input.records) {
        const envelope = record.parsed as Record<string, unknown>;
        const attrs = envelope['attrs'];
        const opened = typeof attrs === 'object' && attrs !== null && !Array.isArray(attrs)
          ? { ...envelope, attrs: openAttrs(attrs as Record<string, EnvelopeAttrValue>, keys, locate(record, envelope['seq']), tally, ctx) }
          : envelope;
        lines.push(JSON.stringify(opened));
        // Written in chunks: a large evidence file should not be held twice in memory.
        if (lines.length === 1000) ctx.out(`${lines.splice(0).join('\n')}\n`);
      }
      if (lines.length > 0) ctx.out(`${lines.join('\n')}\n`);
      if (tally.reasons > MAX_REASONS) ctx.err(`nis2-otel decrypt: … ${tally.reasons - MAX_REASONS} more value(s) could not be opened\n`);
      for (const m of input.malformed.slice(0, MAX_REASONS)) ctx.err(`nis2-otel decrypt: ${formatLocation(m.at)}: skipped, ${m.reason}\n`);
      ctx.err(`nis2-otel decrypt: ${input.records.length} record(s), ${tally.opened} value(s) opened, ${tally.unopenable} could not be opened` +
        (input.malformed.length > 0 ? `, ${input.malformed.length} malformed line(s) skipped` : '') + '\n');
      ctx.exitCode = tally.unopenable > 0 ? EXIT.failed : EXIT.ok;
    });
}
