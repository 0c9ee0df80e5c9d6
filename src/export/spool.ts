import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Attributes, AnyValue, Context, HrTime, SeverityNumber, SpanContext } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult, type InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { EVENT_HTTP_ACCESS } from '../semconv.js';

/** Options of {@link DurableSpool}. */
export interface DurableSpoolOptions {
  /** Parent directory; each process spools into its own subdirectory of it. */
  readonly dir: string;
  readonly exporter: LogRecordExporter;
  /** Above this many bytes on disk, the oldest segments holding only access records are dropped. */
  readonly maxBytes: number;
  /** Above this, the oldest segments are dropped whatever they hold (security events too). */
  readonly hardMaxBytes: number;
  /** `none`: the OS decides; `batch`: fsync after each batch written (default); `always`: write and fsync per record. */
  readonly fsync: 'none' | 'batch' | 'always';
  /** Told what a cap dropped, so the event stream can say so (`nis2.events.suppressed`). */
  readonly onDrop?: (dropped: { security: number; access: number }) => void;
  readonly batchSize?: number;
  /** Segment rotation: at most this many bytes, and at most this long open. */
  readonly segmentBytes?: number;
  readonly tickMs?: number;
}

interface SpooledLine {
  t: HrTime;
  o: HrTime;
  e: string | undefined;
  st: string | undefined;
  sn: number | undefined;
  b: AnyValue;
  a: Attributes;
  sc?: { traceId: string; spanId: string; traceFlags: number };
}

interface Header {
  h: 1;
  r: Attributes;
  s: InstrumentationScope;
}

interface Segment {
  readonly path: string;
  bytes: number;
  security: number;
  access: number;
}

const OWNER = 'owner.json';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A local append-only spool between the signing processor and the OTLP exporter (issue 6): every
 * record is written to disk before it is exported, and a segment file is deleted only once the
 * exporter acknowledged all of it. While the collector is down the spool grows (to its caps) and
 * drains in order when it is back; after a crash or kill -9 the next process adopts the dead
 * process's directory and sends what was not acknowledged. A record may therefore be sent twice
 * (e.g. killed between export and delete); `(stream, seq)` identifies it and the verifier reports
 * exact duplicates as benign.
 *
 * Writes are batched per event-loop turn (one write syscall per batch, then fsync per policy), so
 * the request path never waits on disk.
 */
export class DurableSpool implements LogRecordProcessor {
  readonly dir: string;
  readonly #exporter: LogRecordExporter;
  readonly #options: DurableSpoolOptions;
  readonly #batchSize: number;
  readonly #segmentBytes: number;
  #sealed: Segment[] = [];
  #active: { seg: Segment; fd: number; opened: number } | undefined;
  #pending: string[] = [];
  #pendingSecurity = 0;
  #pendingAccess = 0;
  #writeScheduled = false;
  #counter = 0;
  #headerLine: string | undefined;
  /** This process's resource: its own segments are exported with it, not with the header's copy. */
  #resource: Resource | undefined;
  #scope: InstrumentationScope | undefined;
  #pumping = false;
  #backoffMs = 0;
  #timer: NodeJS.Timeout;
  #closed = false;
  /** Counters for tests, `nis2-otel check` and benchmarks. */
  readonly stats = { written: 0, exported: 0, failedExports: 0, droppedSecurity: 0, droppedAccess: 0, replayed: 0 };
  /** Told what a cap dropped (set by `register` to emit `nis2.events.suppressed`). */
  onDrop: ((dropped: { security: number; access: number }) => void) | undefined;

  constructor(options: DurableSpoolOptions) {
    this.#options = options;
    this.#exporter = options.exporter;
    this.#batchSize = options.batchSize ?? 512;
    this.#segmentBytes = options.segmentBytes ?? 1024 * 1024;
    this.onDrop = options.onDrop;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.#adoptOrphans();
    this.dir = join(options.dir, `${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.dir, { mode: 0o700 });
    writeFileSync(join(this.dir, OWNER), JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
    this.#timer = setInterval(() => this.#tick(), options.tickMs ?? 200);
    this.#timer.unref();
  }

  /** Bytes waiting on disk (sealed and active segments). */
  get bytes(): number {
    return this.#sealed.reduce((n, s) => n + s.bytes, 0) + (this.#active?.seg.bytes ?? 0);
  }

  /** Segments left by processes that are gone are queued first, oldest first. */
  #adoptOrphans(): void {
    for (const entry of readdirSync(this.#options.dir).sort()) {
      const sub = join(this.#options.dir, entry);
      let owner: { pid?: number };
      try {
        owner = JSON.parse(readFileSync(join(sub, OWNER), 'utf8')) as { pid?: number };
      } catch {
        continue;
      }
      if (typeof owner.pid === 'number' && owner.pid !== process.pid && isAlive(owner.pid)) continue;
      const files = readdirSync(sub).filter((f) => f.startsWith('seg-')).sort();
      for (const f of files) {
        const path = join(sub, f);
        const text = readFileSync(path, 'utf8');
        const lines = text.split('\n').filter((l) => l.length > 0);
        let security = 0;
        let access = 0;
        for (const l of lines.slice(1)) {
          if (l.includes(`"e":"${EVENT_HTTP_ACCESS}"`)) access++;
          else security++;
        }
        this.#sealed.push({ path, bytes: Buffer.byteLength(text), security, access });
        this.stats.replayed += security + access;
      }
      // The directory goes once its last segment is delivered (see #pump).
      // Claimed for this process: should it die too, the next start adopts the rest again.
      if (files.length === 0) rmSync(sub, { recursive: true, force: true });
      else writeFileSync(join(sub, OWNER), JSON.stringify({ pid: process.pid, adopted: new Date().toISOString() }));
    }
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    if (this.#closed || typeof record.body !== 'string') return;
    if (this.#resource === undefined) {
      this.#resource = record.resource;
      this.#scope = record.instrumentationScope;
      if (record.resource.asyncAttributesPending) {
        // The header (used only to replay after a crash) gets the attributes once detection settles.
        void record.resource.waitForAsyncAttributes?.().then(() => { this.#headerLine = undefined; });
      }
    }
    const line: SpooledLine = {
      t: record.hrTime, o: record.hrTimeObserved, e: record.eventName, st: record.severityText, sn: record.severityNumber,
      b: record.body, a: record.attributes,
    };
    if (record.spanContext) line.sc = { traceId: record.spanContext.traceId, spanId: record.spanContext.spanId, traceFlags: record.spanContext.traceFlags };
    this.#pending.push(JSON.stringify(line));
    if (record.eventName === EVENT_HTTP_ACCESS) this.#pendingAccess++;
    else this.#pendingSecurity++;
    if (this.#options.fsync === 'always') {
      this.#writePending();
    } else if (!this.#writeScheduled) {
      this.#writeScheduled = true;
      setImmediate(() => this.#writePending());
    }
  }

  #openSegment(): { seg: Segment; fd: number; opened: number } {
    const path = join(this.dir, `seg-${String(++this.#counter).padStart(8, '0')}.jsonl`);
    const fd = openSync(path, 'a', 0o600);
    if (this.#headerLine === undefined && this.#resource !== undefined) {
      const header: Header = { h: 1, r: this.#resource.asyncAttributesPending ? {} : this.#resource.attributes, s: this.#scope ?? { name: '@nis2/otel' } };
      this.#headerLine = JSON.stringify(header);
    }
    const header = `${this.#headerLine ?? '{"h":1,"r":{},"s":{"name":"@nis2/otel"}}'}\n`;
    writeSync(fd, header);
    return { seg: { path, bytes: Buffer.byteLength(header), security: 0, access: 0 }, fd, opened: Date.now() };
  }

  #writePending(): void {
    this.#writeScheduled = false;
    if (this.#pending.length === 0) return;
    this.#active ??= this.#openSegment();
    const text = `${this.#pending.join('\n')}\n`;
    const active = this.#active;
    writeSync(active.fd, text);
    if (this.#options.fsync !== 'none') fsyncSync(active.fd);
    active.seg.bytes += Buffer.byteLength(text);
    active.seg.security += this.#pendingSecurity;
    active.seg.access += this.#pendingAccess;
    this.stats.written += this.#pending.length;
    this.#pending = [];
    this.#pendingSecurity = 0;
    this.#pendingAccess = 0;
    if (active.seg.bytes >= this.#segmentBytes) this.#seal();
    this.#enforceCaps();
  }

  #seal(): void {
    const active = this.#active;
    if (!active) return;
    closeSync(active.fd);
    this.#sealed.push(active.seg);
    this.#active = undefined;
  }

  /** Drops the oldest access-only segments above maxBytes, then the oldest of any kind above hardMaxBytes. */
  #enforceCaps(): void {
    let total = this.bytes;
    const dropped = { security: 0, access: 0 };
    if (total > this.#options.maxBytes) {
      for (const seg of [...this.#sealed]) {
        if (total <= this.#options.maxBytes) break;
        if (seg.security > 0 || seg === this.#sealed[0] && this.#pumping) continue;
        total -= this.#drop(seg, dropped);
      }
    }
    while (total > this.#options.hardMaxBytes && this.#sealed.length > (this.#pumping ? 1 : 0)) {
      const seg = this.#sealed[this.#pumping ? 1 : 0]!;
      total -= this.#drop(seg, dropped);
    }
    if (dropped.security + dropped.access > 0) {
      this.stats.droppedSecurity += dropped.security;
      this.stats.droppedAccess += dropped.access;
      this.onDrop?.(dropped);
    }
  }

  #drop(seg: Segment, dropped: { security: number; access: number }): number {
    this.#sealed.splice(this.#sealed.indexOf(seg), 1);
    rmSync(seg.path, { force: true });
    dropped.security += seg.security;
    dropped.access += seg.access;
    return seg.bytes;
  }

  #tick(): void {
    if (this.#pending.length > 0) this.#writePending();
    // Seal the active segment when nothing older waits, so fresh records go out within a tick.
    if (this.#active && this.#sealed.length === 0) this.#seal();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#sealed.length === 0) return;
    if (this.#backoffMs > 0 && Date.now() < this.#nextTry) return;
    this.#pumping = true;
    try {
      while (this.#sealed.length > 0) {
        const seg = this.#sealed[0]!;
        const own = seg.path.startsWith(this.dir);
        if (own && this.#resource?.asyncAttributesPending) await this.#resource.waitForAsyncAttributes?.();
        const records = readSegment(seg.path, own ? this.#resource : undefined);
        for (let i = 0; i < records.length; i += this.#batchSize) {
          const result = await this.#export(records.slice(i, i + this.#batchSize));
          if (result.code !== ExportResultCode.SUCCESS) {
            this.stats.failedExports++;
            this.#backoffMs = Math.min(30_000, this.#backoffMs ? this.#backoffMs * 2 : 250);
            this.#nextTry = Date.now() + this.#backoffMs;
            return;
          }
        }
        this.#backoffMs = 0;
        this.stats.exported += records.length;
        this.#sealed.shift();
        rmSync(seg.path, { force: true });
        removeIfEmptyOrphan(seg.path, this.dir);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #nextTry = 0;

  #export(records: ReadableLogRecord[]): Promise<ExportResult> {
    return new Promise((resolve) => {
      try {
        this.#exporter.export(records, resolve);
      } catch (error) {
        resolve({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }

  /** Writes what is pending and tries to deliver everything on disk once, now. */
  async forceFlush(): Promise<void> {
    this.#writePending();
    this.#seal();
    this.#backoffMs = 0;
    await this.#pump();
  }

  /**
   * Last delivery attempt; whatever the exporter does not acknowledge stays on disk for the next
   * start (bounded by the caller's shutdown timeout).
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    await this.forceFlush();
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#sealed.length === 0 && !this.#active) rmSync(this.dir, { recursive: true, force: true });
    await this.#exporter.shutdown().catch(() => undefined);
  }
}

function removeIfEmptyOrphan(segmentPath: string, ownDir: string): void {
  const dir = segmentPath.slice(0, segmentPath.lastIndexOf('/'));
  if (dir === ownDir) return;
  try {
    if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  } catch { /* already gone */ }
}

const resources = new Map<string, Resource>();

/** Parses a segment back into exportable records (a truncated last line from a crash is skipped). */
function readSegment(path: string, ownResource: Resource | undefined): ReadableLogRecord[] {
  if (!existsSync(path) || statSync(path).size === 0) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  let header: Header = { h: 1, r: {}, s: { name: '@nis2/otel' } };
  const out: ReadableLogRecord[] = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    let parsed: SpooledLine | Header;
    try {
      parsed = JSON.parse(line) as SpooledLine | Header;
    } catch {
      continue;
    }
    if ((parsed as Header).h === 1) {
      header = parsed as Header;
      continue;
    }
    const l = parsed as SpooledLine;
    const key = JSON.stringify(header.r);
    let resource = ownResource ?? resources.get(key);
    if (!resource) {
      resource = resourceFromAttributes(header.r);
      if (resources.size > 64) resources.clear();
      resources.set(key, resource);
    }
    const spanContext: SpanContext | undefined = l.sc ? { ...l.sc, isRemote: false } : undefined;
    out.push({
      hrTime: l.t, hrTimeObserved: l.o, eventName: l.e, severityText: l.st, severityNumber: l.sn as SeverityNumber | undefined,
      body: l.b, attributes: l.a, droppedAttributesCount: 0, resource, instrumentationScope: header.s, spanContext,
    });
  }
  return out;
}
