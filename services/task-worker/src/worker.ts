// startWorker: wires registry, runner and Kafka I/O into one worker, and stops it gracefully.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kafka, Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import { dispatchTopicFor } from '@taskwire/contracts';
import type { Config } from './config.js';
import { createLogger, kafkaLogCreator, kafkaLogLevel } from './logger.js';
import { loadExecutors } from './registry/index.js';
import type { ExecutorRegistry } from './registry/index.js';
import { RunningTasks, runTask, TaskAbort } from './runner/index.js';
import { SchemaCache } from './schema.js';
import { BatchingProducer } from './kafka/batching-producer.js';
import { ControlConsumer } from './kafka/control-consumer.js';
import { DispatchConsumer } from './kafka/dispatch-consumer.js';
import { Heartbeats } from './kafka/heartbeat.js';

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

export async function startWorker(config: Config, deps: WorkerDeps = {}): Promise<Worker> {
  const logger = (deps.logger ?? createLogger(config.logLevel)).child({ workerId: config.workerId });
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
    brokers: config.kafkaBrokers,
    logLevel: kafkaLogLevel(config.logLevel),
    logCreator: kafkaLogCreator(logger),
  });
  // Results are keyed by task id: any stable partitioner will do; naming it silences kafkajs' v2 notice.
  const producer = kafka.producer({
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const out = new BatchingProducer(producer, logger.child({ component: 'producer' }));
  const running = new RunningTasks();
  const schemas = new SchemaCache();
  const runnerLogger = logger.child({ component: 'runner' });
  const publish = (taskId: string, value: string): Promise<void> =>
    out.send(config.resultTopic, { key: taskId, value });

  const publishRetractable = (taskId: string, value: string) =>
    out.sendRetractable(config.resultTopic, { key: taskId, value });
  const runnerDeps = {
    workerId: config.workerId,
    registry,
    running,
    schemas,
    publish,
    publishRetractable,
    logger: runnerLogger,
  };
  const control = new ControlConsumer({
    kafka,
    topic: config.controlTopic,
    // A fresh group per process start: every start replays the recent cancels (see ControlConsumer).
    groupId: `${config.groupId}.control.${config.workerId}.${randomUUID().slice(0, 8)}`,
    running,
    logger: logger.child({ component: 'control' }),
  });
  const dispatchTopics = config.queues.map((q) => dispatchTopicFor(config.dispatchTopic, q));
  const dispatch = new DispatchConsumer({
    kafka,
    groupId: config.groupId,
    topics: dispatchTopics,
    concurrency: config.concurrency,
    sessionTimeoutMs: config.sessionTimeoutMs,
    producer: out,
    logger: logger.child({ component: 'dispatch' }),
    run: (message, executed) => runTask(message, runnerDeps, executed),
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

  try {
    // The control consumer joins first, so no cancel sent after the first task starts is missed.
    await control.start();
    await dispatch.start();
  } catch (err) {
    await Promise.allSettled([control.disconnect(), dispatch.disconnect(), producer.disconnect()]);
    throw err;
  }
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

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const started = Date.now();
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
    if (!(await out.flush(FLUSH_TIMEOUT_MS)))
      logger.warn('results still unsent at shutdown; their tasks will be redelivered');
    await dispatch.commit();
    await heartbeats.stop();
    await out.flush(FLUSH_TIMEOUT_MS);
    out.close();
    await Promise.allSettled([dispatch.disconnect(), control.disconnect()]);
    await producer.disconnect();
    logger.info({ ms: Date.now() - started }, `worker ${config.workerId} stopped`);
  };

  return {
    id: config.workerId,
    executors: registry.names,
    running: () => dispatch.running,
    stop: () => (stopping ??= stop()),
  };
}
