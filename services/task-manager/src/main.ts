#!/usr/bin/env node
// Entry point: env -> config (exit 1 naming every bad variable), start the manager, stop on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config.js';
import type { Config } from './config.js';
import { createLogger, dsnPassword } from '@taskwire/service-kit';
import { startManager } from './server.js';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`task-manager: ${err.message}\n`);
  process.exit(1);
}

// The DB_DSN password is masked in every line, whichever error or field would carry it.
const password = dsnPassword(config.db.dsn);
const logger = createLogger({
  name: 'task-manager',
  level: config.logLevel,
  secrets: password === null ? [] : [password],
});
const manager = await startManager(config, { logger }).catch((err: unknown) => {
  // A refusal to start (no tokens beyond loopback, a bad API_TOKENS_FILE) reads like a config error.
  if (err instanceof ConfigError) {
    process.stderr.write(`task-manager: ${err.message}\n`);
    process.exit(1);
  }
  logger.fatal({ err }, 'task-manager failed to start');
  // Give the logger a moment to flush (the pretty transport runs in a worker thread).
  setTimeout(() => process.exit(1), 200);
  return new Promise<never>(() => {});
});
logger.info(
  { url: manager.url, db: config.db.type, kafka: config.kafka.enabled, scheduler: config.schedulerEnabled },
  `task-manager listening on ${manager.url}`,
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'task-manager stopping');
    manager
      .stop()
      .then(() => {
        logger.info('task-manager stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'task-manager did not stop cleanly');
        process.exit(1);
      });
  });
}
