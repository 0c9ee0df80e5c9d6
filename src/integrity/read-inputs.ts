import { readFile } from 'node:fs/promises';
import type { MalformedRecord, RecordInput } from './verify.js';

/** How a file's envelopes were found. */
export type InputFormat = 'jsonl' | 'otlp-json' | 'otlp-jsonl' | 'mixed' | 'empty';

/** What one file (or text) held. */
export interface ReadResult {
  /** Envelope bodies, exactly as written, with where each was found. */
  records: RecordInput[];
  /** Lines that are not JSON: in an evidence file, damage worth reporting. */
  malformed: MalformedRecord[];
  /** JSON lines and OTLP log records that are not envelopes (other logs): ignored, but counted. */
  skipped: number;
  format: InputFormat;
}

const NEWLINE = 0x0a;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An envelope, or enough of one that the verifier should see it (and report what is missing)
 * rather than the reader silently skipping a damaged record.
 */
function looksLikeEnvelope(value: Record<string, unknown>): boolean {
  return 'stream' in value && ('seq' in value || 'v' in value);
}

/**
 * Collects envelopes from an OTLP/JSON `ExportLogsServiceRequest` (also one line of the collector's
 * `file` exporter). The envelope is the log record's string body; attribute copies are ignored, as
 * a verifier must never trust them.
 */
function collectOtlp(doc: Record<string, unknown>, source: string, line: number, out: ReadResult): void {
  let index = 0;
  const resourceLogs = Array.isArray(doc['resourceLogs']) ? doc['resourceLogs'] : [];
  for (const rl of resourceLogs) {
    const scopeLogs = isObject(rl) && Array.isArray(rl['scopeLogs']) ? rl['scopeLogs'] : [];
    for (const sl of scopeLogs) {
      const logRecords = isObject(sl) && Array.isArray(sl['logRecords']) ? sl['logRecords'] : [];
      for (const lr of logRecords) {
        index++;
        const body = isObject(lr) && isObject(lr['body']) ? lr['body']['stringValue'] : undefined;
        if (typeof body !== 'string') {
          out.skipped++;
          continue;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          out.skipped++;
          continue;
        }
        if (isObject(parsed) && looksLikeEnvelope(parsed)) {
          out.records.push({ body, parsed, source, line, index });
        } else {
          out.skipped++;
        }
      }
    }
  }
}

/** One line of a JSONL file: an envelope, an OTLP export (collector `file` exporter), or neither. */
function readLine(text: string, source: string, line: number, out: ReadResult, seen: Set<InputFormat>): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    out.malformed.push({ reason: 'not JSON', at: { source, line } });
    return;
  }
  if (!isObject(parsed)) {
    out.skipped++;
  } else if (Array.isArray(parsed['resourceLogs'])) {
    seen.add('otlp-jsonl');
    collectOtlp(parsed, source, line, out);
  } else if (looksLikeEnvelope(parsed)) {
    seen.add('jsonl');
    out.records.push({ body: text, parsed, source, line });
  } else {
    out.skipped++;
  }
}

/**
 * Reads envelopes from a file's bytes: JSONL of envelope bodies, an OTLP/JSON log export (one JSON
 * document, pretty-printed or not), or the collector `file` exporter's one export per line.
 *
 * Lines are split on `\n` only: an envelope's strings may hold U+2028 or a lone `\r`, and a `\r`
 * before the newline is part of the record's bytes (so a CRLF-converted file shows up as not
 * canonical instead of being silently "repaired"). Empty lines (such as the one after the final
 * newline) hold no record and are passed over.
 */
export function parseInputBytes(bytes: Uint8Array | string, source: string): ReadResult {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ReadResult = { records: [], malformed: [], skipped: 0, format: 'empty' };
  const seen = new Set<InputFormat>();
  const lines: Array<[number, number]> = [];
  for (let start = 0; start < buf.length;) {
    const nl = buf.indexOf(NEWLINE, start);
    const end = nl === -1 ? buf.length : nl;
    lines.push([start, end]);
    start = end + 1;
  }
  // A pretty-printed OTLP export is one document over many lines: its first line alone is no JSON.
  const firstText = lines.length > 1 ? buf.toString('utf8', lines[0]![0], lines[0]![1]).trim() : '';
  if (firstText.startsWith('{') && !isJson(firstText)) {
    let doc: unknown;
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch {
      doc = undefined;
    }
    if (isObject(doc) && Array.isArray(doc['resourceLogs'])) {
      collectOtlp(doc, source, 1, out);
      out.format = 'otlp-json';
      return out;
    }
  }
  for (let i = 0; i < lines.length; i++) {
    const [start, end] = lines[i]!;
    if (start === end) continue; // blank line: carries no record
    readLine(buf.toString('utf8', start, end), source, i + 1, out, seen);
  }
  out.format = seen.size === 0 ? 'empty' : seen.size === 1 ? [...seen][0]! : 'mixed';
  return out;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Reads one file of envelopes (see {@link parseInputBytes}). Rejects when the file cannot be read. */
export async function readInputFile(path: string): Promise<ReadResult> {
  return parseInputBytes(await readFile(path), path);
}

/** What each file contributed, for the report's header. */
export interface FileSummary {
  path: string;
  format: InputFormat;
  records: number;
  skipped: number;
  malformed: number;
}

/** {@link readInputFiles}' answer: everything read, plus a summary per file. */
export interface ReadFilesResult extends ReadResult {
  files: FileSummary[];
}

/** Reads several files and concatenates what they hold; record locations name each file. */
export async function readInputFiles(paths: readonly string[]): Promise<ReadFilesResult> {
  const all: ReadFilesResult = { records: [], malformed: [], skipped: 0, format: 'empty', files: [] };
  const formats = new Set<InputFormat>();
  for (const path of paths) {
    const one = await readInputFile(path);
    for (const r of one.records) all.records.push(r);
    for (const m of one.malformed) all.malformed.push(m);
    all.skipped += one.skipped;
    if (one.format !== 'empty') formats.add(one.format);
    all.files.push({ path, format: one.format, records: one.records.length, skipped: one.skipped, malformed: one.malformed.length });
  }
  all.format = formats.size === 0 ? 'empty' : formats.size === 1 ? [...formats][0]! : 'mixed';
  return all;
}
