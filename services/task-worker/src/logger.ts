// The worker's pino root logger and the bridge that sends kafkajs logs through it.
import { pino } from 'pino';
import type { Logger } from 'pino';
import { logLevel } from 'kafkajs';
import type { logCreator } from 'kafkajs';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'task-worker', ...bindings } });
}

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs level for a pino level. kafkajs logs every pause/resume and join at INFO, so its INFO
 * only shows when the worker runs at debug; its DEBUG (every request) only at trace.
 */
export function kafkaLogLevel(level: LogLevel): logLevel {
  if (level === 'trace') return logLevel.DEBUG;
  if (level === 'debug') return logLevel.INFO;
  if (level === 'silent' || level === 'fatal') return logLevel.NOTHING;
  return level === 'error' ? logLevel.ERROR : logLevel.WARN;
}

/** A kafkajs logCreator writing to `logger.child({ component: 'kafkajs' })`. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log as Record<string, unknown>;
      let pinoLevel = PINO_LEVEL[level] ?? 'info';
      // kafkajs logs every error response at ERROR, including the expected "rebalancing" answer
      // to heartbeats while the group rebalances (which the runner handles by rejoining).
      if (pinoLevel === 'error' && namespace === 'Connection' && /rebalanc/i.test(String(extra.error)))
        pinoLevel = 'debug';
      child[pinoLevel]({ namespace, ...extra }, String(message));
    };
}
