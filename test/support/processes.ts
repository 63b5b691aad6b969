// Starts the real built processes (dev broker, task-manager, task-worker) for end-to-end tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { startRealKafka, testBrokerKind } from '@taskwire/testkit';
import type { BrokerKind } from '@taskwire/testkit';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** The last ~200 lines of stdout+stderr, for failure messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (or the given signal) and wait for exit, SIGKILL after graceMs. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startNode(
  name: string,
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): Proc {
  const child = spawn(process.execPath, [path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    // Only what the process needs, so variables of the caller's shell (DB_DSN, KAFKA_BROKERS…) cannot leak in.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    child,
    output: () => lines.join('\n'),
    exited,
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill(signal);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs a bench script to its end on the small workload the bench tests use (1 worker, no warm-up,
 * `tasks` bulk tasks, then `rate` single POSTs for 1 s; `env` adds to or overrides that), and reads
 * the JSON it wrote into `dir`: `result` only when it exited 0, `output` its last lines either way.
 */
export async function runBench<T>(
  script: string,
  dir: string,
  workload: { tasks: number; rate: number },
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string; result: T | undefined }> {
  const out = path.join(dir, 'bench.json');
  const bench = startNode(path.basename(script, '.mjs'), script, {
    BENCH_TASKS: String(workload.tasks),
    BENCH_WARMUP: '0',
    BENCH_WORKERS: '1',
    BENCH_RATE: String(workload.rate),
    BENCH_RATE_SECONDS: '1',
    BENCH_IDLE_MS: '200',
    ...env,
    BENCH_OUT: out,
  });
  const { code } = await bench.exited;
  const result = code === 0 ? (JSON.parse(readFileSync(out, 'utf8')) as T) : undefined;
  return { code, output: bench.output(), result };
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `taskwire-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** What the e2e suites hold of a broker process; a dev broker's `Proc` is one. */
export interface BrokerProc {
  name: string;
  output(): string;
  /** Stops the broker for good (the suite is done with it). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface BrokerProcess {
  kind: BrokerKind;
  proc: BrokerProc;
  brokers: string;
  port: number;
  /** Ends the broker process, kill -9 by default (its data stays); start() brings it back on the same port. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts a killed broker again with the same data dir and port, and waits until it serves. */
  start(): Promise<void>;
}

/**
 * Starts a broker process of this test run's kind (TASKWIRE_TEST_BROKER): the dev broker CLI, or
 * real Apache Kafka through ../shared/kafka/kafka-up, with its state in `dataDir`, on `port` or a free one.
 */
export async function startBrokerProcess(
  dataDir: string,
  opts: { port?: number } = {},
): Promise<BrokerProcess> {
  const kind = testBrokerKind();
  if (kind === 'kafka') {
    const kafka = await startRealKafka({ dataDir, ...(opts.port === undefined ? {} : { port: opts.port }) });
    return {
      kind,
      brokers: kafka.brokers,
      port: kafka.port,
      proc: { name: 'broker', output: () => kafka.output(), stop: () => kafka.stop() },
      kill: (signal = 'SIGKILL') => kafka.kill(signal),
      start: () => kafka.start(),
    };
  }
  const port = opts.port ?? (await freePort());
  const spawnDev = async (): Promise<Proc> => {
    const p = startNode('broker', 'packages/dev-broker/dist/cli.js', {}, [
      '--port',
      String(port),
      '--data-dir',
      dataDir,
    ]);
    await waitFor(`the dev broker on port ${port}\n${p.output()}`, () => portOpen(port), 20_000);
    return p;
  };
  let current = await spawnDev();
  return {
    kind,
    brokers: `127.0.0.1:${port}`,
    port,
    proc: {
      name: 'broker',
      output: () => current.output(),
      stop: (signal, graceMs) => current.stop(signal, graceMs),
    },
    kill: (signal = 'SIGKILL') => current.stop(signal),
    async start() {
      current = await spawnDev();
    },
  };
}

export interface ManagerOptions {
  /** Without brokers the manager runs with KAFKA_ENABLED=0 and SCHEDULER_ENABLED=0 (API only). */
  brokers?: string;
  dbType: 'sqlite' | 'mysql';
  dsn: string;
  env?: Record<string, string>;
  port?: number;
}

/** Starts a task-manager process and waits for /readyz. */
export async function startManagerProcess(
  opts: ManagerOptions,
): Promise<{ proc: Proc; url: string; port: number }> {
  const port = opts.port ?? (await freePort());
  const proc = startNode('manager', 'services/task-manager/dist/main.js', {
    SERVER_ADDR: `127.0.0.1:${port}`,
    DB_TYPE: opts.dbType,
    DB_DSN: opts.dsn,
    ...(opts.brokers ? { KAFKA_BROKERS: opts.brokers } : { KAFKA_ENABLED: '0', SCHEDULER_ENABLED: '0' }),
    ...opts.env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the manager /readyz',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`manager exited: ${proc.output()}`);
      return (await fetch(`${url}/readyz`)).ok;
    },
    30_000,
  );
  return { proc, url, port };
}

/**
 * For the enclosing describe block: a temp dir, and `procs`, the processes started there; after the
 * block they are stopped last first (SIGTERM, 10 s each) and the dir is removed.
 */
export function useProcesses(prefix: string) {
  const tmp = tempDir(prefix);
  const procs: BrokerProc[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop('SIGTERM', 10_000);
    tmp.cleanup();
  }, 60_000);
  return {
    dir: tmp.dir,
    procs,
    /** A manager on a SQLite file in the dir, added to `procs`. */
    async startManager(opts: Omit<ManagerOptions, 'dbType' | 'dsn'>) {
      const manager = await startManagerProcess({
        dbType: 'sqlite',
        dsn: path.join(tmp.dir, 'taskwire.db'),
        ...opts,
      });
      procs.push(manager.proc);
      return manager;
    },
  };
}

/** Starts a task-worker process; it is ready once it shows up alive in GET /workers. */
export async function startWorkerProcess(
  id: string,
  brokers: string,
  managerUrl: string,
  env: Record<string, string> = {},
): Promise<Proc> {
  const proc = startNode(id, 'services/task-worker/dist/main.js', {
    WORKER_ID: id,
    KAFKA_BROKERS: brokers,
    HEARTBEAT_INTERVAL_MS: '1000',
    ...env,
  });
  await waitFor(
    `worker ${id} to heartbeat`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`worker ${id} exited: ${proc.output()}`);
      const res = await fetch(`${managerUrl}/workers`);
      const body = (await res.json()) as
        { items?: Array<{ id: string; alive: boolean }> } | Array<{ id: string; alive: boolean }>;
      const items = Array.isArray(body) ? body : (body.items ?? []);
      return items.some((w) => w.id === id && w.alive);
    },
    30_000,
  );
  return proc;
}

/** Runs a built entry point that is expected to exit by itself (bad config); its code and output. */
export async function runToExit(
  script: string,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  const proc = startNode(path.basename(script), script, env);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL')
    throw new Error(`${script} did not exit within ${timeoutMs} ms:\n${proc.output()}`);
  return { code, output: proc.output() };
}

/** A response body as tests read it when they don't name its type: asserted with expect(). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LooseJson = any;

/** Small JSON-over-HTTP client for tests; with `token`, every request carries it as a bearer token. */
export function api(baseUrl: string, token?: string) {
  async function call<T = LooseJson>(
    method: string,
    p: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${baseUrl}${p}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
  return {
    get: <T = LooseJson>(p: string) => call<T>('GET', p),
    post: <T = LooseJson>(p: string, body?: unknown) => call<T>('POST', p, body),
    put: <T = LooseJson>(p: string, body?: unknown) => call<T>('PUT', p, body),
    del: <T = LooseJson>(p: string) => call<T>('DELETE', p),
  };
}
