// Result consumer: applies worker results and heartbeats to the store, committing offsets only after the DB write.
import { decodeHeartbeat, decodeResult } from '@taskwire/contracts';
import type { HeartbeatMessage, ResultMessage } from '@taskwire/contracts';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { DomainDeps } from '../domain/deps.js';
import { GroupCommit } from '../domain/group-commit.js';
import { applyResults } from '../domain/results.js';
import type { WorkerRecord } from '../store/types.js';
import { publishDeadLetters } from './dlq.js';
import type { DeadLetter } from './dlq.js';
import { DEFAULT_APPLY_TRIES, applyWithTries, isTransientFailure } from './poison.js';

export interface ResultConsumerDeps {
  domain: DomainDeps;
  kafka: Kafka;
  /** Producer for dead letters. */
  producer: Producer;
  /** KAFKA_MAX_MESSAGE_BYTES: a larger dead letter goes out cut down (kafka/dlq.ts). */
  maxMessageBytes?: number;
  groupId: string;
  resultTopic: string;
  heartbeatTopic: string;
  sessionTimeoutMs?: number;
  /** Tries to apply one message alone before it goes to the DLQ as poison (default 3). */
  applyTries?: number;
  /** How often the offsets of applied messages are committed (default 1000 ms). */
  commitIntervalMs?: number;
  /**
   * After applying a fetch's results, how long to wait before fetching again (default 0): under
   * load the next fetch then brings more results, applied in one unit of work. A result reaching
   * an idle consumer is applied at once; only those arriving right after an apply wait.
   */
  lingerMs?: number;
}

export const DEFAULT_COMMIT_INTERVAL_MS = 1_000;
/** The most stop() waits for the last commit; what it leaves uncommitted is redelivered. */
const STOP_COMMIT_TIMEOUT_MS = 5_000;

/** One partition's decoded results, with what to do once they are in the DB. */
interface PartitionResults {
  topic: string;
  partition: number;
  results: ResultMessage[];
  /** The Kafka message each result came from (same index), for the DLQ. */
  messages: KafkaMessage[];
  /** The batch is in the DB: its partition moves on and its offset is due for the next commit. */
  applied(): void;
}

export interface ResultConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One kafkajs consumer in RESULT_GROUP_ID reads both the result and the heartbeat topics. Each
 * fetched batch is decoded; invalid messages go to the DLQ; the valid results of all the batches
 * of one fetch are applied in one unit of work (domain/results.ts, idempotent by task id +
 * attempt); only then are the batches' last offsets resolved, and a timer commits the offsets of
 * applied batches every `commitIntervalMs` (one OffsetCommit per interval, not one per fetch). A
 * crash before a commit redelivers what followed the last one, which then changes nothing; no
 * offset is ever committed past a message that is not in the DB. A rebalance also redelivers the
 * applied-but-uncommitted tail of a moved partition to its new owner, with the same outcome.
 *
 * A message that parses but cannot be applied would otherwise restart its partition forever. When a
 * unit of work fails and the database is healthy (poison.ts), the messages are applied one at a
 * time, each up to `applyTries` times; one that still fails goes to the DLQ with the reason and
 * the partition moves on. When the database is down nothing is dead-lettered and nothing committed.
 */
export function createResultConsumer(deps: ResultConsumerDeps): ResultConsumer {
  const log = deps.domain.logger.child({ component: 'result-consumer' });
  const tries = deps.applyTries ?? DEFAULT_APPLY_TRIES;
  const { store } = deps.domain;
  const commitIntervalMs = deps.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS;
  const lingerMs = deps.lingerMs ?? 0;
  const dlq = {
    producer: deps.producer,
    logger: log,
    ...(deps.maxMessageBytes !== undefined ? { maxMessageBytes: deps.maxMessageBytes } : {}),
  };
  /** The linger after the current fetch's apply, shared by all its partitions' batches. */
  let lingering: Promise<void> | null = null;
  const linger = (): Promise<void> =>
    (lingering ??= new Promise<void>((resolve) =>
      setTimeout(() => {
        lingering = null;
        resolve();
      }, lingerMs),
    ));
  let consumer: Consumer | null = null;
  /** Per `topic/partition`: the offset to commit next (last applied + 1), not yet committed. */
  const due = new Map<string, { topic: string; partition: number; offset: string }>();
  let committer: NodeJS.Timeout | undefined;
  let committing: Promise<void> = Promise.resolve();

  function markApplied(topic: string, partition: number, lastOffset: string): void {
    due.set(`${topic}/${partition}`, { topic, partition, offset: (BigInt(lastOffset) + 1n).toString() });
  }

  /** Commits what is due; on failure (rebalance, broker away) it stays due unless overtaken. */
  function commitDue(): Promise<void> {
    committing = committing.then(async () => {
      if (!consumer || due.size === 0) return;
      const offsets = [...due.values()];
      due.clear();
      try {
        await consumer.commitOffsets(offsets);
      } catch (err) {
        log.warn({ err, offsets }, 'committing result offsets failed; will retry');
        for (const o of offsets) {
          const key = `${o.topic}/${o.partition}`;
          if (!due.has(key)) due.set(key, o);
        }
      }
    });
    return committing;
  }

  function noteOutcome(outcome: Awaited<ReturnType<typeof applyResults>>): void {
    if (outcome.earliestRetryAt) deps.domain.signals.dueAt(outcome.earliestRetryAt);
    if (outcome.ignored > 0) log.debug({ ignored: outcome.ignored }, 'stale or duplicate results ignored');
  }

  /** Applies the results one by one (a unit of work failed); returns the poison ones. Throws when transient. */
  async function applyOneByOne(items: readonly PartitionResults[]): Promise<DeadLetter[]> {
    const dead: DeadLetter[] = [];
    for (const item of items) {
      for (let k = 0; k < item.results.length; k++) {
        const result = item.results[k]!;
        const reason = await applyWithTries(store, tries, async () =>
          noteOutcome(await applyResults(deps.domain, [result])),
        );
        if (reason === null) continue;
        const message = item.messages[k]!;
        log.warn(
          {
            taskId: result.task_id,
            attempt: result.attempt,
            partition: item.partition,
            offset: message.offset,
            reason,
          },
          'result message cannot be applied; sent to the DLQ',
        );
        dead.push({
          topic: item.topic,
          partition: item.partition,
          message,
          reason: `result message ${reason}`,
        });
      }
    }
    return dead;
  }

  // kafkajs hands each partition's batch of one fetch to eachBatch concurrently; they are applied
  // together: one unit of work and one offset commit per fetch instead of one per partition.
  const applier = new GroupCommit<PartitionResults, void>({
    run: async (items) => {
      try {
        const results = items.flatMap((i) => i.results);
        const began = performance.now();
        noteOutcome(await applyResults(deps.domain, results));
        deps.domain.metrics?.resultsApplied(results.length, (performance.now() - began) / 1000);
      } catch (err) {
        // Transient: rethrown, so no offset moves and kafkajs redelivers the batches.
        if (await isTransientFailure(store, err)) throw err;
        await publishDeadLetters(dlq, await applyOneByOne(items));
      }
      for (const i of items) i.applied();
      return items.map(() => ({ ok: true, value: undefined }));
    },
  });

  async function handleBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload) {
    if (batch.messages.length === 0) return;
    const dead: DeadLetter[] = [];
    const last = batch.messages[batch.messages.length - 1]!;
    if (batch.topic === deps.heartbeatTopic) {
      const beats: Array<{ beat: HeartbeatMessage; message: KafkaMessage }> = [];
      for (const message of batch.messages) {
        const decoded = decodeHeartbeat(message.value);
        if (decoded.ok) beats.push({ beat: decoded.value, message });
        else dead.push({ topic: batch.topic, partition: batch.partition, message, reason: decoded.reason });
      }
      const latest = latestPerWorker(beats);
      try {
        await store.upsertWorkers(latest.map((l) => l.record));
      } catch (err) {
        if (await isTransientFailure(store, err)) throw err;
        for (const { record, message } of latest) {
          const reason = await applyWithTries(store, tries, () => store.upsertWorkers([record]));
          if (reason === null) continue;
          log.warn(
            { workerId: record.id, offset: message.offset, reason },
            'heartbeat cannot be applied; sent to the DLQ',
          );
          dead.push({
            topic: batch.topic,
            partition: batch.partition,
            message,
            reason: `heartbeat message ${reason}`,
          });
        }
      }
      await publishDeadLetters(dlq, dead);
      resolveOffset(last.offset);
      markApplied(batch.topic, batch.partition, last.offset);
    } else {
      const results: ResultMessage[] = [];
      const messages: KafkaMessage[] = [];
      for (const message of batch.messages) {
        const decoded = decodeResult(message.value);
        if (decoded.ok) {
          results.push(decoded.value);
          messages.push(message);
        } else dead.push({ topic: batch.topic, partition: batch.partition, message, reason: decoded.reason });
      }
      if (dead.length > 0)
        log.warn({ count: dead.length, reason: dead[0]?.reason }, 'invalid result messages sent to DLQ');
      await publishDeadLetters(dlq, dead);
      // Resolves once the results are in the DB; the offset is committed by the next commitDue().
      await applier.submit({
        topic: batch.topic,
        partition: batch.partition,
        results,
        messages,
        applied: () => {
          resolveOffset(last.offset);
          markApplied(batch.topic, batch.partition, last.offset);
        },
      });
      if (lingerMs > 0 && results.length > 0) await linger();
    }
    await heartbeat();
  }

  return {
    async start() {
      const sessionTimeout = deps.sessionTimeoutMs ?? 30_000;
      consumer = deps.kafka.consumer({
        groupId: deps.groupId,
        sessionTimeout,
        heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: true,
      });
      // A partition that moved away: its new owner starts from the last commit; ours for it would
      // only move its offset back.
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        for (const [key, o] of due)
          if (!payload.memberAssignment[o.topic]?.includes(o.partition)) due.delete(key);
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [deps.resultTopic, deps.heartbeatTopic], fromBeginning: true });
      } catch (err) {
        await consumer.disconnect().catch(() => undefined);
        consumer = null;
        throw err;
      }
      // kafkajs' autoCommit commits after every batch; the timer below commits applied offsets only.
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition of a fetch at once, so that all its batches join one unit of work.
        partitionsConsumedConcurrently: 64,
        eachBatch: handleBatch,
      });
      committer = setInterval(() => void commitDue(), commitIntervalMs);
      committer.unref();
      log.info(
        { groupId: deps.groupId, topics: [deps.resultTopic, deps.heartbeatTopic] },
        'result consumer running',
      );
    },
    async stop() {
      clearInterval(committer);
      committer = undefined;
      // Before leaving the group (a member that left cannot commit). A batch still being applied
      // now is redelivered to the next owner, which applies it idempotently.
      // Bounded: with the broker away kafkajs would retry the commit far longer than a stop may take.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        commitDue(),
        new Promise((resolve) => (timer = setTimeout(resolve, STOP_COMMIT_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      await consumer?.disconnect();
      consumer = null;
    },
  };
}

/** Only the newest heartbeat of each worker in a batch needs writing (with the message it came from). */
function latestPerWorker(
  beats: ReadonlyArray<{ beat: HeartbeatMessage; message: KafkaMessage }>,
): Array<{ record: WorkerRecord; message: KafkaMessage }> {
  const latest = new Map<string, { beat: HeartbeatMessage; message: KafkaMessage }>();
  for (const b of beats) {
    const prev = latest.get(b.beat.worker_id);
    if (!prev || prev.beat.at <= b.beat.at) latest.set(b.beat.worker_id, b);
  }
  return [...latest.values()].map(({ beat: b, message }) => ({
    message,
    record: {
      id: b.worker_id,
      host: b.host,
      pid: b.pid,
      queues: b.queues,
      executors: b.executors,
      concurrency: b.concurrency,
      running: b.running,
      version: b.version,
      startedAt: new Date(b.started_at),
      lastSeen: new Date(b.at),
      stoppedAt: b.stopping ? new Date(b.at) : null,
    },
  }));
}
