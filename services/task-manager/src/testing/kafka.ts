// Test fixture: a test file's broker with a connected kafkajs admin and producer, and per-test cleanups.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { brokerTraits, connectKafkaClients, startTestBroker } from '@taskwire/testkit';
import type { KafkaClients, TestBroker, TestBrokerOptions } from '@taskwire/testkit';

export interface KafkaBed extends Omit<KafkaClients, 'disconnect'> {
  broker: TestBroker;
}

/**
 * Starts a broker before the file's tests and connects an admin and a producer to it; all are
 * stopped after them. The returned object is filled in by `beforeAll`: read it inside tests.
 */
export function useKafkaBed(opts: TestBrokerOptions & { clientId?: string } = {}): KafkaBed {
  const { clientId, ...brokerOptions } = opts;
  const bed = {} as KafkaBed;
  let clients: KafkaClients | undefined;
  beforeAll(async () => {
    bed.broker = await startTestBroker(brokerOptions);
    clients = await connectKafkaClients(bed.broker.brokers, clientId);
    Object.assign(bed, clients);
  }, brokerTraits.startMs);
  afterAll(async () => {
    await clients?.disconnect();
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
