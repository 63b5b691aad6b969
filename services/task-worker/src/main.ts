#!/usr/bin/env node
// Composition root of the worker process: config, start, and graceful shutdown on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { RegistryError } from './registry/index.js';
import { startWorker } from './worker.js';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // No logger yet (LOG_LEVEL itself may be wrong): one plain line per bad variable.
  process.stderr.write(`task-worker: invalid configuration\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
  process.exit(1);
}

const logger = createLogger(config.logLevel);

try {
  const worker = await startWorker(config, { logger });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({ signal }, 'shutdown requested');
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
} catch (err) {
  if (err instanceof RegistryError) {
    logger.fatal(err.message);
    process.stderr.write(`task-worker: ${err.message}\n`);
  } else logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
}
