// DLQ indexer: copies every message of the `<topic>.dlq` topics into the dead_letters table, committing offsets only after the insert.
import { DLQ_HEADERS } from '@taskwire/contracts';
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { DomainDeps } from '../domain/deps.js';
import type { DeadLetterRecord } from '../store/types.js';

/** Bytes of a dead letter's value kept in the index; a longer one is stored cut and marked truncated. */
export const DLQ_VALUE_CAP_BYTES = 1_048_576;

export interface DlqIndexerDeps {
  domain: DomainDeps;
  kafka: Kafka;
  admin: Admin;
  /** Its own consumer group: the index is one per database, like the result consumer's. */
  groupId: string;
  /** The manager's topics; their DLQs and those of every `<dispatch>.<queue>` topic are indexed. */
  topics: { dispatch: string; results: string; control: string; heartbeats: string };
  sessionTimeoutMs?: number;
  /** How often to look for DLQ topics created since (a new queue's worker); default 30 s. */
  refreshMs?: number;
  /** Tests: runs after a batch's insert, before its offset is resolved (throw to act as a crash there). */
  afterInsert?: (rows: readonly DeadLetterRecord[]) => Promise<void>;
}

export interface DlqIndexer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The DLQ topics consumed now. */
  topics(): readonly string[];
}

/** Whether `topic` is the DLQ of one of the manager's topics (a queue's dispatch topic included). */
export function isIndexedDlqTopic(topic: string, topics: DlqIndexerDeps['topics']): boolean {
  if (!topic.endsWith('.dlq')) return false;
  const source = topic.slice(0, -'.dlq'.length);
  return (
    source === topics.results ||
    source === topics.heartbeats ||
    source === topics.control ||
    source === topics.dispatch ||
    (source.startsWith(`${topics.dispatch}.`) && !source.endsWith('.dlq'))
  );
}

function headerText(value: IHeaders[string]): string | null {
  if (value === undefined) return null;
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return null;
  return typeof last === 'string' ? last : last.toString('utf8');
}

function intOrNull(text: string | null): number | null {
  if (text === null || !/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

/** The row stored for one dead letter. */
export function deadLetterRecord(
  topic: string,
  partition: number,
  message: KafkaMessage,
  now: Date,
): DeadLetterRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== null) headers[name] = text;
  }
  const value = message.value;
  const timestamp = Number(message.timestamp);
  return {
    topic,
    partition,
    offset: Number(message.offset),
    time: Number.isFinite(timestamp) && timestamp > 0 ? new Date(timestamp) : now,
    indexedAt: now,
    reason: headers[DLQ_HEADERS.reason] ?? null,
    sourceTopic: headers[DLQ_HEADERS.topic] ?? null,
    sourcePartition: intOrNull(headers[DLQ_HEADERS.partition] ?? null),
    sourceOffset: intOrNull(headers[DLQ_HEADERS.offset] ?? null),
    key: message.key === null ? null : message.key.toString('utf8'),
    headers,
    value: value === null ? null : value.subarray(0, DLQ_VALUE_CAP_BYTES).toString('utf8'),
    valueBytes: value?.length ?? 0,
    // Cut here (the index's cap) or by its producer, which cut a copy too large for the DLQ.
    truncated:
      (value !== null && value.length > DLQ_VALUE_CAP_BYTES) || headers[DLQ_HEADERS.truncated] === 'true',
  };
}

/**
 * One consumer in its own group reads every DLQ topic from the beginning. Each batch is inserted
 * (idempotent on topic, partition and offset), and only then is its offset resolved and
 * committed: a crash in between redelivers the batch, whose rows are already there and add
 * nothing. A database that is down fails the batch; kafkajs retries it, nothing is skipped.
 *
 * The topics are listed at start and again every refreshMs: a DLQ topic that appears later (a
 * worker dead-lettering on a new queue's topic) restarts the consumer with it. Every replica runs
 * one; the group spreads the partitions, so each message is indexed by one of them.
 */
export function createDlqIndexer(deps: DlqIndexerDeps): DlqIndexer {
  const log = deps.domain.logger.child({ component: 'dlq-indexer' });
  const { store } = deps.domain;
  const refreshMs = deps.refreshMs ?? 30_000;
  let consumer: Consumer | null = null;
  let subscribed: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  /** start/stop/refresh one at a time. */
  let chain: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => (chain = chain.then(fn, fn));

  async function handleBatch({
    batch,
    resolveOffset,
    commitOffsetsIfNecessary,
    heartbeat,
  }: EachBatchPayload) {
    if (batch.messages.length === 0) return;
    const now = deps.domain.clock.now();
    const rows = batch.messages.map((m) => deadLetterRecord(batch.topic, batch.partition, m, now));
    const added = await store.insertDeadLetters(rows);
    await deps.afterInsert?.(rows);
    if (added > 0) {
      deps.domain.metrics?.deadLettersIndexed?.(batch.topic, added);
      log.info({ topic: batch.topic, partition: batch.partition, added }, 'dead letters indexed');
    }
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  async function dlqTopics(): Promise<string[]> {
    const all = await deps.admin.listTopics();
    return all.filter((t) => isIndexedDlqTopic(t, deps.topics)).sort();
  }

  async function connect(topics: string[]): Promise<void> {
    const sessionTimeout = deps.sessionTimeoutMs ?? 30_000;
    const c = deps.kafka.consumer({
      groupId: deps.groupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
    try {
      await c.connect();
      await c.subscribe({ topics, fromBeginning: true });
      await c.run({
        autoCommit: true,
        autoCommitThreshold: 1,
        eachBatchAutoResolve: false,
        eachBatch: handleBatch,
      });
    } catch (err) {
      await c.disconnect().catch(() => undefined);
      throw err;
    }
    consumer = c;
    subscribed = topics;
    log.info({ groupId: deps.groupId, topics }, 'dlq indexer running');
  }

  async function refresh(): Promise<void> {
    if (!running) return;
    let topics: string[];
    try {
      topics = await dlqTopics();
    } catch (err) {
      log.warn({ err }, 'could not list DLQ topics; keeping the current ones');
      return;
    }
    if (consumer && topics.every((t) => subscribed.includes(t))) return;
    log.info({ added: topics.filter((t) => !subscribed.includes(t)) }, 'new DLQ topics: resubscribing');
    await consumer?.disconnect().catch(() => undefined);
    consumer = null;
    try {
      await connect(topics);
    } catch (err) {
      log.warn({ err }, 'dlq indexer could not resubscribe; retrying at the next refresh');
      subscribed = [];
    }
  }

  return {
    start: () =>
      serial(async () => {
        if (running) return;
        running = true;
        // Never fails the manager's Kafka start: the refresh retries until it is subscribed.
        try {
          await connect(await dlqTopics());
        } catch (err) {
          log.warn({ err, retryInMs: refreshMs }, 'dlq indexer could not start; retrying');
        }
        timer = setInterval(() => void serial(refresh), refreshMs);
        timer.unref();
      }),
    stop: () =>
      serial(async () => {
        running = false;
        if (timer) clearInterval(timer);
        timer = null;
        await consumer?.disconnect();
        consumer = null;
      }),
    topics: () => subscribed,
  };
}
