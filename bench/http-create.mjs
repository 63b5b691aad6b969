// HTTP create benchmark: the manager's CPU per single POST /tasks with Kafka out of the picture
// (KAFKA_ENABLED=0: nothing relays, so this is HTTP, validation and the SQLite commit alone).
//
// Several variants run side by side, one manager each, driven by one client that interleaves
// their requests: on a machine shared with other work, they all see the same load, so the
// difference between their figures means something even when each figure alone is noisy.
//
// Run after a build: `node bench/http-create.mjs`. Env:
//   BENCH_ROOTS       comma-separated checkouts whose build to run (default: this one), one variant each;
//                     an entry ending in .mjs is a server script run instead of a manager (the floors:
//                     bench/floor/http-only.mjs, bench/floor/http-sqlite.mjs)
//   BENCH_VARIANT_ENV `;`-separated manager env per variant, `K=V K=V` (e.g. `CREATE_COMMIT_INTERVAL_MS=0;`);
//                     with one root and several env entries, every variant runs that root
//   BENCH_RATE        POST/s per variant, open loop as the pipeline bench's latency leg (default 1000)
//   BENCH_CONCURRENCY closed loop instead: this many requests in flight per variant (1: every group
//                     commit holds one task, whatever the machine's load)
//   BENCH_CLIENT      `raw` (default): keep-alive sockets written and parsed by hand, so the client
//                     takes little of the CPU the managers need; `fetch`: undici, as the pipeline bench
//   BENCH_SECONDS (5), BENCH_WARMUP (requests per variant, 2000), BENCH_TOKEN (run with API_TOKENS
//   and send it), BENCH_LOG_LEVEL (warn), BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`)
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, waitUntil } from './helpers.mjs';
import { selfCpuUs } from './proc-stats.mjs';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 0);
const TOKEN = process.env.BENCH_TOKEN;
const CLIENT = process.env.BENCH_CLIENT ?? 'raw';
const roots = (process.env.BENCH_ROOTS ?? here).split(',').map((r) => path.resolve(r));
const envs = (process.env.BENCH_VARIANT_ENV ?? '').split(';').map((e) =>
  Object.fromEntries(
    e
      .split(' ')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  ),
);
const count = Math.max(roots.length, envs.length);
const variants = Array.from({ length: count }, (_, i) => ({
  root: roots[Math.min(i, roots.length - 1)],
  env: envs[Math.min(i, envs.length - 1)] ?? {},
}));
const headers = {
  'content-type': 'application/json',
  ...(TOKEN ? { authorization: `Bearer ${TOKEN}` } : {}),
};

/**
 * POSTs over a pool of keep-alive connections, one request at a time on each (no pipelining), a
 * new connection when every one is busy: what an HTTP client does, at a fraction of undici's CPU.
 * Resolves with the status; the answer must carry Content-Length (every JSON answer does).
 */
function rawClient(port) {
  const idle = [];
  const connect = () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let pending = null;
    socket.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (buf.length < end + 4 + length) return;
      buf = buf.subarray(end + 4 + length);
      const p = pending;
      pending = null;
      idle.push(conn);
      p.resolve(Number(head.slice(9, 12)));
    });
    socket.on('error', (err) => pending?.reject(err));
    socket.on('close', () => {
      const i = idle.indexOf(conn);
      if (i >= 0) idle.splice(i, 1);
      pending?.reject(new Error('connection closed'));
    });
    const conn = {
      send(bytes) {
        return new Promise((resolve, reject) => {
          pending = { resolve, reject };
          socket.write(bytes);
        });
      },
      close: () => socket.destroy(),
    };
    return conn;
  };
  const all = [];
  return {
    post(path, body) {
      const payload = Buffer.from(body);
      const extra = TOKEN ? `authorization: Bearer ${TOKEN}\r\n` : '';
      const req = Buffer.concat([
        Buffer.from(
          `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n${extra}content-length: ${payload.length}\r\n\r\n`,
        ),
        payload,
      ]);
      let conn = idle.pop();
      if (!conn) all.push((conn = connect()));
      return conn.send(req);
    },
    close: () => all.forEach((c) => c.close()),
  };
}

/** [user, system] CPU ms of a process (/proc/<pid>/stat, 10 ms ticks). */
function userSysMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) * 10, Number(fields[12]) * 10];
}

async function startManager({ root, env }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskwire-http-bench-'));
  const port = await freePort();
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, root.endsWith('.mjs') ? root : path.join(root, 'services/task-manager/dist/main.js')],
    {
      env: {
        ...process.env,
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        SERVER_ADDR: `127.0.0.1:${port}`,
        DB_DSN: path.join(dir, 'bench.db'),
        KAFKA_ENABLED: '0',
        ...(TOKEN ? { API_TOKENS: `admin:${TOKEN}` } : {}),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('manager', async () => (await fetch(`${url}/readyz`)).ok);
  const res = await fetch(`${url}/templates`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: `bench-echo-${Date.now()}`, executor: 'echo' }),
  });
  const template = await res.json();
  const raw = CLIENT === 'raw' ? rawClient(port) : null;
  const post = (i) => {
    const body = JSON.stringify({ task_template_id: template.id, params: { i } });
    const answered = raw
      ? raw.post('/tasks', body)
      : fetch(`${url}/tasks`, { method: 'POST', headers, body }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
    return answered.then((status) => {
      if (status !== 201) throw new Error(`status ${status}`);
    });
  };
  return {
    child,
    post,
    async stop() {
      raw?.close();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `n` POSTs per manager: open loop at RATE/s each (interleaved), or CONCURRENCY lanes each. */
async function drive(managers, n) {
  const t0 = performance.now();
  if (CONCURRENCY > 0) {
    const lanes = managers.flatMap((m) => {
      let next = 0;
      return Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await m.post(next++);
      });
    });
    await Promise.all(lanes);
    return (performance.now() - t0) / 1000;
  }
  const inflight = new Set();
  const failures = [];
  const total = n * managers.length;
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / (RATE * managers.length) - performance.now();
    if (wait > 1) await sleep(wait);
    const p = managers[i % managers.length]
      .post(Math.floor(i / managers.length))
      .catch((err) => void failures.push(`${err.cause?.code ?? ''} ${err.cause?.message ?? err.message}`));
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  if (failures.length > 0)
    throw new Error(`${failures.length} of ${total} POST /tasks failed, e.g. ${failures[0]}`);
  return (performance.now() - t0) / 1000;
}

const managers = [];
try {
  for (const v of variants) managers.push(await startManager(v));
  if (WARMUP > 0) await drive(managers, WARMUP);
  await sleep(500);
  const n = CONCURRENCY > 0 ? RATE * SECONDS : RATE * SECONDS;
  const before = managers.map((m) => userSysMs(m.child.pid));
  const c0 = selfCpuUs();
  const seconds = await drive(managers, n);
  const client = Math.round((selfCpuUs() - c0) / (n * managers.length));
  variants.forEach((v, i) => {
    const [u, s] = userSysMs(managers[i].child.pid).map((ms, k) => ((ms - before[i][k]) * 1000) / n);
    console.log(
      JSON.stringify({
        root: v.root,
        env: v.env,
        load_avg: loadavg().map((l) => +l.toFixed(2)),
        ...(CONCURRENCY > 0 ? { concurrency: CONCURRENCY } : { rate_per_s: RATE }),
        posts: n,
        seconds: +seconds.toFixed(2),
        manager_cpu_us_per_post: Math.round(u + s),
        manager_user_sys_us_per_post: [Math.round(u), Math.round(s)],
        client: CLIENT,
        client_cpu_us_per_post: client,
      }),
    );
  });
} finally {
  for (const m of managers) await m.stop();
}
