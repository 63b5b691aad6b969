// Test fixture: a test file's broker with a connected kafkajs admin and producer, and per-test cleanups.
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { brokerTraits, startTestBroker } from '@taskwire/testkit';
import type { TestBroker, TestBrokerOptions } from '@taskwire/testkit';

export interface KafkaBed {
  broker: TestBroker;
  kafka: Kafka;
  admin: Admin;
  /** With the default partitioner (kafkajs 2's), as the manager's own producer. */
  producer: Producer;
}

/**
 * Starts a broker before the file's tests and connects an admin and a producer to it; all are
 * stopped after them. The returned object is filled in by `beforeAll`: read it inside tests.
 */
export function useKafkaBed(opts: TestBrokerOptions & { clientId?: string } = {}): KafkaBed {
  const { clientId, ...brokerOptions } = opts;
  const bed = {} as KafkaBed;
  beforeAll(async () => {
    bed.broker = await startTestBroker(brokerOptions);
    bed.kafka = new Kafka({ clientId, brokers: [bed.broker.brokers], logLevel: logLevel.NOTHING });
    bed.admin = bed.kafka.admin();
    await bed.admin.connect();
    bed.producer = bed.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await bed.producer.connect();
  }, brokerTraits.startMs);
  afterAll(async () => {
    await bed.producer?.disconnect();
    await bed.admin?.disconnect();
    await bed.broker?.stop();
  });
  return bed;
}

/** Registers what a test opened; after each test all of it is closed, newest first, whatever the outcome. */
export function useCleanups(): { push(cleanup: () => Promise<unknown> | unknown): void } {
  let cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    for (const cleanup of pending) await cleanup();
  });
  return {
    push(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
