// Owns the package's public entry: startBroker() wires logs, groups and the TCP server together.
import { pino } from 'pino';
import { GroupCoordinator } from './groups/coordinator.js';
import { OffsetStore } from './groups/offset-store.js';
import type { BrokerContext } from './handlers/context.js';
import { LogManager } from './log/log-manager.js';
import { resolveOptions } from './options.js';
import type { BrokerOptions } from './options.js';
import { BrokerServer } from './server.js';

export type { BrokerOptions } from './options.js';

/** A running broker. */
export interface RunningBroker {
  /** The advertised host (what clients should connect to). */
  host: string;
  /** The bound port (the real one when port 0 was asked for). */
  port: number;
  /** 'host:port', ready for `new Kafka({ brokers: [broker.brokers] })`. */
  brokers: string;
  /** Closes the listener and every connection, then syncs and closes files. Idempotent. */
  stop(): Promise<void>;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * Starts a single-node, Kafka-wire-compatible broker that kafkajs 2.x talks to as to Apache Kafka.
 *
 * @example
 * ```ts
 * import { startBroker } from '@taskwire/dev-broker';
 * import { Kafka } from 'kafkajs';
 *
 * const broker = await startBroker({ port: 0, dataDir: '.data/broker' });
 * const kafka = new Kafka({ brokers: [broker.brokers] });
 * // ... produce, consume ...
 * await broker.stop();
 * ```
 */
export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const opts = resolveOptions(options);
  const logger = (options.logger ?? pino({ level: 'warn' })).child({ component: 'dev-broker' });
  const fsyncIntervalMs = opts.fsyncIntervalMs;
  const logs = new LogManager({
    dataDir: opts.dataDir,
    limits: {
      segmentBytes: opts.segmentBytes,
      retentionBytes: opts.retentionBytes,
      retentionMs: opts.retentionMs,
    },
    fsyncIntervalMs,
    retentionCheckMs: 60_000,
    logger,
  });
  const offsets = new OffsetStore({ dataDir: opts.dataDir, fsyncIntervalMs });
  const groups = new GroupCoordinator({
    offsets,
    logger,
    options: {
      minSessionTimeoutMs: opts.minSessionTimeoutMs,
      maxSessionTimeoutMs: opts.maxSessionTimeoutMs,
      initialRebalanceDelayMs: opts.initialRebalanceDelayMs,
    },
    partitionExists: (topic, partition) => logs.partition(topic, partition) !== undefined,
  });
  const ctx: BrokerContext = {
    options: opts,
    logs,
    groups,
    offsets,
    logger,
    nodeId: 0,
    host: '',
    port: 0,
    // Distinct across restarts without persisting a counter.
    nextProducerId: Date.now() % 2 ** 40,
  };
  const server = new BrokerServer(ctx, logger);
  let address;
  try {
    address = await server.listen(opts.host, opts.port);
  } catch (err) {
    groups.close();
    logs.close();
    offsets.close();
    throw err;
  }
  ctx.host = opts.advertisedHost ?? (WILDCARDS.has(opts.host) ? '127.0.0.1' : opts.host);
  ctx.port = address.port;
  const brokers = `${ctx.host.includes(':') ? `[${ctx.host}]` : ctx.host}:${ctx.port}`;
  logger.info({ host: ctx.host, port: ctx.port, brokers, dataDir: opts.dataDir }, 'dev broker listening');

  let stopping: Promise<void> | null = null;
  return {
    host: ctx.host,
    port: ctx.port,
    brokers,
    stop() {
      stopping ??= (async () => {
        await server.close();
        groups.close();
        logs.close();
        offsets.close();
        logger.info({ brokers }, 'dev broker stopped');
      })();
      return stopping;
    },
  };
}
