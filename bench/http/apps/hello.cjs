// Hello-world on node:http: the smallest handler, so whatever a variant adds shows in full.
// Run by bench/http/overhead.mjs; prints `listening on <url>` once ready (PORT=0 picks a free port).
const http = require('node:http');

const body = 'hello world';
const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', body.length);
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}/\n`);
});
