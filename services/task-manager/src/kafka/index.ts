// Builds the manager's Kafka side (topics, outbox relay, result/heartbeat consumer) as start/stop components.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KeyPartitioner } from '@taskwire/service-kit';
import { DEFAULT_TOPICS } from '@taskwire/contracts';
import type { Admin, Producer } from 'kafkajs';
import type { DomainDeps } from '../domain/deps.js';
import { createKafka } from './client.js';
import { readConsumerLag } from './consumer-lag.js';
import type { PartitionLag } from './consumer-lag.js';
import { createDlqIndexer } from './dlq-indexer.js';
import type { DlqIndexer } from './dlq-indexer.js';
import { createRelay } from './relay.js';
import type { Relay } from './relay.js';
import { createResultConsumer } from './result-consumer.js';
import { createRetentionSweep } from './retention-sweep.js';
import { ensureTopics } from './topics.js';

export interface KafkaSettings {
  brokers: string[];
  /** `schemas` (TASK_SCHEMA_TOPIC): default DEFAULT_TOPICS.schemas. */
  topics: { dispatch: string; results: string; control: string; heartbeats: string; schemas?: string };
  resultGroupId: string;
  /** The DLQ indexer's consumer group (default `<resultGroupId>-dlq`). */
  dlqGroupId?: string;
  /** How often the DLQ indexer looks for new DLQ topics (default 30 s). */
  dlqRefreshMs?: number;
  /** Partitions of the topics the manager creates (existing topics are left as they are). */
  partitions: number;
  sessionTimeoutMs: number;
  /** KAFKA_MAX_MESSAGE_BYTES: largest message, and bytes per produce request, the relay sends. */
  maxMessageBytes?: number;
  /** KAFKA_RELAY_LINGER_MS (relay.ts lingerMs). */
  relayLingerMs?: number;
  /** KAFKA_RESULT_LINGER_MS (result-consumer.ts lingerMs). */
  resultLingerMs?: number;
  clientId?: string;
}

export interface Component {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ManagerKafka {
  /** Start in order, stop in reverse. */
  components: Component[];
  relay: Relay;
  dlqIndexer: DlqIndexer;
  /** The workers' group lag per queue partition (throws while Kafka is unreachable). */
  consumerLag(groupId: string): Promise<PartitionLag[]>;
}

export function createManagerKafka(domain: DomainDeps, settings: KafkaSettings): ManagerKafka {
  const kafka = createKafka({
    brokers: settings.brokers,
    clientId: settings.clientId ?? 'task-manager',
    logger: domain.logger,
  });
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: true,
    createPartitioner: KeyPartitioner,
  });
  const admin: Admin = kafka.admin();
  // Partition counts of dispatch topics, for the relay to place each dispatch and record its offset.
  const partitionCounts = new Map<string, number>();
  const partitionCount = async (topic: string): Promise<number | null> => {
    const known = partitionCounts.get(topic);
    if (known) return known;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      if (count > 0) partitionCounts.set(topic, count);
      return count || null;
    } catch {
      return null; // not created yet: this batch goes out unplaced, later ones are placed
    }
  };
  const sweep = createRetentionSweep({ domain, admin });
  // Unique per process, so replicas on one database (and restarts of one) are distinct lease owners.
  const owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const relay = createRelay({
    store: domain.store,
    producer,
    logger: domain.logger,
    clock: domain.clock,
    settings: domain.settings,
    signals: domain.signals,
    ...(domain.metrics ? { metrics: domain.metrics } : {}),
    owner,
    dispatchTopic: settings.topics.dispatch,
    partitionCount,
    ...(settings.relayLingerMs !== undefined ? { lingerMs: settings.relayLingerMs } : {}),
    ...(settings.maxMessageBytes !== undefined ? { maxMessageBytes: settings.maxMessageBytes } : {}),
  });
  const consumer = createResultConsumer({
    domain,
    kafka,
    producer,
    groupId: settings.resultGroupId,
    resultTopic: settings.topics.results,
    heartbeatTopic: settings.topics.heartbeats,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    ...(settings.resultLingerMs !== undefined ? { lingerMs: settings.resultLingerMs } : {}),
    ...(settings.maxMessageBytes !== undefined ? { maxMessageBytes: settings.maxMessageBytes } : {}),
  });
  const dlqIndexer = createDlqIndexer({
    domain,
    kafka,
    admin,
    groupId: settings.dlqGroupId ?? `${settings.resultGroupId}-dlq`,
    topics: settings.topics,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    ...(settings.dlqRefreshMs !== undefined ? { refreshMs: settings.dlqRefreshMs } : {}),
  });
  const log = domain.logger.child({ component: 'kafka' });
  let stopped = false;

  const connection: Component = {
    async start() {
      // Topic creation and the producer connection retry in the background while Kafka is down:
      // the API must serve (and accept tasks into the outbox) meanwhile.
      await producer.connect();
      await admin.connect();
      const { dispatch, results, control, heartbeats } = settings.topics;
      const schemas = settings.topics.schemas ?? DEFAULT_TOPICS.schemas;
      await ensureTopics(kafka, [dispatch, results, control, heartbeats], settings.partitions, [schemas]);
    },
    async stop() {
      await admin.disconnect();
      await producer.disconnect();
    },
  };

  return {
    relay,
    dlqIndexer,
    consumerLag: (groupId) => readConsumerLag(admin, settings.topics.dispatch, groupId),
    components: [
      {
        async start() {
          void (async () => {
            for (let attempt = 1; ; attempt++) {
              try {
                await connection.start();
                await relay.start();
                await consumer.start();
                await sweep.start();
                await dlqIndexer.start();
                log.info({ brokers: settings.brokers }, 'connected to Kafka');
                return;
              } catch (err) {
                const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
                log.warn({ err, retryInMs: delay }, 'Kafka not reachable yet; retrying');
                await new Promise((r) => setTimeout(r, delay));
                if (stopped) return;
              }
            }
          })();
        },
        async stop() {
          stopped = true;
          await dlqIndexer.stop();
          await sweep.stop();
          await consumer.stop();
          await relay.stop();
          await connection.stop();
        },
      },
    ],
  };
}
