// The process's one pino root: pretty lines on a terminal, JSON lines otherwise.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** The service name, in every line as `name`. */
  name: string;
  level: string;
  /** Pretty-print through pino-pretty; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Write here instead of stdout (tests). */
  destination?: DestinationStream;
}

/** Creates the root logger; components take `logger.child({ component })`. */
export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, name: opts.name };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty ?? process.stdout.isTTY === true) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(base);
}
