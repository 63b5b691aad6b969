// E2E helpers: run the BUILT task-manager as a child process on a free port, wait for /readyz, stop it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MANAGER_MAIN = fileURLToPath(
  new URL('../../services/task-manager/dist/main.js', import.meta.url),
);

/** A port that was free a moment ago: bind port 0, read it, release it (SERVER_ADDR takes no 0 here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export type ManagerDb = { type: 'sqlite'; file: string } | { type: 'mysql'; dsn: string };

export interface ManagerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** The environment of a child manager: only what it needs, so the caller's env cannot leak in. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...extra };
}

function assertBuilt(): void {
  if (!existsSync(MANAGER_MAIN)) {
    throw new Error(`${MANAGER_MAIN} is missing: build first (node scripts/pnpm.mjs exec tsc -b)`);
  }
}

/** Starts the manager without Kafka or scheduler (unless `env` says otherwise) and waits until ready. */
export async function startManagerProcess(opts: {
  db: ManagerDb;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<ManagerProcess> {
  assertBuilt();
  const port = await freePort();
  const dbEnv =
    opts.db.type === 'sqlite'
      ? { DB_TYPE: 'sqlite', DB_DSN: opts.db.file }
      : { DB_TYPE: 'mysql', DB_DSN: opts.db.dsn };
  const child = spawn(process.execPath, [MANAGER_MAIN], {
    cwd: REPO_ROOT,
    env: childEnv({
      SERVER_ADDR: `127.0.0.1:${port}`,
      KAFKA_ENABLED: '0',
      SCHEDULER_ENABLED: '0',
      ...dbEnv,
      ...opts.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const proc: ManagerProcess = {
    url,
    port,
    child,
    output: () => out,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    await waitForReady(url, exited, opts.readyTimeoutMs ?? 30_000);
  } catch (err) {
    await proc.stop(1000);
    throw new Error(`${(err as Error).message}\n--- manager output ---\n${out}`);
  }
  return proc;
}

/** Polls GET /readyz until 200; fails early if the process exits first. */
export async function waitForReady(
  url: string,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`manager exited with code ${gone} before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`manager at ${url} not ready within ${timeoutMs} ms`);
}

/** Runs the manager expecting it to exit by itself (bad config); returns its code and output. */
export function runManagerToExit(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MANAGER_MAIN], {
      cwd: REPO_ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`manager did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A response body as tests read it: loosely, asserting shapes with expect(). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LooseJson = any;

/** JSON over real HTTP: status and parsed body (null when empty). */
export async function http(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; body: LooseJson }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
