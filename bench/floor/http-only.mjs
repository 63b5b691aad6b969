// Floor for bench/http-create.mjs: node:http with nothing behind it. POST bodies are read and
// parsed as JSON, and answered 201 with a small JSON object, as the manager answers POST /tasks;
// no framework, validation, database or logging. Run as a variant: BENCH_ROOTS=bench/floor/http-only.mjs,.
// What it costs per request is what any manager built on node:http pays on this machine.
import http from 'node:http';

const [host, port] = (process.env.SERVER_ADDR ?? '127.0.0.1:8080').split(':');
let n = 0;

export function send(res, status, body) {
  const out = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
  res.end(out);
}

/** Collects items and hands them to `commit` together `ms` after the first (the manager's group commit). */
export function grouped(commit, ms = 2) {
  let group = [];
  let timer = null;
  return (item) => {
    group.push(item);
    timer ??= setTimeout(() => {
      timer = null;
      const done = group;
      group = [];
      commit(done);
    }, ms);
  };
}

export function serve(onPost) {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') return res.end('ok'); // GET /readyz
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => onPost(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'), res));
  });
  server.listen(Number(port), host);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve((body, res) =>
    send(res, 201, {
      id: `t${String(n++).padStart(12, '0')}`,
      status: 'QUEUED',
      params: body.params ?? null,
      created_at: new Date().toISOString(),
    }),
  );
}
