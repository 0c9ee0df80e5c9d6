import { randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { hashBody } from './encoding.js';
import { CHAIN_ALG, ENVELOPE_VERSION, INTEGRITY_EVENTS, type EnvelopeAttrValue } from './envelope.js';
import type { SigningKey } from './keys.js';

/** One record of the stream, ready to export. */
export interface SealedRecord {
  readonly body: string;
  readonly seq: number;
  readonly ts: string;
  readonly tsMs: number;
}

/**
 * Builds the hash-chained, signed envelopes of one event stream (DESIGN §4). Not thread-safe by
 * design: one stream per process, records sealed in emit order.
 *
 * The top level of the envelope has fixed keys, so its RFC 8785 form is written directly in sorted
 * key order and only `attrs` goes through the JCS library; tests check the result against the
 * library and the independent vectors byte for byte.
 */
export class StreamSigner {
  readonly stream: string;
  readonly key: SigningKey;
  #seq = 0;
  #prev = '';
  #lastMs = 0;
  /** Event records (integrity records excluded) sealed so far: checkpoints count in these. */
  #events = 0;
  #coveredTo = 0;
  #sinceCheckpoint = 0;
  #ended = false;
  readonly #kidJson: string;
  readonly #streamJson: string;
  readonly #algJson: string;

  constructor(key: SigningKey, stream: string = randomBytes(16).toString('base64url')) {
    this.key = key;
    this.stream = stream;
    this.#kidJson = JSON.stringify(key.kid);
    this.#streamJson = JSON.stringify(stream);
    this.#algJson = JSON.stringify(key.alg);
  }

  get seq(): number {
    return this.#seq;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Records sealed since the last checkpoint (integrity records excluded). */
  get sinceCheckpoint(): number {
    return this.#sinceCheckpoint;
  }

  /**
   * Seals an event record. `chain` records carry no signature and are covered by the next signed
   * checkpoint; everything else is signed on its own. `ts` never goes backwards within a stream.
   */
  seal(event: string, severity: string, attrs: Record<string, EnvelopeAttrValue>, tsMs: number, chain = false): SealedRecord {
    this.#events++;
    this.#sinceCheckpoint++;
    return this.#seal(event, severity, attrs, tsMs, chain);
  }

  /** seq 0: declares the key, the checkpoint interval and the process (DESIGN §4). */
  start(attrs: Record<string, EnvelopeAttrValue>, tsMs: number): SealedRecord {
    if (this.#seq !== 0) throw new Error('stream already started');
    return this.#seal(INTEGRITY_EVENTS.streamStart, 'INFO', attrs, tsMs, false);
  }

  /** A signed checkpoint over everything since the previous one (a heartbeat when nothing is new). */
  checkpoint(tsMs: number): SealedRecord {
    const attrs = { from: this.#coveredTo + 1, head: this.#prev, to: this.#events };
    this.#coveredTo = this.#events;
    this.#sinceCheckpoint = 0;
    return this.#seal(INTEGRITY_EVENTS.checkpoint, 'INFO', attrs, tsMs, false);
  }

  /** Clean shutdown: the last record of the stream. */
  end(tsMs: number): SealedRecord {
    const sealed = this.#seal(INTEGRITY_EVENTS.streamEnd, 'INFO', {}, tsMs, false);
    this.#ended = true;
    return sealed;
  }

  #seal(event: string, severity: string, attrs: Record<string, EnvelopeAttrValue>, tsMs: number, chain: boolean): SealedRecord {
    if (this.#ended) throw new Error('stream ended');
    const ms = tsMs > this.#lastMs ? tsMs : this.#lastMs;
    this.#lastMs = ms;
    const ts = new Date(ms).toISOString();
    const seq = this.#seq++;
    // Keys in RFC 8785 order: alg, attrs, event, kid, prev, seq, severity, [sig], stream, ts, v.
    const head = `{"alg":${chain ? `"${CHAIN_ALG}"` : this.#algJson},"attrs":${canonicalJson(attrs)},"event":${JSON.stringify(event)},"kid":${this.#kidJson},"prev":"${this.#prev}","seq":${seq},"severity":${JSON.stringify(severity)}`;
    const tail = `"stream":${this.#streamJson},"ts":"${ts}","v":${ENVELOPE_VERSION}}`;
    let body: string;
    if (chain) {
      body = `${head},${tail}`;
    } else {
      const sig = this.key.sign(Buffer.from(`${head},${tail}`, 'utf8')).toString('base64url');
      body = `${head},"sig":"${sig}",${tail}`;
    }
    this.#prev = hashBody(body);
    return { body, seq, ts, tsMs: ms };
  }
}
