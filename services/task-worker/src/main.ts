#!/usr/bin/env node
// Composition root of the worker process: config, start, stay up while Kafka is away, leave the group on every exit.
import { createLogger } from '@taskwire/service-kit';
import { ConfigError, loadConfig } from './config.js';
import type { Config } from './config.js';
import { RegistryError } from './registry/index.js';
import { createWorker } from './worker.js';
import type { Worker } from './worker.js';

/** How long a crashing worker may take to commit and leave its group before it exits anyway. */
const CRASH_LEAVE_MS = 5000;

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // No logger yet (LOG_LEVEL itself may be wrong): one plain line per bad variable.
  process.stderr.write(`task-worker: ${err.message}\n`);
  process.exit(1);
}

const logger = createLogger({ name: 'task-worker', level: config.logLevel });

let worker: Worker | undefined;
let exiting = false;

/**
 * A crash (uncaught exception, unhandled rejection) still leaves the consumer group, so the other
 * workers take this one's partitions over at once instead of after KAFKA_SESSION_TIMEOUT_MS.
 */
function crash(kind: string, err: unknown): void {
  logger.fatal({ err, kind }, `worker crashed (${kind}); leaving the group and exiting`);
  if (exiting) return;
  exiting = true;
  void (worker?.abort(CRASH_LEAVE_MS) ?? Promise.resolve()).finally(() => process.exit(1));
}
process.on('uncaughtException', (err) => crash('uncaughtException', err));
process.on('unhandledRejection', (err) => crash('unhandledRejection', err));

let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  if (++signals > 1) {
    logger.warn({ signal }, 'second signal: leaving the group and exiting without waiting for tasks');
    exiting = true;
    void (worker?.abort(CRASH_LEAVE_MS) ?? Promise.resolve()).finally(() => process.exit(1));
    return;
  }
  logger.info({ signal }, 'shutdown requested');
  if (!worker) process.exit(0);
  worker.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

try {
  // Returns before Kafka is reachable: the worker keeps connecting in the background.
  worker = await createWorker(config, { logger });
} catch (err) {
  if (err instanceof RegistryError) {
    logger.fatal(err.message);
    process.stderr.write(`task-worker: ${err.message}\n`);
  } else logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
}
