// The process's one pino root: pretty lines on a terminal, JSON lines otherwise, secrets masked in every line.
import { destination, pino } from 'pino';
import type { DestinationStream, Logger, LoggerOptions as PinoOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** The service name, in every line as `name`. */
  name: string;
  level: string;
  /** Pretty-print through pino-pretty; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Write here instead of stdout (tests). */
  destination?: DestinationStream;
  /**
   * Values never to print (the DB_DSN password): masked as `***` wherever they appear in a line,
   * raw, URL-encoded or JSON-escaped. Values shorter than MIN_SECRET_LENGTH are masked only inside
   * URLs, where they can be found without mangling every other word of the log.
   */
  secrets?: readonly string[];
}

export const MIN_SECRET_LENGTH = 4;

/** `scheme://user:password@` anywhere in a line (a DSN inside an error message or a field). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/"']*):[^\s@/"']*@/gi;

/** The password of a `scheme://user:password@host…` DSN (URL-decoded), or null. */
export function dsnPassword(dsn: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^@/]*)@/i.exec(dsn);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/** Every spelling of a secret that may reach a log line. */
function spellings(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  return [...forms].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/** `line` with URL credentials and every secret replaced by `***`. */
export function maskSecrets(line: string, secrets: readonly string[] = []): string {
  let out = line.includes('://') ? line.replace(URL_CREDENTIALS, '$1:***@') : line;
  for (const secret of secrets) {
    for (const form of spellings(secret)) if (out.includes(form)) out = out.replaceAll(form, '***');
  }
  return out;
}

/**
 * JSON lines to stdout are written in chunks: when this many bytes are waiting, at the latest
 * every LOG_FLUSH_MS, and at exit (pino flushes its destination on the process's `exit`). A
 * write per line cost a system call per request at LOG_LEVEL=info (one access line each): about
 * a sixth of the manager's CPU for a single POST /tasks. What a kill -9 can lose is the last
 * LOG_FLUSH_MS of lines.
 */
export const LOG_BUFFER_BYTES = 4096;
export const LOG_FLUSH_MS = 200;

/** Creates the root logger; components take `logger.child({ component })`. */
export function createLogger(opts: LoggerOptions): Logger {
  const secrets = opts.secrets ?? [];
  const base: PinoOptions = {
    level: opts.level,
    name: opts.name,
    // The last step before a line is written (to stdout or the pretty transport): whatever field
    // or error carried the secret (a driver error's message, a URL parser's `input`…), it is gone.
    hooks: { streamWrite: (line: string) => maskSecrets(line, secrets) },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty ?? process.stdout.isTTY === true) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(
    base,
    destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}
