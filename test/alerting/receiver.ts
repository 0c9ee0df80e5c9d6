// A webhook receiver on 127.0.0.1 for the alerting tests: records every delivery (raw body,
// headers, arrival time), answers with a scripted status and delay, and measures how many requests
// it has in flight at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly raw: string;
  readonly json: Record<string, unknown>;
}

export interface ReceiverBehaviour {
  /** Status of the n-th request (0-based); default 200. */
  status?: (n: number) => number;
  /** Milliseconds before answering the n-th request. */
  delayMs?: (n: number) => number;
  /** Extra response headers of the n-th request (e.g. Retry-After). */
  headers?: (n: number) => Record<string, string>;
}

export interface Receiver {
  readonly url: string;
  /** Requests answered with 2xx, in arrival order. */
  readonly deliveries: Delivery[];
  /** Arrival time of every request, whatever the answer. */
  readonly arrivals: number[];
  /** Request headers of every request, in arrival order. */
  readonly arrivalHeaders: http.IncomingHttpHeaders[];
  maxInFlight(): number;
  close(): Promise<void>;
}

export async function startReceiver(behaviour: ReceiverBehaviour = {}): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const arrivals: number[] = [];
  const arrivalHeaders: http.IncomingHttpHeaders[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const index = arrivals.length;
    arrivals.push(Date.now());
    arrivalHeaders.push(req.headers);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      inFlight--;
    };
    res.on('close', finish);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try { json = JSON.parse(raw) as Record<string, unknown>; } catch { /* the tests assert on json */ }
      const status = behaviour.status?.(index) ?? 200;
      const answer = (): void => {
        if (res.destroyed) return finish();
        if (status >= 200 && status < 300) deliveries.push({ at: Date.now(), headers: req.headers, raw, json });
        res.writeHead(status, { 'content-type': 'text/plain', ...(behaviour.headers?.(index) ?? {}) });
        res.end(status < 300 ? 'ok' : 'error');
      };
      const delay = behaviour.delayMs?.(index) ?? 0;
      if (delay > 0) {
        const t = setTimeout(() => { timers.delete(t); answer(); }, delay);
        timers.add(t);
      } else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    arrivals,
    arrivalHeaders,
    maxInFlight: () => maxInFlight,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
