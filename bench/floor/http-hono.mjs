// Floor for bench/http-create.mjs: bench/floor/http-only.mjs's answer through hono and its node
// adapter (@hono/node-server), the manager's HTTP stack, with one route and no middleware: what the
// framework adds per request to node:http. The body is read from the node request, as the manager's
// http/body.ts reads it (hono's c.req.json() goes through a web ReadableStream: ~200 µs more per
// request here). Run as a variant: BENCH_ROOTS=bench/floor/http-hono.mjs,.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../services/task-manager/package.json', import.meta.url));
const { Hono } = require('hono');
const { serve } = require('@hono/node-server');

const [hostname, port] = (process.env.SERVER_ADDR ?? '127.0.0.1:8080').split(':');
let n = 0;
const app = new Hono();
app.get('/readyz', (c) => c.text('ok'));
app.post('*', async (c) => {
  const body = await new Promise((resolve, reject) => {
    const chunks = [];
    c.env.incoming.on('data', (chunk) => chunks.push(chunk));
    c.env.incoming.once('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    c.env.incoming.once('error', reject);
  });
  return c.json(
    {
      id: `t${String(n++).padStart(12, '0')}`,
      status: 'QUEUED',
      params: body.params ?? null,
      created_at: new Date().toISOString(),
    },
    201,
  );
});
const server = serve({ fetch: app.fetch, hostname, port: Number(port) });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
