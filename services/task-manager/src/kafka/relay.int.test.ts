// Integration: outbox relays of two replicas on one SQLite file, publishing to the dev broker via kafkajs.
import { Partitioners } from 'kafkajs';
import type { Consumer, Producer } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { randomName } from '@taskwire/testkit';
import { systemClock } from '../domain/clock.js';
import type { OutboxRecord, Store } from '../store/index.js';
import { useCleanups, useKafkaBed } from '../testing/kafka.js';
import { createTestDatabase } from '../testing/stores.js';
import { RELAY_LEASE, createRelay } from './relay.js';
import type { Relay } from './relay.js';

const logger = pino({ level: 'silent' });
const WAIT = { timeout: 30_000, interval: 50 };

const bed = useKafkaBed({ clientId: 'relay-int-test' });
// Everything a test opens, closed after it whatever the outcome.
const cleanups = useCleanups();

/** One SQLite file and a migrated store on it per replica, as replicas on one database would have. */
async function openStores(count: number): Promise<Store[]> {
  const db = await createTestDatabase('sqlite');
  cleanups.push(() => db.cleanup());
  const stores = Array.from({ length: count }, () => db.open());
  await stores[0]!.migrate();
  return stores;
}

async function createTopic(): Promise<string> {
  const topic = randomName('dispatch');
  await bed.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
  return topic;
}

async function connectedProducer(): Promise<Producer> {
  const producer = bed.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

/** A replica's relay on its own store and producer; sendBatch is spied to see who published. */
async function startReplica(store: Store, owner: string) {
  const producer = await connectedProducer();
  const sendBatch = vi.spyOn(producer, 'sendBatch');
  const relay: Relay = createRelay({
    store,
    producer,
    logger,
    clock: systemClock,
    owner,
    batchSize: 50,
    idleMs: 50,
    leaseMs: 1_000,
  });
  cleanups.push(() => relay.stop());
  await relay.start();
  return { relay, sendBatch };
}

/** Counts every message on `topic` by key, from the beginning. */
async function countByKey(topic: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const consumer: Consumer = bed.kafka.consumer({ groupId: randomName('relay-test'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? '';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  });
  return counts;
}

/** Messages in the topic's log: the sum of its partitions' high watermarks. */
async function messagesInTopic(topic: string): Promise<number> {
  const offsets = await bed.admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

function outboxRows(topic: string, count: number, prefix: string): OutboxRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    topic,
    key: `${prefix}-${i}`,
    payload: JSON.stringify({ v: 1, n: i }),
    createdAt: new Date(),
  }));
}

describe('outbox relays sharing one database', () => {
  it('two relays publish each row exactly once, and the other takes over when the leader stops', async () => {
    const [storeA, storeB] = await openStores(2);
    const topic = await createTopic();
    await storeA!.insertOutbox(outboxRows(topic, 500, 'first'));

    const [a, b] = await Promise.all([
      startReplica(storeA!, 'replica-a'),
      startReplica(storeB!, 'replica-b'),
    ]);
    const counts = await countByKey(topic);

    await vi.waitFor(async () => expect(await storeA!.listUnsentOutbox(1)).toEqual([]), WAIT);
    expect(await messagesInTopic(topic)).toBe(500);
    await vi.waitFor(() => expect(counts.size).toBe(500), WAIT);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);

    // Only the lease holder ever published.
    const aSent = a.sendBatch.mock.calls.length;
    const bSent = b.sendBatch.mock.calls.length;
    expect(Math.min(aSent, bSent)).toBe(0);
    expect(Math.max(aSent, bSent)).toBeGreaterThan(0);
    const [leader, follower, followerStore] = aSent > 0 ? [a, b, storeB!] : [b, a, storeA!];

    // Stopping releases the lease: the follower takes over without waiting for it to expire.
    await leader.relay.stop();
    const leaderCalls = leader.sendBatch.mock.calls.length;
    await followerStore.insertOutbox(outboxRows(topic, 100, 'second'));
    follower.relay.wake();

    await vi.waitFor(async () => expect(await followerStore.listUnsentOutbox(1)).toEqual([]), WAIT);
    await vi.waitFor(() => expect(counts.size).toBe(600), WAIT);
    expect(await messagesInTopic(topic)).toBe(600);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(follower.sendBatch).toHaveBeenCalled();
    expect(leader.sendBatch.mock.calls.length).toBe(leaderCalls);
  });

  it('a relay whose lease another owner holds publishes nothing until that owner releases it', async () => {
    const [store, other] = await openStores(2);
    const topic = await createTopic();
    expect(await other!.acquireLease(RELAY_LEASE, 'someone-else', new Date(), 60_000)).toBe(true);
    await store!.insertOutbox(outboxRows(topic, 20, 'held'));

    const replica = await startReplica(store!, 'replica-c');
    // drain() on a relay without the lease resolves once an iteration found the lease taken.
    await replica.relay.drain();
    await replica.relay.drain();
    expect(replica.sendBatch).not.toHaveBeenCalled();
    expect(await store!.listUnsentOutbox(100)).toHaveLength(20);
    expect(await messagesInTopic(topic)).toBe(0);

    await other!.releaseLease(RELAY_LEASE, 'someone-else');
    await vi.waitFor(async () => expect(await store!.listUnsentOutbox(1)).toEqual([]), WAIT);
    expect(await messagesInTopic(topic)).toBe(20);
  });
});
