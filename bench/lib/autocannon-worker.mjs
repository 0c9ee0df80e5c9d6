// Child process of bench/lib/load.mjs when wrk is not installed: one autocannon run, result as one
// JSON line on stdout (same shape as the wrk path).
import autocannon from 'autocannon';

const { url, durationS, connections, xffPool } = JSON.parse(process.argv[2]);
let i = 0;
const opts = { url, connections, duration: durationS, pipelining: 1, timeout: 10 };
if (xffPool) {
  opts.requests = [{
    setupRequest(req) {
      i = (i + 1) % xffPool;
      req.headers = { ...req.headers, 'x-forwarded-for': `198.${18 + (Math.floor(i / 65536) % 2)}.${Math.floor(i / 256) % 256}.${i % 256}` };
      return req;
    },
  }];
}
const started = process.hrtime.bigint();
const result = await autocannon(opts);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const ms = (v) => Math.round(v * 1000);
process.stdout.write(`${JSON.stringify({
  requests: result.requests.total,
  seconds: Math.min(seconds, result.duration || seconds),
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  latencyUs: { p50: ms(result.latency.p50), p90: ms(result.latency.p90), p99: ms(result.latency.p99), max: ms(result.latency.max), mean: ms(result.latency.mean) },
})}\n`);
