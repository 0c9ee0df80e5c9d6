import { Option, type Command } from 'commander';
import { readInputFiles, type FileSummary } from '../integrity/read-inputs.js';
import {
  formatLocation,
  formatSeqRange,
  verifyRecords,
  type MalformedRecord,
  type RecordLocation,
  type StreamReport,
  type StreamState,
} from '../integrity/verify.js';
import { EXIT, type CliContext } from './main.js';
import { checkFiles, hmacKeyFrom, publicKeyFrom, usage, type KeyFlags } from './key-flags.js';

/**
 * `nis2-otel verify --format json` output (schema `nis2-otel.verify/1`). Fields are only ever
 * added within one schema version; a breaking change bumps the schema string.
 */
export interface VerifyJsonOutput {
  schema: 'nis2-otel.verify/1';
  /** Exit code 0: at least one stream, every stream accepted, no malformed line. */
  ok: boolean;
  allowOpen: boolean;
  inputs: { files: FileSummary[]; records: number; skipped: number };
  summary: Record<StreamState, number> & { streams: number; malformed: number };
  streams: Array<StreamReport & { accepted: boolean }>;
  malformed: MalformedRecord[];
}

interface VerifyFlags extends KeyFlags {
  allowOpen?: boolean;
  format: 'text' | 'json';
  asOf?: string;
}

/** Whether a stream passes: intact and closed, or intact and open when open streams are allowed. */
export function isAccepted(stream: StreamReport, allowOpen: boolean): boolean {
  return stream.state === 'intact-closed' || (allowOpen && stream.state === 'intact-open');
}

function asOfFrom(cmd: Command, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value === 'now' ? Date.now() : Date.parse(value);
  if (Number.isNaN(ms)) usage(cmd, '--as-of: expected an RFC 3339 time or "now"');
  return ms;
}

const STATE_LABEL: Record<StreamState, string> = {
  'intact-closed': 'intact, closed',
  'intact-open': 'intact, OPEN (no stream_end)',
  tampered: 'TAMPERED',
  'cannot-verify': 'CANNOT VERIFY',
};

const KEY_LABEL: Record<StreamReport['key']['source'], string> = {
  pinned: 'pinned with --public-key',
  hmac: 'HMAC key given',
  declared: 'declared by the stream itself, not pinned: proves integrity, not authorship (pin it with --public-key)',
  untrusted: 'declared by the stream, NOT one of the pinned keys',
  none: 'no key available',
};

function where(at: RecordLocation[] | RecordLocation | undefined): string {
  const list = Array.isArray(at) ? at : at ? [at] : [];
  if (list.length === 0) return '';
  return ` [${list.slice(0, 3).map(formatLocation).join(', ')}${list.length > 3 ? ', …' : ''}]`;
}

function renderText(result: VerifyJsonOutput): string {
  const lines: string[] = [];
  const files = result.inputs.files;
  lines.push(`nis2-otel verify: ${result.inputs.records} envelope(s) from ${files.length} file(s), ${result.summary.streams} stream(s)` +
    (result.inputs.skipped ? `, ${result.inputs.skipped} non-envelope record(s) skipped` : ''));
  for (const s of result.streams) {
    const mark = s.accepted ? 'OK  ' : 'FAIL';
    lines.push('');
    lines.push(`${mark} ${s.stream}  ${STATE_LABEL[s.state]}  seq ${s.firstSeq}..${s.lastSeq}, ${s.records} record(s)` +
      (s.firstTs ? `, ${s.firstTs} .. ${s.lastTs ?? '?'}` : ''));
    lines.push(`     key ${s.key.kid ?? '?'} (${s.key.alg ?? '?'}): ${KEY_LABEL[s.key.source]}`);
    const width = Math.max(0, ...s.problems.map((p) => p.kind.length));
    for (const p of s.problems) {
      lines.push(`     ${p.severity.padEnd(12)} ${p.kind.padEnd(width)}  ${formatSeqRange(p.from, p.to).padEnd(14)} ${p.detail}${where(p.at)}`);
    }
  }
  if (result.malformed.length > 0) {
    lines.push('');
    lines.push(`FAIL ${result.malformed.length} malformed record(s):`);
    for (const m of result.malformed.slice(0, 50)) lines.push(`     ${m.reason}${m.stream ? ` (stream ${m.stream})` : ''}${where(m.at)}`);
    if (result.malformed.length > 50) lines.push(`     … and ${result.malformed.length - 50} more`);
  }
  lines.push('');
  const counts = (Object.keys(STATE_LABEL) as StreamState[])
    .filter((state) => result.summary[state] > 0)
    .map((state) => `${result.summary[state]} ${state}`);
  if (result.summary.malformed > 0) counts.push(`${result.summary.malformed} malformed`);
  let verdict = result.ok ? 'PASS' : 'FAIL';
  if (result.summary.streams === 0) verdict += ': no envelopes found';
  else verdict += `: ${counts.join(', ')}`;
  if (!result.ok && !result.allowOpen && result.summary['intact-open'] > 0) verdict += ' (open streams pass only with --allow-open)';
  lines.push(verdict);
  return `${lines.join('\n')}\n`;
}

/** Registers `nis2-otel verify`. */
export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .summary('verify signed security event logs (exit 0 only if every stream is intact)')
    .description('Verify signed, hash-chained security event logs (JSONL envelopes or OTLP/JSON log exports).\n' +
      'Exit 0: every stream intact and closed (or open, with --allow-open). 1: tampered, unverifiable or open. 2: usage error.')
    .argument('<files...>', 'JSONL files of envelopes, OTLP/JSON exports, or collector `file` exporter output')
    .option('--public-key <key>', 'trusted Ed25519 public key (base64url, base64, PEM, or a file holding one); repeatable',
      (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--hmac-key <base64>', 'HMAC-SHA256 key (prefer --hmac-key-file: arguments are visible to other users)')
    .option('--hmac-key-file <path>', 'file holding the HMAC-SHA256 key (base64)')
    .option('--hmac-kid <string>', 'the key id string configured on the signer (NIS2_HMAC_KEY_ID)')
    .option('--allow-open', 'accept intact streams without stream_end (e.g. a service still running)')
    .option('--as-of <time>', 'report open streams whose last checkpoint is older than their interval at this time (RFC 3339, or "now")')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (files: string[], flags: VerifyFlags, cmd: Command) => {
      checkFiles(cmd, files);
      const publicKeys = flags.publicKey.map((value) => publicKeyFrom(cmd, value));
      const hmacKey = hmacKeyFrom(cmd, flags);
      const asOf = asOfFrom(cmd, flags.asOf);
      const input = await readInputFiles(files);
      const report = verifyRecords(input.records, {
        publicKeys,
        hmacKeys: hmacKey ? [hmacKey] : [],
        ...(asOf !== undefined && { asOf }),
      });
      const allowOpen = flags.allowOpen === true;
      const streams = report.streams.map((s) => ({ ...s, accepted: isAccepted(s, allowOpen) }));
      const malformed = [...input.malformed, ...report.malformed];
      const summary = { streams: streams.length, 'intact-closed': 0, 'intact-open': 0, tampered: 0, 'cannot-verify': 0, malformed: malformed.length };
      for (const s of streams) summary[s.state]++;
      const result: VerifyJsonOutput = {
        schema: 'nis2-otel.verify/1',
        ok: streams.length > 0 && malformed.length === 0 && streams.every((s) => s.accepted),
        allowOpen,
        inputs: { files: input.files, records: input.records.length, skipped: input.skipped },
        summary,
        streams,
        malformed,
      };
      ctx.out(flags.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderText(result));
      ctx.exitCode = result.ok ? EXIT.ok : EXIT.failed;
    });
}
