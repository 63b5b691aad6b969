// The process's one pino root: pretty lines on a terminal, JSON lines otherwise.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Pretty-print through pino-pretty; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Write here instead of stdout (tests). */
  destination?: DestinationStream;
  name?: string;
}

/** Creates the root logger; components take `logger.child({ component })`. */
export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, name: opts.name ?? 'task-manager' };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(base);
}
