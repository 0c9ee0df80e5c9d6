// TCP syslog listener (plain or TLS) that parses exactly what a QRadar / ArcSight / Sentinel (AMA)
// collector would: RFC 6587 framing (octet counting or LF-terminated, chosen up front), RFC 5424
// messages, and LEEF 2.0 / CEF payloads. Anything malformed is recorded as a violation.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { once } from 'node:events';
import { HOST } from '../helpers/net.ts';

export type Framing = 'octet-counting' | 'lf';

export interface Syslog5424 {
  pri: number;
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
}

const PRINTUSASCII = /^[!-~]+$/;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses one RFC 5424 SYSLOG-MSG; throws with the reason when it is not one. */
export function parse5424(line: string): Syslog5424 {
  const m = /^<(\d{1,3})>(\d{1,2}) /.exec(line);
  if (m === null) throw new Error(`no <PRI>VERSION: ${line.slice(0, 40)}`);
  const pri = Number(m[1]);
  if (pri > 191 || String(pri) !== m[1]) throw new Error(`bad PRI ${m[1]}`);
  if (m[2] !== '1') throw new Error(`VERSION must be 1, got ${m[2]}`);
  let rest = line.slice(m[0].length);
  const fields: string[] = [];
  for (let i = 0; i < 5; i++) {
    const sp = rest.indexOf(' ');
    if (sp <= 0) throw new Error('header truncated');
    fields.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  const [timestamp, hostname, appName, procId, msgId] = fields as [string, string, string, string, string];
  if (timestamp !== '-' && !TS.test(timestamp)) throw new Error(`bad TIMESTAMP ${timestamp}`);
  const limits: [string, string, number][] = [
    ['HOSTNAME', hostname, 255],
    ['APP-NAME', appName, 48],
    ['PROCID', procId, 128],
    ['MSGID', msgId, 32],
  ];
  for (const [name, v, max] of limits) {
    if (!PRINTUSASCII.test(v) || v.length > max) throw new Error(`bad ${name} ${JSON.stringify(v)}`);
  }
  // STRUCTURED-DATA: "-" or [SD-ID *(SP PARAM="VALUE")]... with \" \\ \] escapes
  let sd: string;
  if (rest.startsWith('-')) {
    sd = '-';
    rest = rest.slice(1);
  } else if (rest.startsWith('[')) {
    let i = 0;
    while (rest[i] === '[') {
      let inQ = false;
      i++;
      for (; i < rest.length; i++) {
        const ch = rest[i];
        if (inQ && ch === '\\') {
          i++;
          continue;
        }
        if (ch === '"') inQ = !inQ;
        else if (ch === ']' && !inQ) break;
      }
      if (i >= rest.length) throw new Error('unterminated SD-ELEMENT');
      i++;
    }
    sd = rest.slice(0, i);
    rest = rest.slice(i);
  } else throw new Error(`bad STRUCTURED-DATA at ${JSON.stringify(rest.slice(0, 20))}`);
  let msg = '';
  if (rest.length > 0) {
    if (rest[0] !== ' ') throw new Error('MSG must follow STRUCTURED-DATA after one space');
    msg = rest.slice(1);
    if (msg.startsWith('\uFEFF')) msg = msg.slice(1);
  }
  return { pri, facility: pri >> 3, severity: pri & 7, version: 1, timestamp, hostname, appName, procId, msgId, structuredData: sd, msg };
}

export interface Leef {
  version: '2.0';
  vendor: string;
  product: string;
  productVersion: string;
  eventId: string;
  delimiter: string;
  attrs: Map<string, string>;
  /** The envelope as the README tells an investigator to extract it. */
  envelope: string | undefined;
}

/** LEEF 2.0: LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|k=v<delim>k=v… (no escaping exists). */
export function parseLeef(msg: string): Leef {
  if (!msg.startsWith('LEEF:2.0|')) throw new Error(`not LEEF 2.0: ${msg.slice(0, 20)}`);
  const parts: string[] = [];
  let rest = msg.slice('LEEF:2.0|'.length);
  for (let i = 0; i < 5; i++) {
    const p = rest.indexOf('|');
    if (p < 0) throw new Error('LEEF header truncated');
    parts.push(rest.slice(0, p));
    rest = rest.slice(p + 1);
  }
  const [vendor, product, productVersion, eventId, delimField] = parts as [string, string, string, string, string];
  for (const [n, v] of [['vendor', vendor], ['product', product], ['version', productVersion], ['eventId', eventId]]) {
    if (v === '' || /[\t\r\n]/.test(v ?? '')) throw new Error(`bad LEEF header ${n}`);
  }
  let delimiter: string;
  const hex = /^(?:0x|x)([0-9a-fA-F]{2,4})$/.exec(delimField);
  if (hex !== null) delimiter = String.fromCharCode(parseInt(hex[1] ?? '', 16));
  else if ([...delimField].length === 1) delimiter = delimField;
  else throw new Error(`bad LEEF delimiter field ${JSON.stringify(delimField)}`);
  const attrs = new Map<string, string>();
  for (const pair of rest.split(delimiter)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`LEEF attribute without key=value: ${JSON.stringify(pair.slice(0, 40))}`);
    const k = pair.slice(0, eq);
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad LEEF key ${JSON.stringify(k)}`);
    if (attrs.has(k)) throw new Error(`duplicate LEEF key ${k}`);
    const v = pair.slice(eq + 1);
    if (/[\r\n]/.test(v)) throw new Error(`line break in LEEF value of ${k}`);
    attrs.set(k, v);
  }
  const marker = `${delimiter}nis2Envelope=`;
  const at = msg.indexOf(marker);
  return {
    version: '2.0',
    vendor,
    product,
    productVersion,
    eventId,
    delimiter,
    attrs,
    envelope: at < 0 ? undefined : msg.slice(at + marker.length),
  };
}

export interface Cef {
  version: number;
  vendor: string;
  product: string;
  productVersion: string;
  signatureId: string;
  name: string;
  severity: string;
  ext: Map<string, string>;
}

function unescapeCefHeader(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => {
    if (c === '\\' || c === '|') return c;
    throw new Error(`bad escape \\${c} in CEF header`);
  });
}

/** CEF extension value un-escaping: \\ → \, \= → =, \n → LF, \r → CR; nothing else is legal. */
export function unescapeCefValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[++i];
    if (next === '\\' || next === '=') out += next;
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else throw new Error(`bad escape \\${next ?? ''} in CEF value`);
  }
  return out;
}

/** CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|k=v k=v … */
export function parseCef(msg: string): Cef {
  const m = /^CEF:(\d+)\|/.exec(msg);
  if (m === null) throw new Error(`not CEF: ${msg.slice(0, 20)}`);
  const header: string[] = [];
  let i = m[0].length;
  let cur = '';
  for (; i < msg.length && header.length < 6; i++) {
    const ch = msg[i];
    if (ch === '\\') {
      cur += ch + (msg[i + 1] ?? '');
      i++;
    } else if (ch === '|') {
      header.push(unescapeCefHeader(cur));
      cur = '';
    } else cur += ch;
  }
  if (header.length < 6) throw new Error('CEF header truncated');
  const [vendor, product, productVersion, signatureId, name, severity] = header as [string, string, string, string, string, string];
  if (!/^(10|[0-9])$/.test(severity) && !['Unknown', 'Low', 'Medium', 'High', 'Very-High'].includes(severity)) {
    throw new Error(`bad CEF severity ${severity}`);
  }
  const ext = new Map<string, string>();
  const text = msg.slice(i);
  // positions of unescaped '='
  const eqs: number[] = [];
  for (let j = 0; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '=') eqs.push(j);
  }
  let prevValueStart = -1;
  let prevKey = '';
  for (const eq of eqs) {
    const km = /(^| )([A-Za-z0-9_.]+)$/.exec(text.slice(0, eq));
    if (km === null) throw new Error(`unescaped '=' without a key at ${eq}: ${JSON.stringify(text.slice(Math.max(0, eq - 20), eq + 5))}`);
    const keyStart = eq - (km[2] ?? '').length;
    if (prevValueStart >= 0) {
      const valueEnd = keyStart - 1;
      ext.set(prevKey, unescapeCefValue(text.slice(prevValueStart, valueEnd)));
    } else if (keyStart !== 0) throw new Error('CEF extension must start with a key');
    prevKey = km[2] ?? '';
    if (ext.has(prevKey)) throw new Error(`duplicate CEF key ${prevKey}`);
    prevValueStart = eq + 1;
  }
  if (prevValueStart >= 0) ext.set(prevKey, unescapeCefValue(text.slice(prevValueStart)));
  if (/[\r\n]/.test(text)) throw new Error('raw line break in CEF extension');
  return { version: Number(m[1]), vendor, product, productVersion, signatureId, name, severity, ext };
}

export interface SyslogMockOptions {
  port: number;
  framing: Framing;
  tls?: { key: Buffer; cert: Buffer };
}

export class SyslogMock {
  readonly messages: Syslog5424[] = [];
  readonly raw: string[] = [];
  readonly violations: string[] = [];
  readonly opts: SyslogMockOptions;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(opts: SyslogMockOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const onConn = (sock: Socket): void => this.onConnection(sock);
    const server = this.opts.tls !== undefined ? createTlsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, onConn) : createTcpServer(onConn);
    server.listen(this.opts.port, HOST);
    await once(server, 'listening');
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = once(server, 'close');
    server.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onConnection(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        buf = this.drain(buf);
      } catch (err) {
        this.violations.push((err as Error).message);
        sock.destroy();
      }
    });
  }

  /** Consumes complete frames from buf, returns the unconsumed rest. Works on bytes (octet counts are bytes). */
  private drain(input: Buffer): Buffer {
    let buf: Buffer = input;
    for (;;) {
      let frame: Buffer;
      if (this.opts.framing === 'octet-counting') {
        const sp = buf.indexOf(0x20);
        if (sp < 0) {
          if (buf.length > 10) throw new Error('octet counting: no MSG-LEN');
          return buf;
        }
        const lenText = buf.subarray(0, sp).toString('latin1');
        if (!/^[1-9][0-9]{0,8}$/.test(lenText)) throw new Error(`octet counting: bad MSG-LEN ${JSON.stringify(lenText)}`);
        const len = Number(lenText);
        if (buf.length < sp + 1 + len) return buf;
        frame = buf.subarray(sp + 1, sp + 1 + len);
        buf = buf.subarray(sp + 1 + len);
        // the exporter counts a trailing LF as part of the message; it is framing, not data
        if (frame[frame.length - 1] === 0x0a) frame = frame.subarray(0, frame.length - 1);
        if (frame.includes(0x0a)) throw new Error('raw LF inside a syslog message');
      } else {
        const nl = buf.indexOf(0x0a);
        if (nl < 0) return buf;
        frame = buf.subarray(0, nl);
        buf = buf.subarray(nl + 1);
        if (frame[frame.length - 1] === 0x0d) frame = frame.subarray(0, frame.length - 1);
      }
      const text = new TextDecoder('utf-8', { fatal: true }).decode(frame);
      this.raw.push(text);
      try {
        this.messages.push(parse5424(text));
      } catch (err) {
        this.violations.push(`RFC 5424: ${(err as Error).message}`);
      }
    }
  }
}
