// The embedded default stack: dev broker, task-manager on SQLite and N task-workers as separate
// processes, with one combined, readable log. Ctrl-C stops them all (workers first, broker last).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

function intVar(name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(
      `${name}=${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}\n`,
    );
    process.exit(1);
  }
  return n;
}

const dataDir = path.resolve(root, env.TASKWIRE_DATA_DIR || '.data');
const brokerPort = intVar('BROKER_PORT', 9092, 1, 65535);
const workerCount = intVar('TASKWIRE_WORKERS', 2, 0, 64);
// Loopback: without API_TOKENS the manager serves only this machine (and refuses anything wider).
const serverAddr = env.SERVER_ADDR || '127.0.0.1:8080';
const brokers = `127.0.0.1:${brokerPort}`;
mkdirSync(dataDir, { recursive: true });

const colors = [36, 35, 33, 32, 34, 31];
const pretty = process.stdout.isTTY;
const levels = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const children = [];
let stopping = false;

/** Prints each JSON log line as "time LEVEL [name] msg {fields}" on a terminal, raw JSON otherwise. */
function pipeLines(name, color, stream, out) {
  const rl = readline.createInterface({ input: stream });
  rl.on('line', (line) => {
    if (!pretty) return void out.write(`${line}\n`);
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      return void out.write(`\x1b[${color}m[${name}]\x1b[0m ${line}\n`);
    }
    const { time, level, msg, pid: _pid, hostname: _host, component, ...rest } = rec;
    const when = new Date(time ?? Date.now()).toISOString().slice(11, 23);
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    const comp = component ? ` (${component})` : '';
    out.write(
      `${when} ${levels[level] ?? level} \x1b[${color}m[${name}]\x1b[0m${comp} ${msg ?? ''}${extra}\n`,
    );
  });
}

/** The named variables that are set (non-empty) in our environment. */
function pick(...names) {
  return Object.fromEntries(names.filter((n) => env[n]).map((n) => [n, env[n]]));
}

/** The V8 flags the worker's package asks for (its start script, Dockerfile and compose use them too). */
const workerNodeArgs =
  JSON.parse(readFileSync(path.join(root, 'services/task-worker/package.json'), 'utf8')).nodeArgs ?? [];

function run(name, script, extraEnv, args = [], nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, script), ...args], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const color = colors[children.length % colors.length];
  pipeLines(name, color, child.stdout, process.stdout);
  pipeLines(name, color, child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(
      `[${name}] exited unexpectedly (code ${code}, signal ${signal}); stopping the stack\n`,
    );
    void stopAll(1);
  });
  children.push({ name, child });
  return child;
}

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

async function waitForReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function stopChild({ child }, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  const order = [...children].reverse(); // workers, manager, broker
  for (const c of order) await stopChild(c, 35_000);
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

// Only the manager checks tokens: the broker and the workers do not get them (undefined = not passed).
const kafkaEnv = { KAFKA_BROKERS: brokers, API_TOKENS: undefined, API_TOKENS_FILE: undefined };
run('broker', 'packages/dev-broker/dist/cli.js', { API_TOKENS: undefined, API_TOKENS_FILE: undefined }, [
  '--port',
  String(brokerPort),
  '--data-dir',
  path.join(dataDir, 'broker'),
]);
try {
  await waitForPort(brokerPort, 20_000);
  run('manager', 'services/task-manager/dist/main.js', {
    ...kafkaEnv,
    SERVER_ADDR: serverAddr,
    DB_TYPE: env.DB_TYPE || 'sqlite',
    DB_DSN: env.DB_DSN || path.join(dataDir, 'taskwire.db'),
    // Authentication: passed as given; unset means off, which the manager allows on loopback only.
    ...pick('API_TOKENS', 'API_TOKENS_FILE', 'AUTH_DISABLED'),
  });
  const colon = serverAddr.lastIndexOf(':');
  const port = serverAddr.slice(colon + 1);
  const given = serverAddr.slice(0, colon);
  const host = ['', '0.0.0.0', '[::]'].includes(given) ? '127.0.0.1' : given;
  const url = `http://${host}:${port}`;
  await waitForReady(url, 30_000);
  for (let i = 1; i <= workerCount; i++) {
    run(
      `worker-${i}`,
      'services/task-worker/dist/main.js',
      {
        ...kafkaEnv,
        WORKER_ID: `worker-${i}`,
        // One developer's machine: let http tasks call services on loopback (production allows none).
        HTTP_EXECUTOR_ALLOW_HOSTS: env.HTTP_EXECUTOR_ALLOW_HOSTS || '127.0.0.1,::1,localhost',
      },
      [],
      workerNodeArgs,
    );
  }
  const auth = env.API_TOKENS || env.API_TOKENS_FILE ? 'bearer tokens required' : 'no authentication';
  process.stdout.write(
    `\nTaskwire is up: ${url}  (${auth}; broker ${brokers}, ${workerCount} workers, data in ${dataDir})\n`,
  );
  process.stdout.write('Press Ctrl-C to stop.\n\n');
} catch (err) {
  process.stderr.write(`start-up failed: ${err.message}\n`);
  await stopAll(1);
}
