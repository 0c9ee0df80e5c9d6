import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';

/** Options of the local JSONL sink. */
export interface JsonlFileOptions {
  readonly path: string;
  readonly maxBytes: number;
  readonly maxFiles: number;
}

/**
 * Writes each signed envelope (the record body) as one line of a local file: the embedded default
 * when no collector is configured, and a file `nis2-otel verify` reads as is. Writes are ordered
 * and asynchronous (a WriteStream), rotated by size (`file.1` is the newest rotated file).
 */
export class JsonlFileProcessor implements LogRecordProcessor {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  #stream: WriteStream;
  #bytes: number;
  #closed = false;

  constructor(options: JsonlFileOptions) {
    this.path = options.path;
    this.#maxBytes = options.maxBytes;
    this.#maxFiles = options.maxFiles;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.#bytes = sizeOf(this.path);
    this.#stream = this.#open();
  }

  #open(): WriteStream {
    const stream = createWriteStream(this.path, { flags: 'a', mode: 0o600 });
    // A full disk must not crash the app; the error surfaces through the diag logger instead.
    stream.on('error', (err) => process.emitWarning(`nis2: cannot write ${this.path}: ${err.message}`, { code: 'NIS2_WRN_EXPORT_FAILED' }));
    return stream;
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    if (this.#closed || typeof record.body !== 'string') return;
    const line = `${record.body}\n`;
    const size = Buffer.byteLength(line);
    if (this.#bytes > 0 && this.#bytes + size > this.#maxBytes) this.#rotate();
    this.#bytes += size;
    this.#stream.write(line);
  }

  #rotate(): void {
    const old = this.#stream;
    old.end();
    rmSync(`${this.path}.${this.#maxFiles}`, { force: true });
    for (let i = this.#maxFiles - 1; i >= 1; i--) {
      try { renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`); } catch { /* gap in the series */ }
    }
    // The old stream still flushes into the renamed inode: rename keeps the open file.
    renameSync(this.path, `${this.path}.1`);
    this.#bytes = 0;
    this.#stream = this.#open();
  }

  forceFlush(): Promise<void> {
    if (this.#closed || this.#stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.#stream.write('', () => resolve()));
  }

  shutdown(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#stream.end(() => resolve()));
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
