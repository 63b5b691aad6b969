// The control consumer: every worker reads every cancel request (its own group) and aborts its tasks.
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { decodeControl } from '@taskwire/contracts';
import type { RunningTasks } from '../runner/index.js';
import { CANCEL_TTL_MS } from '../runner/running-tasks.js';

export interface ControlConsumerOptions {
  kafka: Kafka;
  topic: string;
  /** Unique per worker, so that each worker sees every control message. */
  groupId: string;
  running: RunningTasks;
  logger: Logger;
  /** The consumer stopped for good (kafkajs does not restart it): the owner reconnects. */
  onLost(err: Error): void;
}

export class ControlConsumer {
  private consumer: Consumer;
  /** start() ran on `consumer`: the next start() makes a new one. */
  private consumerUsed = false;

  constructor(private readonly o: ControlConsumerOptions) {
    this.consumer = this.createConsumer();
  }

  /** A kafkajs consumer per start(): a reused one fails its reconnect (see DispatchConsumer's). */
  private createConsumer(): Consumer {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      maxWaitTimeInMs: 1000,
      // Restarts go through the worker's supervisor, like the dispatch consumer's.
      retry: { restartOnFailure: async () => false },
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer === this.consumer) this.o.onLost(e.payload.error);
    });
    return consumer;
  }

  /** Resolves once the consumer has joined its group, so cancels sent from now on are seen. */
  async start(): Promise<void> {
    if (this.consumerUsed) this.consumer = this.createConsumer();
    this.consumerUsed = true;
    await this.consumer.connect();
    // fromBeginning with a group that is new at every start: a worker that joins (or restarts)
    // after a task was cancelled while QUEUED must still know it, or it would run the dispatch that
    // is waiting in Kafka. Requests older than the cancel memory are skipped in handle().
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.handle(message.value, message.offset);
      },
    });
  }

  async disconnect(): Promise<void> {
    await this.consumer.disconnect();
  }

  private handle(value: Buffer | null, offset: string): void {
    const decoded = decodeControl(value);
    if (!decoded.ok) {
      // Every worker reads this topic: dead-lettering here would put one copy per worker in the DLQ.
      this.o.logger.warn(
        { topic: this.o.topic, offset, reason: decoded.reason },
        'invalid control message skipped',
      );
      return;
    }
    const { task_id: taskId, attempt, at } = decoded.value;
    if (Date.now() - at > CANCEL_TTL_MS) return;
    const aborted = this.o.running.cancel(taskId, attempt, at);
    this.o.logger.info(
      { taskId, attempt, aborted },
      aborted > 0 ? 'cancel request aborted a running task' : 'cancel request remembered',
    );
  }
}
