// Owns real Apache Kafka brokers for tests: start through kafka-up, stop/kill/restart, and a PID registry so none survives a failed run.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { locateKafka } from './kafka-home.js';

export interface RealKafka {
  /** '127.0.0.1:<port>'. */
  brokers: string;
  host: string;
  port: number;
  /** ZooKeeper data, Kafka logs, configs, PID files and `logs/kafka.out`. */
  dataDir: string;
  /** The last lines of the broker's own log, for failure messages. */
  output(): string;
  /**
   * Ends the broker process only (ZooKeeper keeps running) and waits for it to exit: SIGKILL (the
   * default) is a crash; SIGTERM a clean shutdown, after which start() is quick.
   */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Start it again on the same port with the same data (after kill(), ~11 s: ZooKeeper's session). */
  start(): Promise<void>;
  /** Stops broker and ZooKeeper; removes the data dir if this fixture created it. */
  stop(): Promise<void>;
}

export interface RealKafkaOptions {
  /** Keep state here (kept after stop); default: a new temp dir, removed on stop. */
  dataDir?: string;
  /** Listen on this port (it must be free); default: a free port, never 9092 (the lead's). */
  port?: number;
}

/** Where running brokers are recorded (one JSON file each), so a sweep can stop the orphans. */
const registryDir = path.join(tmpdir(), 'taskwire-kafka-brokers');

interface Entry {
  dataDir: string;
  ownerPid: number;
  ownsDir: boolean;
}

const KAFKA_CMD = /kafka[.]Kafka|kafka-server-start/;
const ZK_CMD = /QuorumPeerMain|zookeeper-server-start/;

const live = new Map<string, Entry>(); // registry file -> entry, of this process

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILL the broker and ZooKeeper of `dataDir` now, checking each PID's command line first. */
function killNowSync(dataDir: string): void {
  for (const [name, pattern] of [
    ['kafka', KAFKA_CMD],
    ['zookeeper', ZK_CMD],
  ] as const) {
    try {
      const pid = Number(readFileSync(path.join(dataDir, 'run', `${name}.pid`), 'utf8').trim());
      if (pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) process.kill(pid, 'SIGKILL');
    } catch {
      // no PID file, or the process is gone already
    }
  }
}

/**
 * Stops every registered broker whose owning test process is gone (crashed, killed on timeout) and
 * removes its data dir if the fixture made it. Run by the vitest global setup before and after a run.
 */
export function sweepOrphanKafkaBrokers(): number {
  let swept = 0;
  let files: string[] = [];
  try {
    files = readdirSync(registryDir);
  } catch {
    return 0;
  }
  for (const name of files) {
    const file = path.join(registryDir, name);
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    if (pidAlive(entry.ownerPid)) continue;
    killNowSync(entry.dataDir);
    if (entry.ownsDir) rmSync(entry.dataDir, { recursive: true, force: true });
    rmSync(file, { force: true });
    swept++;
  }
  return swept;
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test file that throws before its afterAll still ends its process: stop its brokers then.
  process.once('exit', () => {
    for (const [file, entry] of live) {
      killNowSync(entry.dataDir);
      if (entry.ownsDir) rmSync(entry.dataDir, { recursive: true, force: true });
      rmSync(file, { force: true });
    }
  });
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
    });
    if (port !== 9092) return port;
  }
}

function run(file: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `${path.basename(file)} ${args.join(' ')} failed: ${String(stderr || err.message).trim()}`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
}

/** SIGKILL the process in DATA_DIR/run/NAME.pid if its command line matches (PIDs get reused). */
async function killByPidFile(
  dataDir: string,
  name: string,
  pattern: RegExp,
  signal: NodeJS.Signals,
): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, 'run', `${name}.pid`), 'utf8').trim());
    if (!pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) return;
  } catch {
    return; // no PID file or no such process: nothing runs
  }
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Waits until the broker can coordinate groups. The first group request makes Kafka create
 * __consumer_offsets (50 partitions) and a restarted broker reloads it; until then groups get
 * COORDINATOR_NOT_AVAILABLE for seconds, which the dev broker never answers. Tests start after this.
 */
async function waitForCoordinator(brokers: string, timeoutMs = 90_000): Promise<void> {
  const kafka = new kafkajs.Kafka({
    brokers: [brokers],
    clientId: 'testkit-warmup',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await admin.connect();
        await admin.fetchOffsets({ groupId: 'testkit-warmup', topics: [] });
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`Kafka at ${brokers} coordinates no group: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * kafka-up can give up on a broker that is in fact starting: on a loaded machine its liveness check
 * may read /proc/<pid>/cmdline while the start script execs into java, see an empty command line
 * and report "Kafka did not start" with an empty log. If that broker process runs, wait for it the
 * way kafka-up would (its "started" log line) instead of failing; otherwise rethrow.
 */
async function startingAnyway(dataDir: string, err: Error): Promise<string> {
  if (!/Kafka did not start/.test(err.message)) throw err;
  const deadline = Date.now() + 90_000;
  const log = path.join(dataDir, 'logs/kafka.out');
  for (;;) {
    let pid = 0;
    try {
      pid = Number(readFileSync(path.join(dataDir, 'run/kafka.pid'), 'utf8').trim());
    } catch {
      throw err;
    }
    if (!pidAlive(pid) || Date.now() > deadline) throw err;
    if (tail(log, 10_000).includes('started (kafka.server.KafkaServer)')) {
      const port = readFileSync(path.join(dataDir, 'run/kafka.port'), 'utf8').trim();
      return `KAFKA READY 127.0.0.1:${port} ${dataDir}\n`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Starts a real Kafka 2.4.1 broker (with its ZooKeeper) through kafka-up; throws naming what is missing. */
export async function startRealKafka(options: RealKafkaOptions = {}): Promise<RealKafka> {
  const home = locateKafka();
  if (!home.ok) throw new Error(`cannot start real Kafka: ${home.missing}`);
  installExitHook();
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'taskwire-kafka-'));
  mkdirSync(registryDir, { recursive: true });
  const registryFile = path.join(registryDir, `${process.pid}-${path.basename(dataDir)}-${Date.now()}.json`);
  const entry: Entry = { dataDir, ownerPid: process.pid, ownsDir };
  // Registered before kafka-up runs, so even a start that is interrupted halfway is swept.
  writeFileSync(registryFile, JSON.stringify(entry));
  live.set(registryFile, entry);

  let port = options.port;
  let startedOnce = false;
  const up = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      // The first start picks the port (never 9092, which belongs to a developer's `npm start`);
      // later ones let kafka-up reuse the port it stored in the data dir.
      const env: Record<string, string> = startedOnce
        ? { KAFKA_PORT: '' }
        : { KAFKA_PORT: String(options.port ?? (await freePort())) };
      try {
        const out = await run(home.kafkaUp, [dataDir], env).catch((err: Error) =>
          startingAnyway(dataDir, err),
        );
        const ready = /KAFKA READY 127\.0\.0\.1:(\d+)/.exec(out);
        if (!ready) throw new Error(`kafka-up printed no READY line:\n${out}`);
        port = Number(ready[1]);
        startedOnce = true;
        await waitForCoordinator(`127.0.0.1:${port}`);
        return;
      } catch (err) {
        // Another process took the free port between our probe and Kafka's bind: pick another.
        if (
          !startedOnce &&
          attempt < 3 &&
          options.port === undefined &&
          /port \d+ is in use/.test(String(err))
        )
          continue;
        throw new Error(`${(err as Error).message}\n${tail(path.join(dataDir, 'logs/kafka.out'))}`, {
          cause: err,
        });
      }
    }
  };
  try {
    await up();
  } catch (err) {
    killNowSync(dataDir);
    live.delete(registryFile);
    rmSync(registryFile, { force: true });
    if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  let stopped = false;
  const kafka: RealKafka = {
    get brokers() {
      return `127.0.0.1:${port}`;
    },
    host: '127.0.0.1',
    get port() {
      return port as number;
    },
    dataDir,
    output: () => tail(path.join(dataDir, 'logs/kafka.out')),
    async kill(signal = 'SIGKILL') {
      await killByPidFile(dataDir, 'kafka', KAFKA_CMD, signal);
    },
    start: up,
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGKILL: the data is thrown away (or kept only for inspection), so a clean shutdown buys nothing.
      await killByPidFile(dataDir, 'kafka', KAFKA_CMD, 'SIGKILL');
      await killByPidFile(dataDir, 'zookeeper', ZK_CMD, 'SIGKILL');
      live.delete(registryFile);
      rmSync(registryFile, { force: true });
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return kafka;
}
