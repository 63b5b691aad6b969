// Test fixture: one broker per test file of either kind (the in-process dev broker or real Apache Kafka), its traits, and random names.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startBroker } from '@taskwire/dev-broker';
import type { BrokerOptions, RunningBroker } from '@taskwire/dev-broker';
import { startRealKafka } from './real-kafka.js';

/** `dev`: our in-process dev broker. `kafka`: Apache Kafka 2.4.1 through ../shared/kafka/kafka-up. */
export type BrokerKind = 'dev' | 'kafka';

/** The kind this test process runs against: TASKWIRE_TEST_BROKER (set per vitest project), default dev. */
export function testBrokerKind(): BrokerKind {
  const v = process.env.TASKWIRE_TEST_BROKER ?? 'dev';
  if (v !== 'dev' && v !== 'kafka')
    throw new Error(`TASKWIRE_TEST_BROKER="${v}" is invalid: expected dev or kafka`);
  return v;
}

/**
 * Where the two kinds legitimately behave differently. Tests read these instead of branching on the
 * kind, so every difference a test tolerates is written down here, once.
 */
export interface BrokerTraits {
  kind: BrokerKind;
  /** Smallest consumer session timeout accepted (Kafka: group.min.session.timeout.ms, 6 s by default). */
  minSessionTimeoutMs: number;
  /** How long a broker started again after SIGKILL may take to serve (Kafka waits out ZooKeeper's 6 s session: ~11 s). */
  restartAfterKillMs: number;
  /** How long a cold start may take on a loaded machine (Kafka is a JVM plus ZooKeeper). */
  startMs: number;
  /** Transactional producers work (the dev broker refuses them; Taskwire does not use them). */
  transactions: boolean;
  /**
   * A parked fetch is answered with everything the produce request that satisfied it appended, on
   * every partition (the dev broker answers after the whole request). Kafka 2.4 may answer at the
   * first partition's append, and the other partitions come a fetch later.
   */
  fetchAnswersWholeProduce: boolean;
}

const TRAITS: Record<BrokerKind, BrokerTraits> = {
  dev: {
    kind: 'dev',
    minSessionTimeoutMs: 100,
    restartAfterKillMs: 10_000,
    startMs: 20_000,
    transactions: false,
    fetchAnswersWholeProduce: true,
  },
  kafka: {
    kind: 'kafka',
    minSessionTimeoutMs: 6_000,
    restartAfterKillMs: 60_000,
    startMs: 90_000,
    transactions: true,
    fetchAnswersWholeProduce: false,
  },
};

/** The traits of the kind this test process runs against. */
export const brokerTraits: BrokerTraits = TRAITS[testBrokerKind()];

/** The traits of a given kind (for suites that start both, like the conformance suite). */
export function traitsOf(kind: BrokerKind): BrokerTraits {
  return TRAITS[kind];
}

export interface TestBroker {
  kind: BrokerKind;
  /** 'host:port' for `new Kafka({ brokers: [broker.brokers] })`. */
  brokers: string;
  host: string;
  port: number;
  /** Stops the broker and starts it again on the same port with the same data (needs `persistent`). */
  restart(): Promise<void>;
  /** Stops the broker abruptly (Kafka: SIGKILL; dev: every socket dropped); `start()` brings it back. */
  kill(): Promise<void>;
  /** Starts a killed broker again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. Call in `afterAll`. */
  stop(): Promise<void>;
}

export interface TestBrokerOptions {
  /** Which broker; default: the kind of this test process (`testBrokerKind()`). */
  kind?: BrokerKind;
  /** Listen on this port; default a free one. */
  port?: number;
  /** Keep data on disk so restart()/kill()+start() keep topics, messages and offsets. Kafka always does. */
  persistent?: boolean;
  /** Options for the dev broker only (ignored by Kafka, whose settings are ../shared/kafka's). */
  dev?: Omit<BrokerOptions, 'port' | 'dataDir'>;
}

const quiet = pino({ level: 'silent' });

async function startDev(options: TestBrokerOptions): Promise<TestBroker> {
  const dataDir = options.persistent ? mkdtempSync(path.join(tmpdir(), 'taskwire-devbroker-')) : undefined;
  const open = (port: number): Promise<RunningBroker> =>
    startBroker({ logger: quiet, ...options.dev, port, ...(dataDir ? { dataDir } : {}) });
  let broker: RunningBroker | null = await open(options.port ?? 0);
  const port = broker.port;
  const needsData = (what: string): void => {
    if (!dataDir) throw new Error(`${what} needs startTestBroker({ persistent: true })`);
  };
  const fixture: TestBroker = {
    kind: 'dev',
    brokers: broker.brokers,
    host: broker.host,
    port,
    async restart() {
      needsData('restart()');
      await fixture.kill();
      await fixture.start();
    },
    async kill() {
      needsData('kill()');
      await broker?.stop();
      broker = null;
    },
    async start() {
      if (!broker) broker = await open(port);
    },
    async stop() {
      await broker?.stop();
      broker = null;
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/**
 * Starts a broker of the kind this test runs against (see `testBrokerKind`) on a free port. Stop it
 * in `afterAll`. Tests written against it run unchanged on the dev broker and on real Kafka.
 *
 * @example
 * ```ts
 * let broker: TestBroker;
 * beforeAll(async () => { broker = await startTestBroker(); }, brokerTraits.startMs);
 * afterAll(() => broker.stop());
 * ```
 */
export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const kind = options.kind ?? testBrokerKind();
  if (kind === 'dev') return startDev(options);
  const kafka = await startRealKafka(options.port === undefined ? {} : { port: options.port });
  return {
    kind,
    brokers: kafka.brokers,
    host: kafka.host,
    port: kafka.port,
    async restart() {
      await kafka.kill('SIGTERM');
      await kafka.start();
    },
    kill: () => kafka.kill(),
    start: () => kafka.start(),
    stop: () => kafka.stop(),
  };
}

/** A unique, Kafka-safe name: `randomName('dispatch')` → `dispatch-k3j9x2a1b0c4`. */
export function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
