// The BullMQ peer bench (bench/peers/bullmq.mjs) on a tiny workload against the real Redis: its JSON carries
// every figure bench/compare.mjs reads, with sane values, and it leaves no queue behind. No timing thresholds.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench, tempDir } from './support/processes.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TASKS = 200;
const RATE = 100;

/**
 * Sends commands whose replies are one line each (PING, AUTH, EXISTS) on a fresh connection and returns
 * the reply lines: enough to probe Redis and check keys without a client library in this package.
 */
async function redisLines(commands: string[][]): Promise<string[]> {
  const url = new URL(redisUrl);
  const auth = url.password
    ? [[...(url.username ? [url.username] : []), decodeURIComponent(url.password)]]
    : [];
  const all = [...auth.map((a) => ['AUTH', ...a]), ...commands];
  const resp = all
    .map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    .join('');
  const lines = await new Promise<string[]>((resolve, reject) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname);
    let buffer = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('no reply within 2 s')));
    socket.once('connect', () => socket.write(resp));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const got = buffer.split('\r\n').slice(0, -1);
      if (got.length >= all.length) {
        socket.end();
        resolve(got);
      }
    });
    socket.once('error', reject);
  });
  return lines.slice(auth.length);
}

let unreachable: string | undefined;
let output = '';
let exitCode: number | null = null;
let result: {
  peer: string;
  bullmq_version: string;
  redis_version: string;
  runs: Array<{
    queue: string;
    workers: number;
    throughput: Record<string, number> & { cpu_us_by_process: Record<string, number> };
    latency: Record<string, number> & { cpu_us_by_process: Record<string, number> };
    rss_mib: Record<string, number>;
  }>;
};
const tmp = tempDir('bullmq-peer');

beforeAll(async () => {
  try {
    const [pong] = await redisLines([['PING']]);
    if (pong !== '+PONG') throw new Error(`PING answered ${pong}`);
  } catch (err) {
    unreachable = `Redis is not reachable at ${redisUrl}: ${(err as Error).message}`;
    // CI must have Redis: a missing one is a failure there, never a quiet pass.
    if (process.env.CI) throw new Error(`${unreachable} (CI is set, so this fails)`);
    console.warn(
      `\n!!!!!!!!!! SKIPPED test/bullmq-peer.e2e.test.ts: ${unreachable}. ` +
        'Start redis-server or set REDIS_URL to run it. !!!!!!!!!!\n',
    );
    return;
  }
  const run = await runBench<typeof result>(
    'bench/peers/bullmq.mjs',
    tmp.dir,
    { tasks: TASKS, rate: RATE },
    { REDIS_URL: redisUrl, BENCH_TIMEOUT_MS: '100000' },
  );
  exitCode = run.code;
  output = run.output;
  if (run.result) result = run.result;
}, 120_000);

afterAll(() => tmp.cleanup());

describe('bench/peers/bullmq.mjs', () => {
  it('completes every job it adds and writes every figure, with ordered percentiles', (ctx) => {
    if (unreachable) ctx.skip();
    expect(exitCode, output).toBe(0);
    expect(result).toMatchObject({
      peer: 'bullmq',
      bullmq_version: '6.7.0',
      redis_version: expect.any(String),
    });
    expect(result.runs).toHaveLength(1);
    const [run] = result.runs;
    expect(run!.workers).toBe(1);

    const t = run!.throughput;
    expect(t.tasks).toBe(TASKS);
    expect(t.completed).toBe(TASKS);
    expect(t.seconds).toBeGreaterThan(0);
    expect(t.completed_per_s).toBeGreaterThan(0);

    const l = run!.latency;
    expect(l.rate_per_s).toBe(RATE);
    expect(l.tasks).toBe(RATE);
    expect(l.completed).toBe(RATE);
    for (const p of ['p50_ms', 'p95_ms', 'p99_ms', 'max_ms']) expect(l[p], p).toBeGreaterThanOrEqual(0);
    expect(l.p50_ms).toBeLessThanOrEqual(l.p95_ms!);
    expect(l.p95_ms).toBeLessThanOrEqual(l.p99_ms!);
    expect(l.p99_ms).toBeLessThanOrEqual(l.max_ms!);
    expect(l.redis_cpu_us_per_task).toBe(l.cpu_us_by_process.redis);

    for (const leg of [t, l]) {
      const by = leg.cpu_us_by_process;
      expect(Object.keys(by).sort()).toEqual(['client', 'redis', 'workers']);
      for (const v of Object.values(by)) expect(v).toBeGreaterThanOrEqual(0);
      expect(by.redis).toBeGreaterThan(0);
      expect(leg.cpu_us_per_task).toBe(by.workers! + by.redis!);
      expect(leg.cpu_us_per_task_all).toBe(by.workers! + by.redis! + by.client!);
    }

    const rss = run!.rss_mib;
    for (const k of ['worker_idle', 'worker_load', 'redis_idle', 'redis_load'])
      expect(rss[k], k).toBeGreaterThan(0);
    // The peak (VmHWM) can never be below a reading taken earlier in the process's life.
    expect(rss.worker_load).toBeGreaterThanOrEqual(rss.worker_idle!);
  });

  it('obliterates its queue from Redis when it is done', async (ctx) => {
    if (unreachable) ctx.skip();
    expect(exitCode, output).toBe(0);
    const queue = result.runs[0]!.queue;
    expect(queue).toMatch(/^taskwire-peerbench-/);
    const keys = ['meta', 'id', 'events', 'completed'].map((k) => `bull:${queue}:${k}`);
    expect(await redisLines([['EXISTS', ...keys]])).toEqual([':0']);
  });
});
