// Owns the broker's options: their defaults and validation.
import type { Logger } from 'pino';

/** Options of startBroker(); every field is optional. */
export interface BrokerOptions {
  /** Interface to bind. Default '127.0.0.1'. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /** Host advertised in Metadata/FindCoordinator. Default: host, or 127.0.0.1 when host is a wildcard. */
  advertisedHost?: string;
  /** Directory for segments, topics and committed offsets. Default: none (memory only). */
  dataDir?: string;
  /** pino logger. Default: pino at level 'warn' on stdout. */
  logger?: Logger;
  /** Create unknown topics on Metadata (when the client allows) and Produce. Default true. */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics and of CreateTopics with num_partitions -1. Default 3. */
  defaultPartitions?: number;
  /** Retention per partition by size, in bytes; -1 = unlimited. Default 64 MiB. */
  retentionBytes?: number;
  /** Retention by age of a segment's last append, in ms; -1 = unlimited. Default 24 h. */
  retentionMs?: number;
  /** Segment size at which a partition rolls to a new segment (retention deletes whole segments). Default 16 MiB. */
  segmentBytes?: number;
  /** fsync dirty files this long after the first unsynced write; 0 = on every write. Default 1000. */
  fsyncIntervalMs?: number;
  /** Largest request frame accepted; larger ones close the connection. Default 100 MiB. */
  maxRequestBytes?: number;
  /** Largest record set per partition in a Produce (Kafka's message.max.bytes). Default 1048588. */
  maxBatchBytes?: number;
  /** Allowed session timeouts of group members. Defaults 100 ms and 30 min. */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** Wait before the first generation of an empty group (Kafka's group.initial.rebalance.delay.ms). Default 0. */
  initialRebalanceDelayMs?: number;
  /** Verify the CRC-32C of produced batches. Default true. */
  verifyCrc?: boolean;
}

export type ResolvedOptions = Required<Omit<BrokerOptions, 'dataDir' | 'logger' | 'advertisedHost'>> & {
  dataDir: string | null;
  advertisedHost: string | null;
};

const MiB = 1024 * 1024;

export function resolveOptions(o: BrokerOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    advertisedHost: o.advertisedHost ?? null,
    dataDir: o.dataDir ?? null,
    autoCreateTopics: o.autoCreateTopics ?? true,
    defaultPartitions: o.defaultPartitions ?? 3,
    retentionBytes: o.retentionBytes ?? 64 * MiB,
    retentionMs: o.retentionMs ?? 24 * 3600_000,
    segmentBytes: o.segmentBytes ?? 16 * MiB,
    fsyncIntervalMs: o.fsyncIntervalMs ?? 1000,
    maxRequestBytes: o.maxRequestBytes ?? 100 * MiB,
    maxBatchBytes: o.maxBatchBytes ?? 1048588,
    minSessionTimeoutMs: o.minSessionTimeoutMs ?? 100,
    maxSessionTimeoutMs: o.maxSessionTimeoutMs ?? 30 * 60_000,
    initialRebalanceDelayMs: o.initialRebalanceDelayMs ?? 0,
    verifyCrc: o.verifyCrc ?? true,
  };
  const ints: Array<[keyof ResolvedOptions, number]> = [
    ['port', 0],
    ['defaultPartitions', 1],
    ['retentionBytes', -1],
    ['retentionMs', -1],
    ['segmentBytes', 1024],
    ['fsyncIntervalMs', 0],
    ['maxRequestBytes', 1024],
    ['maxBatchBytes', 64],
    ['minSessionTimeoutMs', 1],
    ['maxSessionTimeoutMs', 1],
    ['initialRebalanceDelayMs', 0],
  ];
  for (const [key, min] of ints) {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(`dev-broker option ${key} must be an integer >= ${min}, got ${String(v)}`);
    }
  }
  if (r.port > 65535) throw new RangeError(`dev-broker option port must be <= 65535, got ${r.port}`);
  return r;
}
