// A small Express 5 app (three routes, the usual middleware order): the framework cost is part of
// every variant, so ratios show what a security layer adds to a typical app, not to a bare socket.
// BENCH_MIDDLEWARE picks the in-app alternative measured against the guard:
//   express-rate-limit — its MemoryStore, limit set high so every request is served;
//   aikido             — Aikido Zen's Express middleware (the agent itself is loaded by --require).
const express = require('express');

const app = express();
app.disable('x-powered-by');
const middleware = process.env.BENCH_MIDDLEWARE ?? '';
if (middleware === 'express-rate-limit') {
  const { rateLimit } = require('express-rate-limit');
  app.use(rateLimit({ windowMs: 60_000, limit: 1_000_000_000, standardHeaders: 'draft-8', legacyHeaders: false }));
} else if (middleware === 'aikido') {
  require('@aikidosec/firewall').addExpressMiddleware(app);
}
app.get('/', (_req, res) => { res.type('text/plain').send('hello world'); });
app.get('/users/:id', (req, res) => { res.json({ id: req.params.id }); });
app.post('/login', (_req, res) => { res.status(204).end(); });

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}/\n`);
});
server.keepAliveTimeout = 60_000;
