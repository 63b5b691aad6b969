// kafkajs client settings both services share: broker addresses (IPv6 too) and the kafkajs→pino log bridge.
import net from 'node:net';
import tls from 'node:tls';
import { logLevel } from 'kafkajs';
import type { ISocketFactory, KafkaConfig, logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import type { LogLevel } from './vars.js';

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs level for a pino level. kafkajs logs every join, pause and resume at INFO, so its INFO
 * only shows when the service runs at debug, and its DEBUG (every request) only at trace.
 */
export function kafkaLogLevel(level: LogLevel): logLevel {
  if (level === 'trace') return logLevel.DEBUG;
  if (level === 'debug') return logLevel.INFO;
  if (level === 'silent' || level === 'fatal') return logLevel.NOTHING;
  return level === 'error' ? logLevel.ERROR : logLevel.WARN;
}

export interface KafkaLogOptions {
  /**
   * ERROR/WARN entries the service handles itself (and logs in its own words), written at debug:
   * e.g. connection failures that a supervisor retries.
   */
  demote?(message: string, extra: Record<string, unknown>): boolean;
}

/** A kafkajs logCreator writing to `logger.child({ component: 'kafkajs' })`, one process, one log. */
export function kafkaLogCreator(logger: Logger, opts: KafkaLogOptions = {}): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log as Record<string, unknown>;
      let pinoLevel = PINO_LEVEL[level] ?? 'info';
      // kafkajs logs every error response at ERROR, including the expected "rebalancing" answer to
      // heartbeats while the group rebalances, which the consumer handles by rejoining.
      if (pinoLevel === 'error' && namespace === 'Connection' && /rebalanc/i.test(String(extra.error)))
        pinoLevel = 'debug';
      if ((pinoLevel === 'error' || pinoLevel === 'warn') && opts.demote?.(String(message), extra))
        pinoLevel = 'debug';
      child[pinoLevel]({ namespace, ...extra }, String(message));
    };
}

/**
 * `brokers` and `socketFactory` for `new Kafka()`. kafkajs splits a seed broker at its first `:`, so
 * `[::1]:9092` cannot reach it as written: such entries go in as a placeholder host that the socket
 * factory maps back to the address. (Brokers found through metadata arrive as host and port.)
 */
export function kafkaBrokerConfig(
  brokers: readonly string[],
): Pick<KafkaConfig, 'brokers' | 'socketFactory'> {
  const literals = new Map<string, string>();
  const list = brokers.map((b) => {
    const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(b);
    if (!m) return b;
    const alias = `ipv6-literal-${literals.size}`;
    literals.set(alias, m[1]!);
    return `${alias}:${m[2]}`;
  });
  if (literals.size === 0) return { brokers: list };
  // kafkajs' own default factory, with the placeholder hosts resolved.
  const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const address = literals.get(host) ?? host;
    const socket = ssl
      ? tls.connect(
          { host: address, port, ...(net.isIP(address) ? {} : { servername: address }), ...ssl },
          onConnect,
        )
      : net.connect({ host: address, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
  return { brokers: list, socketFactory };
}
