// The dispatch consumer: runs up to `concurrency` tasks at once and commits only finished prefixes.
import { PartitionAssigners } from 'kafkajs';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import type { Logger } from 'pino';
import { DLQ_HEADERS, decodeDispatch, dlqTopicFor } from '@taskwire/contracts';
import type { DispatchMessage } from '@taskwire/contracts';
import type { RunOutcome } from '../runner/index.js';
import { MessageTooLargeError } from './batching-producer.js';
import type { BatchingProducer } from './batching-producer.js';
import { OffsetTracker } from './offset-tracker.js';

export interface DispatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  concurrency: number;
  sessionTimeoutMs: number;
  producer: BatchingProducer;
  logger: Logger;
  /** The consumer stopped for good (kafkajs does not restart it): the owner reconnects. */
  onLost(err: Error): void;
  /**
   * Runs one task; calls `executed` when the executor is done and resolves once the terminal result
   * is published. `fetchedAt` (performance.now() ms): when its batch was handed over, for the
   * fetch-to-start metric.
   */
  run(message: DispatchMessage, executed: () => void, fetchedAt: number): Promise<RunOutcome>;
}

/** How often a batch waiting for a free slot heartbeats (kafkajs throttles to heartbeatInterval). */
const WAIT_HEARTBEAT_MS = 1000;

/**
 * Group heartbeat interval: at most 1 s, and a fifth of the session at most. A member learns that
 * the group rebalances (a worker died, left or joined) only from a heartbeat answer, so the interval
 * bounds how long every worker's consumption pauses in each rebalance (bench/worker-crash.mjs);
 * one small request a second is cheap, and a busy process gets several chances per session.
 */
export const heartbeatIntervalFor = (sessionTimeoutMs: number): number =>
  Math.min(1000, Math.max(100, Math.floor(sessionTimeoutMs / 5)));
/**
 * Tasks whose executor is done but whose result is not yet acknowledged do not hold a concurrency
 * slot (the next task may start while the result batch is in flight), but at most this many times
 * the concurrency may be unacknowledged, so a slow broker stops the intake instead of growing memory.
 */
const UNACKED_FACTOR = 4;
/** Bytes of dispatches one fetch asks for, per partition and in all (see the consumer below). */
const FETCH_PARTITION_BYTES = 256 * 1024;
const FETCH_BYTES = 1024 * 1024;
/** Commits of finished prefixes are coalesced over this long. */
const COMMIT_DELAY_MS = 50;

type Waiter = (granted: boolean) => void;

/**
 * kafkajs's round robin under librdkafka's protocol name, offered after kafkajs's own: a group of
 * kafkajs workers keeps 'RoundRobinAssigner', and one with a librdkafka member (the Python reference
 * worker) agrees on 'roundrobin' instead of failing with INCONSISTENT_GROUP_PROTOCOL.
 */
const librdkafkaRoundRobin: PartitionAssigner = (config) => ({
  ...PartitionAssigners.roundRobin(config),
  name: 'roundrobin',
});

/**
 * Backpressure: when all slots are busy, eachBatch waits for one inside the callback instead of
 * pausing the consumer. kafkajs then simply does not fetch that partition again until the batch
 * returns, no fetched message is thrown away and re-fetched, and a freed slot is taken at once
 * (a paused consumer only notices a resume after its next maxWaitTime sleep). The consumer is never
 * kicked out of the group for a long task: tasks run detached from eachBatch, and while a batch
 * waits for a slot it calls heartbeat() every second, so the session stays alive; a rebalance
 * surfaces as an error from heartbeat(), which ends the batch so kafkajs can rejoin at once.
 */
export class DispatchConsumer {
  private consumer: Consumer;
  /** start() ran on `consumer`: the next start() makes a new one (see createConsumer). */
  private consumerUsed = false;
  private readonly trackers = new Map<string, OffsetTracker>();
  /**
   * (task id, attempt) → the run in progress, so a redelivered copy joins it instead of running
   * twice; it resolves true once the terminal result is published (or given up as unpublishable:
   * the manager's watchdog owns the attempt), false when none was (an abandoned run at shutdown, a
   * failed publish): then the copy's offset is not finished either.
   */
  private readonly inProgress = new Map<string, Promise<boolean>>();
  /** Executors running now (bounded by concurrency). */
  private executing = 0;
  /** Tasks started whose terminal result is not yet acknowledged (bounded by maxUnacked). */
  private unacked = 0;
  private readonly maxUnacked: number;
  private waiters: Waiter[] = [];
  private draining = false;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly heartbeatIntervalMs: number;
  /** The running consumer's heartbeat() (from its latest batch), for the timer below. */
  private groupHeartbeat: (() => Promise<void>) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: DispatchConsumerOptions) {
    this.maxUnacked = o.concurrency * UNACKED_FACTOR;
    this.heartbeatIntervalMs = heartbeatIntervalFor(o.sessionTimeoutMs);
    this.consumer = this.createConsumer();
  }

  /**
   * A kafkajs consumer for one start(). kafkajs reconnects a disconnected consumer over the same
   * connection objects, and the 'end' of each old socket (the broker closes its side after the
   * client's) fails whatever the connection carries by then, since its handler checks the
   * connection's state, not its socket's: every reconnect with the broker up failed its first
   * attempt with "Closed connection" and waited the supervisor's retry (~1 s, with a warning).
   */
  private createConsumer(): Consumer {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      partitionAssigners: [PartitionAssigners.roundRobin, librdkafkaRoundRobin],
      sessionTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      // Idle long-polls return within a second, which bounds how long stop() waits for the fetch loop.
      maxWaitTimeInMs: 1000,
      // kafkajs' defaults (1 MiB a partition, 10 MiB a fetch) hold thousands of dispatches in memory
      // at once, far more than `concurrency` slots can start (~14 MiB of peak RSS in
      // bench/worker-dispatch.mjs). A larger message still arrives whole: the dev broker returns a
      // partition's first batch entire, and Kafka that of the first non-empty partition of a fetch
      // (KIP-74), so a big dispatch behind a busy partition waits for that one's backlog, no longer.
      maxBytesPerPartition: FETCH_PARTITION_BYTES,
      maxBytes: FETCH_BYTES,
      // A crashed consumer is restarted by the worker's supervisor (with its backoff and readiness),
      // never by kafkajs on its own, so there is one restart path whatever the error.
      retry: { restartOnFailure: async () => false },
    });
    const { GROUP_JOIN, CRASH } = consumer.events;
    // A replaced consumer's late events are not this one's.
    consumer.on(GROUP_JOIN, (e) => {
      if (consumer === this.consumer) this.onAssignment(e.payload.memberAssignment);
    });
    consumer.on(CRASH, (e) => {
      if (consumer !== this.consumer) return;
      this.groupHeartbeat = undefined;
      this.o.logger.debug({ err: e.payload.error }, 'dispatch consumer crashed');
      this.o.onLost(e.payload.error);
    });
    return consumer;
  }

  /** Tasks running now. */
  get running(): number {
    return this.executing;
  }

  /** Subscribes and joins the group; resolves once the first assignment arrived. */
  async start(): Promise<void> {
    // Again after disconnect() (the supervisor's reconnect): a new kafkajs consumer.
    if (this.consumerUsed) this.consumer = this.createConsumer();
    this.consumerUsed = true;
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.o.topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.min(this.o.concurrency, 8),
      eachBatch: (payload) => this.eachBatch(payload),
    });
    // kafkajs heartbeats only from its fetch loop and from heartbeat() calls inside eachBatch; a
    // fetch loop held up by slow batches (or a broker answering slowly) must not cost the session.
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      // Errors (a rebalance, a lost coordinator) reach the fetch loop through its own heartbeat.
      this.groupHeartbeat?.().catch(() => undefined);
    }, this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  /** Stops taking new messages; running tasks go on. */
  stopFetching(): void {
    if (this.draining) return;
    this.draining = true;
    for (const grant of this.waiters.splice(0)) grant(false);
    try {
      this.consumer.pause(this.o.topics.map((topic) => ({ topic })));
    } catch {
      // not running yet: nothing to pause
    }
  }

  /** Resolves when every started task has its result acknowledged, or after `ms`; true when idle. */
  waitIdle(ms: number): Promise<boolean> {
    if (this.unacked === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Commits every finished prefix now (waits for a commit already in flight first). */
  async commit(): Promise<void> {
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    while (this.committing) await this.committing;
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    const positions: [OffsetTracker, number][] = [];
    for (const t of this.trackers.values()) {
      const position = t.uncommitted();
      if (position === undefined) continue;
      offsets.push({ topic: t.topic, partition: t.partition, offset: String(position) });
      positions.push([t, position]);
    }
    if (offsets.length === 0) return;
    this.committing = (async () => {
      try {
        await this.consumer.commitOffsets(offsets);
        for (const [t, position] of positions) t.markCommitted(position);
        this.o.logger.debug({ offsets }, 'committed dispatch offsets');
      } catch (err) {
        // A rebalance in progress or a lost coordinator: the next commit carries newer positions.
        this.o.logger.warn({ err, offsets }, 'committing dispatch offsets failed; will retry');
        this.scheduleCommit();
      } finally {
        this.committing = undefined;
      }
    })();
    await this.committing;
  }

  /**
   * Leaves the group (commit first: a member that left can no longer commit). Also the teardown
   * before a reconnect: batches waiting for a slot give up, so kafkajs can stop its fetch loop.
   */
  async disconnect(): Promise<void> {
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.groupHeartbeat = undefined;
    for (const grant of this.waiters.splice(0)) grant(false);
    for (const t of this.trackers.values()) t.revoke();
    this.trackers.clear();
    await this.consumer.disconnect();
  }

  private async eachBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    this.groupHeartbeat = heartbeat;
    const fetchedAt = performance.now();
    const { topic, partition } = batch;
    const key = `${topic}|${partition}`;
    let tracker = this.trackers.get(key);
    if (!tracker || tracker.revoked) {
      tracker = new OffsetTracker(topic, partition);
      this.trackers.set(key, tracker);
    }
    // kafkajs' isStale() stringifies a key and resolveOffset() parses, adds and prints a Long at
    // each call. Neither can change under this loop except while it awaits a slot (kafkajs runs only
    // then), so a seek is looked for at the start and after each wait, and the offsets passed are
    // resolved once, before each wait and at the end: kafkajs sees the same as per message.
    if (isStale()) return;
    let unresolved: string | undefined;
    try {
      for (const message of batch.messages) {
        if (this.draining || !isRunning()) break;
        const offset = Number(message.offset);
        if (!tracker.accepts(offset)) {
          unresolved = message.offset; // already running or done here
          continue;
        }
        const decoded = decodeDispatch(message.value);
        if (!decoded.ok) {
          tracker.start(offset);
          unresolved = message.offset;
          this.deadLetter(tracker, topic, partition, message, decoded.reason);
          continue;
        }
        if (!this.take()) {
          if (unresolved !== undefined) resolveOffset(unresolved);
          unresolved = undefined;
          if (!(await this.waitForSlot(heartbeat))) break;
          if (this.draining || !isRunning() || isStale() || tracker.revoked) {
            this.releaseExecuting();
            this.releaseUnacked();
            break;
          }
        }
        tracker.start(offset);
        unresolved = message.offset;
        this.launch(tracker, offset, decoded.value, fetchedAt);
      }
    } finally {
      if (unresolved !== undefined) resolveOffset(unresolved);
    }
  }

  private launch(tracker: OffsetTracker, offset: number, task: DispatchMessage, fetchedAt: number): void {
    const runKey = `${task.task_id}:${task.attempt}`;
    const existing = this.inProgress.get(runKey);
    if (existing) {
      // The same attempt delivered twice (a rebalance re-fetch): its result covers both offsets.
      this.releaseExecuting();
      this.releaseUnacked();
      void existing.then((published) => {
        if (published) this.finished(tracker, offset);
      });
      return;
    }
    let executed = false;
    const onExecuted = (): void => {
      if (executed) return;
      executed = true;
      this.releaseExecuting();
    };
    // One reaction per run settles everything (no catch/finally chain): `run` never rejects, it
    // tells whether the terminal result went out.
    const run = this.o.run(task, onExecuted, fetchedAt).then(
      (outcome) => {
        this.inProgress.delete(runKey);
        const published = outcome !== 'abandoned';
        if (published) this.finished(tracker, offset);
        onExecuted();
        this.releaseUnacked();
        return published;
      },
      (err: unknown) => {
        // Nothing could be published (shutdown; or not even a `started`, see the runner's
        // giveUpResult): leave the offset uncommitted so the task is redelivered.
        this.inProgress.delete(runKey);
        this.o.logger.warn(
          { err, taskId: task.task_id, attempt: task.attempt, offset },
          'result not published; task will be redelivered',
        );
        onExecuted();
        this.releaseUnacked();
        return false;
      },
    );
    this.inProgress.set(runKey, run);
  }

  private deadLetter(
    tracker: OffsetTracker,
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: string,
  ): void {
    const dlq = dlqTopicFor(topic);
    this.o.logger.warn(
      { topic, partition, offset: message.offset, dlq, reason },
      'invalid dispatch message sent to the DLQ',
    );
    this.o.producer
      .send(dlq, {
        key: message.key ?? null,
        value: message.value ?? null,
        headers: {
          ...message.headers,
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.topic]: topic,
          [DLQ_HEADERS.partition]: String(partition),
          [DLQ_HEADERS.offset]: message.offset,
        },
      })
      .then(
        () => this.finished(tracker, Number(message.offset)),
        (err: unknown) => {
          // Too large even cut down (a DLQ limit below its key and headers): redelivering it would be
          // refused the same way forever, and stall the partition. It stays in its source topic.
          if (err instanceof MessageTooLargeError) {
            this.o.logger.error(
              { err, topic, partition, offset: message.offset, dlq, reason },
              `dead letter ${topic}/${partition}@${message.offset} is too large for ${dlq} even cut down; not dead-lettered, its offset is done (the message stays in ${topic} until retention)`,
            );
            this.finished(tracker, Number(message.offset));
          } else
            this.o.logger.warn({ err, dlq }, 'could not publish to the DLQ; message will be redelivered');
        },
      );
  }

  private finished(tracker: OffsetTracker, offset: number): void {
    if (tracker.finish(offset)) this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitTimer) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commit();
    }, COMMIT_DELAY_MS);
  }

  private waitForSlot(heartbeat: () => Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = (granted) => {
        clearInterval(beat);
        resolve(granted);
      };
      const beat = setInterval(() => {
        heartbeat().catch((err: unknown) => {
          const i = this.waiters.indexOf(waiter);
          if (i < 0) return; // already granted: the batch goes on and meets the rebalance later
          this.waiters.splice(i, 1);
          clearInterval(beat);
          reject(err as Error);
        });
      }, WAIT_HEARTBEAT_MS);
      this.waiters.push(waiter);
    });
  }

  private take(): boolean {
    if (this.executing >= this.o.concurrency || this.unacked >= this.maxUnacked) return false;
    this.executing++;
    this.unacked++;
    return true;
  }

  /** Hands freed room to the oldest waiting batches. */
  private grant(): void {
    while (this.waiters.length > 0 && this.take()) this.waiters.shift()!(true);
  }

  private releaseExecuting(): void {
    this.executing--;
    this.grant();
  }

  private releaseUnacked(): void {
    this.unacked--;
    this.grant();
    if (this.unacked === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    for (const [key, tracker] of this.trackers) {
      if (!assignment[tracker.topic]?.includes(tracker.partition)) {
        tracker.revoke();
        this.trackers.delete(key);
      }
    }
    this.o.logger.info({ assignment }, 'dispatch partitions assigned');
  }
}
