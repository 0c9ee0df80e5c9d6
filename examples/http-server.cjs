// Plain Node http server: run with `node --require @nis2/otel/register examples/http-server.cjs`.
const http = require('node:http');

const port = Number(process.env.PORT ?? 3000);
const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ hello: 'world', path: req.url }));
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
