import { renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Option, type Command } from 'commander';
import { readInputFiles } from '../integrity/read-inputs.js';
import { verifyRecords } from '../integrity/verify.js';
import { buildIncidentReport, ReportOptionsError } from '../report/build.js';
import { renderReportHtml } from '../report/html.js';
import { parseDuration, parseRfc3339 } from '../report/time.js';
import { EXIT, type CliContext } from './main.js';
import { checkFiles, hmacKeyFrom, publicKeyFrom, usage, type KeyFlags } from './key-flags.js';

interface ReportFlags extends KeyFlags {
  since?: string;
  until?: string;
  hours?: string;
  now?: string;
  bucket?: string;
  format: 'json' | 'html';
  out?: string;
}

function timeFlag(cmd: Command, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseRfc3339(value);
  if (ms === undefined) usage(cmd, `${flag}: expected an RFC 3339 time with an offset, e.g. 2026-11-25T10:00:00Z`);
  return ms;
}

/**
 * Writes the report next to its final name, then renames: a reader never sees half a report. Mode
 * 0600, as an incident report describes an organisation's weak spots.
 */
function writeAtomically(path: string, content: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, content, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
}

/** Registers `nis2-otel report`. */
export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .summary('NIS2 Art. 23 incident report (JSON or HTML) from signed event logs, integrity verified first')
    .description('Build a NIS2 Art. 23 incident report from signed security event logs (JSONL envelopes or OTLP/JSON exports):\n' +
      'integrity verdict per stream, incidents by type, source prefix, route and time, timeline, indicators of compromise,\n' +
      'affected services, and the early warning / notification / final report pre-filled with their deadlines.\n' +
      'Exit 0: report written, every stream intact (open streams included). 1: report written, but the evidence is\n' +
      'tampered, unverifiable or damaged (flagged in the report). 2: usage error.')
    .argument('<files...>', 'JSONL files of envelopes, OTLP/JSON exports, or collector `file` exporter output')
    .option('--public-key <key>', 'trusted Ed25519 public key (base64url, base64, PEM, or a file holding one); repeatable',
      (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--hmac-key <base64>', 'HMAC-SHA256 key (prefer --hmac-key-file: arguments are visible to other users)')
    .option('--hmac-key-file <path>', 'file holding the HMAC-SHA256 key (base64)')
    .option('--hmac-kid <string>', 'the key id string configured on the signer (NIS2_HMAC_KEY_ID)')
    .option('--since <time>', 'window start, inclusive (RFC 3339)')
    .option('--until <time>', 'window end, inclusive (RFC 3339)')
    .option('--hours <n>', 'window of N hours ending at --until, else --now, else the newest event of the input')
    .option('--now <time>', 'anchor for --hours (RFC 3339); defaults to the newest event, so the report is reproducible')
    .option('--bucket <duration>', 'time bucket for grouping and the chart, e.g. 5m, 1h, 1d (default: chosen from the window)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'html']).default('json'))
    .option('--out <file>', 'write the report to this file (mode 0600) instead of stdout')
    .action(async (files: string[], flags: ReportFlags, cmd: Command) => {
      checkFiles(cmd, files);
      const publicKeys = flags.publicKey.map((value) => publicKeyFrom(cmd, value));
      const hmacKey = hmacKeyFrom(cmd, flags);
      const since = timeFlag(cmd, '--since', flags.since);
      const until = timeFlag(cmd, '--until', flags.until);
      const now = timeFlag(cmd, '--now', flags.now);
      let hours: number | undefined;
      if (flags.hours !== undefined) {
        hours = /^\d+(\.\d+)?$/.test(flags.hours.trim()) ? Number(flags.hours) : NaN;
        if (!(hours > 0 && hours <= 24 * 366 * 10)) usage(cmd, '--hours: expected a positive number of hours (at most ten years)');
      }
      let bucketSeconds: number | undefined;
      if (flags.bucket !== undefined) {
        bucketSeconds = parseDuration(flags.bucket);
        if (bucketSeconds === undefined) usage(cmd, '--bucket: expected a duration such as 90s, 5m, 1h or 1d');
      }
      if (flags.out !== undefined) {
        let isDir = false;
        try {
          isDir = statSync(flags.out).isDirectory();
        } catch {}
        if (isDir) usage(cmd, `--out: '${flags.out}' is a directory`);
      }

      const input = await readInputFiles(files);
      if (input.records.length === 0) {
        usage(cmd, `no signed event envelopes found in ${files.length === 1 ? files[0] : `${files.length} files`} (${input.skipped} other record(s), ${input.malformed.length} malformed line(s))`);
      }
      const verify = verifyRecords(input.records, { publicKeys, hmacKeys: hmacKey ? [hmacKey] : [] });
      let report;
      try {
        report = buildIncidentReport({ read: input, verify }, {
          ...(since !== undefined && { since }),
          ...(until !== undefined && { until }),
          ...(hours !== undefined && { hours }),
          ...(now !== undefined && { now }),
          ...(bucketSeconds !== undefined && { bucketSeconds }),
        });
      } catch (err) {
        if (err instanceof ReportOptionsError) usage(cmd, err.message);
        throw err;
      }
      const text = flags.format === 'html' ? renderReportHtml(report) : `${JSON.stringify(report, null, 2)}\n`;
      if (flags.out !== undefined) {
        try {
          writeAtomically(flags.out, text);
        } catch (err) {
          usage(cmd, `--out: cannot write '${flags.out}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        }
        const s = report.summary;
        ctx.err(`nis2-otel report: ${flags.out} written: ${s.total.toLocaleString('en-US')} occurrence(s), ${s.eventTypes} type(s), ` +
          `${report.incidents.length} incident group(s); integrity ${report.integrity.status}\n`);
      } else {
        ctx.out(text);
      }
      if (report.integrity.status !== 'intact') ctx.err(`nis2-otel report: ${report.integrity.headline}\n`);
      ctx.exitCode = report.integrity.status === 'intact' ? EXIT.ok : EXIT.failed;
    });
}
