// createWorker/startWorker: wires registry, runner and Kafka I/O into one worker that stays connected, and stops it.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { DLQ_HEADERS, cutDeadLetter, decodeResult, dispatchTopicFor } from '@taskwire/contracts';
import {
  KeyPartitioner,
  createLogger,
  kafkaBrokerConfig,
  kafkaLogCreator,
  kafkaLogLevel,
} from '@taskwire/service-kit';
import { SchemaCompiler } from '@taskwire/json-schema';
import type { Config } from './config.js';
import { startHealthServer } from './health.js';
import type { HealthServer } from './health.js';
import type { WorkerMetrics } from './metrics.js';
import { loadExecutors } from './registry/index.js';
import type { ExecutorRegistry } from './registry/index.js';
import { failedInstead, RunningTasks, runTask, SchemaRefs, TaskAbort } from './runner/index.js';
import { BatchingProducer } from './kafka/batching-producer.js';
import { ControlConsumer } from './kafka/control-consumer.js';
import { DispatchConsumer } from './kafka/dispatch-consumer.js';
import { SchemaConsumer } from './kafka/schema-consumer.js';
import { Heartbeats } from './kafka/heartbeat.js';
import { KafkaSupervisor } from './kafka/supervisor.js';
import type { KafkaStatus } from './kafka/supervisor.js';

export interface WorkerDeps {
  logger?: Logger;
  /** A ready registry (tests); default: load config.executors. */
  registry?: ExecutorRegistry;
  /** Directory that relative EXECUTORS paths resolve against; default process.cwd(). */
  cwd?: string;
}

export interface Worker {
  readonly id: string;
  readonly executors: readonly string[];
  /** Tasks running now. */
  running(): number;
  /** Connected to Kafka and consuming, or why not: what GET /readyz answers. */
  status(): KafkaStatus;
  /** Resolves once connected to Kafka and consuming (at once if it is). */
  ready(): Promise<void>;
  /** The port GET /healthz and /readyz are served on (HEALTH_ADDR), if they are. */
  readonly healthPort: number | undefined;
  /** The port GET /metrics is served on (METRICS_ADDR), if it is. */
  readonly metricsPort: number | undefined;
  /**
   * Leaves the group at once (the process is crashing): commits what is finished and disconnects,
   * waiting at most `ms`. Unfinished tasks are redelivered to the other workers without waiting
   * for this one's session to expire.
   */
  abort(ms: number): Promise<void>;
  /**
   * Stops fetching, lets running tasks finish for up to SHUTDOWN_GRACE_MS, then aborts the rest
   * (their dispatches stay uncommitted and go to another worker), publishes, commits and leaves.
   */
  stop(): Promise<void>;
}

/** Time given to aborted tasks to settle before the worker leaves anyway. */
const ABORT_SETTLE_MS = 2000;
/** How long shutdown waits for unsent messages when the broker does not answer. */
const FLUSH_TIMEOUT_MS = 10_000;
/** The most a graceful stop waits for Kafka (flush, commit, leave) once the tasks are done. */
const SHUTDOWN_KAFKA_MS = 15_000;

/** True when `work` settles (either way) within `ms`; false when the time ran out first. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * kafkajs ERROR lines that only say Kafka is unreachable. The supervisor retries these and logs
 * each retry once at warn with the reason, so kafkajs' own lines about them go to debug.
 */
const CONNECTIVITY =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection (error|timeout)|Failed to connect|Closed connection|Crash: KafkaJS(NumberOfRetriesExceeded|Connection)|Restarting the consumer|not (be )?connected/i;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Connects to Kafka (retrying until it can) and resolves once consuming; see createWorker. */
export async function startWorker(config: Config, deps: WorkerDeps = {}): Promise<Worker> {
  const worker = await createWorker(config, deps);
  await worker.ready();
  return worker;
}

/**
 * Loads the executors (a bad plugin throws: that is a configuration error) and starts connecting to
 * Kafka in the background, retrying with backoff for as long as the worker runs; the returned
 * worker answers `status()`/`ready()` and, with HEALTH_ADDR, GET /healthz and /readyz.
 */
export async function createWorker(config: Config, deps: WorkerDeps = {}): Promise<Worker> {
  const logger = (deps.logger ?? createLogger({ name: 'task-worker', level: config.logLevel })).child({
    workerId: config.workerId,
  });
  const registry =
    deps.registry ??
    (await loadExecutors({
      specifiers: config.executors,
      allowShell: config.allowShell,
      cwd: deps.cwd ?? process.cwd(),
      pluginOptions: {
        httpAllowHosts: config.httpAllowHosts,
        shellPrograms: config.shellPrograms,
        shellEnv: config.shellEnv,
      },
      logger: logger.child({ component: 'registry' }),
    }));

  const kafka = new Kafka({
    clientId: config.workerId,
    ...kafkaBrokerConfig(config.kafkaBrokers),
    logLevel: kafkaLogLevel(config.logLevel),
    logCreator: kafkaLogCreator(logger, {
      demote: (message, extra) => CONNECTIVITY.test(`${message} ${String(extra.error ?? '')}`),
    }),
  });
  // Results are keyed by task id: kafkajs' default partitions, computed without its garbage.
  const producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: KeyPartitioner });
  let producerConnected = false;
  const out = new BatchingProducer(producer, logger.child({ component: 'producer' }), {
    maxMessageBytes: config.maxMessageBytes,
    // A result Kafka will not take becomes a failed result naming the limit, so the task ends
    // (and its dispatch offset can be committed) instead of being redelivered forever; a dead letter
    // goes to the DLQ cut down (marked so), so its partition moves on.
    replaceTooLarge: (topic, message, reason, fitBytes) => {
      if (message.headers?.[DLQ_HEADERS.reason] !== undefined && topic.endsWith('.dlq'))
        return cutDeadLetter({ key: message.key, value: message.value, headers: message.headers }, fitBytes);
      if (topic !== config.resultTopic || message.value === null) return null;
      const decoded = decodeResult(message.value);
      if (!decoded.ok) return null;
      const failed = failedInstead(decoded.value, {
        message: `the ${decoded.value.type} message of task ${decoded.value.task_id} is too large for Kafka: ${reason}`,
        code: 'message_too_large',
        retryable: false,
      });
      return { key: message.key, value: JSON.stringify(failed) };
    },
  });
  const running = new RunningTasks();
  const schemas = new SchemaCompiler({ limits: config.schemaLimits });
  const schemaRefs = new SchemaRefs(config.schemaWaitMs);
  const runnerLogger = logger.child({ component: 'runner' });
  const publish = (taskId: string, value: string): Promise<void> =>
    out.send(config.resultTopic, { key: taskId, value });

  const publishRetractable = (taskId: string, value: () => string): (() => boolean) =>
    out.sendRetractable(config.resultTopic, taskId, value);
  const runnerDeps = {
    workerId: config.workerId,
    registry,
    running,
    schemas,
    schemaRefs,
    publish,
    publishRetractable,
    logger: runnerLogger,
    limits: { messageBytes: config.maxMessageBytes, resultBytes: config.maxResultBytes },
  };
  const control = new ControlConsumer({
    kafka,
    topic: config.controlTopic,
    // A fresh group per process start: every start replays the recent cancels (see ControlConsumer).
    groupId: `${config.groupId}.control.${config.workerId}.${randomUUID().slice(0, 8)}`,
    running,
    logger: logger.child({ component: 'control' }),
    onLost: (err) => supervisor.lost(err),
  });
  const schemaConsumer = new SchemaConsumer({
    kafka,
    topic: config.schemaTopic,
    // Its own group per process start, never the dispatch group: it reads the whole topic and commits nothing.
    groupId: `${config.groupId}.schemas.${config.workerId}.${randomUUID().slice(0, 8)}`,
    refs: schemaRefs,
    logger: logger.child({ component: 'schemas' }),
    onLost: (err) => supervisor.lost(err),
  });
  // Created before the consumer it times; `running` is read at scrape time only, once it exists.
  // prom-client (and the OpenTelemetry API it loads) is imported only when metrics are served:
  // it is several MB of an idle worker's memory otherwise.
  const metrics: WorkerMetrics | undefined = config.metrics
    ? (await import('./metrics.js')).createWorkerMetrics({
        executors: registry.names,
        running: (): number => dispatch.running,
      })
    : undefined;
  const dispatchTopics = config.queues.map((q) => dispatchTopicFor(config.dispatchTopic, q));
  const dispatch = new DispatchConsumer({
    kafka,
    groupId: config.groupId,
    topics: dispatchTopics,
    concurrency: config.concurrency,
    sessionTimeoutMs: config.sessionTimeoutMs,
    producer: out,
    logger: logger.child({ component: 'dispatch' }),
    onLost: (err) => supervisor.lost(err),
    run: metrics
      ? metrics.instrument((message, executed) => runTask(message, runnerDeps, executed))
      : (message, executed) => runTask(message, runnerDeps, executed),
  });
  const heartbeats = new Heartbeats({
    producer: out,
    topic: config.heartbeatTopic,
    intervalMs: config.heartbeatIntervalMs,
    logger,
    running: () => dispatch.running,
    info: {
      worker_id: config.workerId,
      queues: config.queues,
      executors: [...registry.names],
      concurrency: config.concurrency,
      version: version(),
      started_at: Date.now(),
    },
  });

  let heartbeatsStarted = false;
  let stopping: Promise<void> | undefined;
  const supervisor: KafkaSupervisor = new KafkaSupervisor({
    logger: logger.child({ component: 'kafka' }),
    async connect() {
      if (!producerConnected) {
        await producer.connect();
        producerConnected = true;
      }
      // The control consumer joins first, so no cancel sent after the first task starts is missed.
      if (!supervisor.isStopped) await control.start();
      // Before the dispatches, so that schemas are usually known when the first task needs one.
      if (!supervisor.isStopped) await schemaConsumer.start();
      if (!supervisor.isStopped) await dispatch.start();
    },
    async teardown() {
      await Promise.allSettled([control.disconnect(), schemaConsumer.disconnect(), dispatch.disconnect()]);
    },
  });
  void supervisor.start().then(() => {
    if (heartbeatsStarted || stopping) return;
    heartbeatsStarted = true;
    heartbeats.start();
    logger.info(
      {
        queues: config.queues,
        topics: dispatchTopics,
        executors: registry.names,
        concurrency: config.concurrency,
      },
      `worker ${config.workerId} started: queues ${config.queues.join(',')}, executors ${registry.names.join(',')}, concurrency ${config.concurrency}`,
    );
  });

  let health: HealthServer | undefined;
  let metricsServer: HealthServer | undefined;
  // One server when HEALTH_ADDR and METRICS_ADDR are the same address; /metrics only on METRICS_ADDR.
  const sameAddr =
    config.health !== undefined &&
    config.metrics !== undefined &&
    config.health.host === config.metrics.host &&
    config.health.port === config.metrics.port;
  if (config.health || config.metrics) {
    try {
      const status = (): KafkaStatus => supervisor.status();
      if (config.health)
        health = await startHealthServer(config.health, status, sameAddr ? metrics : undefined);
      if (config.metrics && !sameAddr)
        metricsServer = await startHealthServer(config.metrics, status, metrics);
    } catch (err) {
      await health?.close();
      await supervisor.stop();
      await Promise.allSettled([
        control.disconnect(),
        schemaConsumer.disconnect(),
        dispatch.disconnect(),
        producer.disconnect(),
      ]);
      throw err;
    }
  }

  const stop = async (): Promise<void> => {
    const started = Date.now();
    await supervisor.stop();
    dispatch.stopFetching();
    logger.info(
      { running: dispatch.running, graceMs: config.shutdownGraceMs },
      'stopping: waiting for running tasks',
    );
    if (!(await dispatch.waitIdle(config.shutdownGraceMs))) {
      const aborted = running.abortAll(
        new TaskAbort('shutdown', `worker ${config.workerId} is shutting down; the task will be redelivered`),
      );
      logger.warn({ aborted }, 'grace period over: aborted running tasks; they will be redelivered');
      await dispatch.waitIdle(ABORT_SETTLE_MS);
    }
    // Everything below talks to Kafka, which may be down: kafkajs would retry a commit or a
    // disconnect for as long as it is, so the whole tail is bounded and the process exits anyway.
    const leaveKafka = (async () => {
      if (!(await out.flush(FLUSH_TIMEOUT_MS)))
        logger.warn('results still unsent at shutdown; their tasks will be redelivered');
      await dispatch.commit();
      if (heartbeatsStarted) await heartbeats.stop();
      await out.flush(FLUSH_TIMEOUT_MS);
      out.close();
      await Promise.allSettled([dispatch.disconnect(), control.disconnect(), schemaConsumer.disconnect()]);
      await producer.disconnect();
    })();
    if (!(await settlesWithin(leaveKafka, SHUTDOWN_KAFKA_MS)))
      logger.warn(
        { ms: SHUTDOWN_KAFKA_MS },
        'Kafka did not answer at shutdown: stopping without committing or leaving the group; unfinished tasks will be redelivered',
      );
    await health?.close();
    await metricsServer?.close();
    logger.info({ ms: Date.now() - started }, `worker ${config.workerId} stopped`);
  };

  const abort = async (ms: number): Promise<void> => {
    const leave = (async () => {
      await supervisor.stop();
      dispatch.stopFetching();
      await dispatch.commit();
      await Promise.allSettled([dispatch.disconnect(), control.disconnect(), schemaConsumer.disconnect()]);
    })();
    await settlesWithin(leave, ms);
  };

  return {
    id: config.workerId,
    executors: registry.names,
    running: () => dispatch.running,
    status: () => supervisor.status(),
    ready: () => supervisor.whenReady(),
    healthPort: health?.port,
    metricsPort: sameAddr ? health?.port : metricsServer?.port,
    stop: () => (stopping ??= stop()),
    abort,
  };
}
