// The schema consumer: every worker reads the whole compacted schema topic (its own group, no commits) into its SchemaRefs.
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { decodeSchemaMessage, schemaTopicSpec } from '@taskwire/contracts';
import { schemaRef } from '@taskwire/json-schema';
import type { SchemaRefs } from '../runner/schema-refs.js';

export interface SchemaConsumerOptions {
  kafka: Kafka;
  topic: string;
  /** Unique per worker process: it must see every schema, and must never join the dispatch group. */
  groupId: string;
  refs: SchemaRefs;
  logger: Logger;
  /** The consumer stopped for good (kafkajs does not restart it): the owner reconnects. */
  onLost(err: Error): void;
}

export class SchemaConsumer {
  private consumer: Consumer;
  /** start() ran on `consumer`: the next start() makes a new one. */
  private consumerUsed = false;
  private topicChecked = false;

  constructor(private readonly o: SchemaConsumerOptions) {
    this.consumer = this.createConsumer();
  }

  /** A kafkajs consumer per start(): a reused one fails its reconnect (see DispatchConsumer's). */
  private createConsumer(): Consumer {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      maxWaitTimeInMs: 1000,
      // Never auto-created with the broker's defaults (delete policy: old schemas would go).
      allowAutoTopicCreation: false,
      retry: { restartOnFailure: async () => false },
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer === this.consumer) this.o.onLost(e.payload.error);
    });
    return consumer;
  }

  /** Resolves once consuming; schemas then arrive in the background, from the earliest offset. */
  async start(): Promise<void> {
    if (!this.topicChecked) await this.ensureTopic();
    if (this.consumerUsed) this.consumer = this.createConsumer();
    this.consumerUsed = true;
    await this.consumer.connect();
    // fromBeginning, no commits, a group new at every start: every start reads every schema.
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.handle(message.value, message.offset);
      },
    });
  }

  async disconnect(): Promise<void> {
    await this.consumer.disconnect();
  }

  /**
   * A worker that starts before the manager creates the topic as the manager would (compacted, one
   * partition), rather than leave it to auto-creation with a delete policy. Idempotent.
   */
  private async ensureTopic(): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (!existing.includes(this.o.topic)) {
        await admin.createTopics({ waitForLeaders: true, topics: [schemaTopicSpec(this.o.topic)] });
      }
      this.topicChecked = true;
    } finally {
      await admin.disconnect();
    }
  }

  private handle(value: Buffer | null, offset: string): void {
    const read = readSchemaMessage(value);
    if (!read.ok) {
      // Every worker reads this topic: dead-lettering here would put one copy per worker in the DLQ.
      this.o.logger.warn({ topic: this.o.topic, offset, reason: read.reason }, 'schema message skipped');
      return;
    }
    this.o.refs.add(read.hash, read.schema);
  }
}

/**
 * A schema message's hash and schema, or why it is not to be used: invalid, or its param_schema does
 * not hash to the `hash` it claims (a dispatch naming that hash must never be checked against it).
 */
export function readSchemaMessage(
  value: Buffer | string | null,
): { ok: true; hash: string; schema: Record<string, unknown> } | { ok: false; reason: string } {
  const decoded = decodeSchemaMessage(value);
  if (!decoded.ok) return decoded;
  const { hash, param_schema: schema } = decoded.value;
  const actual = schemaRef(schema);
  if (actual !== hash)
    return { ok: false, reason: `schema message ${hash}: its param_schema hashes to ${actual}` };
  return { ok: true, hash, schema };
}
