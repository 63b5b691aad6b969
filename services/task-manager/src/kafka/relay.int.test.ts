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

describe('one outbox relay', () => {
  /**
   * A relay on its own store; sendBatch (which first runs `beforeSend`, as if the API wrote rows
   * meanwhile) and unitOfWork are spied.
   */
  async function startRelay(
    store: Store,
    opts: {
      lingerMs?: number;
      markIntervalMs?: number;
      idleMs?: number;
      beforeSend?: () => Promise<void>;
    } = {},
  ) {
    const { beforeSend, ...relayOpts } = opts;
    const producer = await connectedProducer();
    const send = producer.sendBatch.bind(producer);
    const sendBatch = vi.spyOn(producer, 'sendBatch').mockImplementation(async (batch) => {
      await beforeSend?.();
      return send(batch);
    });
    const unitOfWork = vi.spyOn(store, 'unitOfWork');
    const relay = createRelay({
      store,
      producer,
      logger,
      clock: systemClock,
      owner: 'solo',
      idleMs: 50,
      ...relayOpts,
    });
    cleanups.push(() => relay.stop());
    await relay.start();
    return { relay, sendBatch, unitOfWork };
  }

  /** Rows published per produce request, in order. */
  const rowsPerRequest = (sendBatch: { mock: { calls: Array<Parameters<Producer['sendBatch']>> } }) =>
    sendBatch.mock.calls.map(([b]) => b.topicMessages!.reduce((n, t) => n + t.messages.length, 0));

  it('while rows keep coming, the rows of many produce requests are marked sent in one unit of work', async () => {
    const [store] = await openStores(1);
    const topic = await createTopic();
    // Each produce request brings one more row, as a busy API would, for 20 requests.
    let written = 1;
    const { relay, sendBatch, unitOfWork } = await startRelay(store!, {
      markIntervalMs: 60_000,
      beforeSend: async () => {
        if (written < 20) await store!.insertOutbox(outboxRows(topic, 1, `burst-${written++}`));
      },
    });
    await store!.insertOutbox(outboxRows(topic, 1, 'burst-0'));
    relay.wake();
    await vi.waitFor(() => expect(written).toBe(20), WAIT);
    await relay.drain();
    expect(await store!.listUnsentOutbox(100)).toEqual([]);
    expect(await messagesInTopic(topic)).toBe(20);
    // Marked once the relay found nothing more to send, not once per request.
    expect(sendBatch.mock.calls.length).toBeGreaterThanOrEqual(10);
    expect(unitOfWork.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('an idle relay marks what it published once the mark interval has passed, without a drain or a poll', async () => {
    const [store] = await openStores(1);
    const topic = await createTopic();
    // The idle poll is far away: only the wait for the due mark can end the relay's sleep.
    const { relay, sendBatch, unitOfWork } = await startRelay(store!, {
      markIntervalMs: 50,
      idleMs: 600_000,
    });
    await store!.insertOutbox(outboxRows(topic, 1, 'idle'));
    relay.wake();
    await vi.waitFor(() => expect(sendBatch).toHaveBeenCalledTimes(1), WAIT);
    await vi.waitFor(async () => expect(await store!.listUnsentOutbox(100)).toEqual([]), WAIT);
    expect(unitOfWork).toHaveBeenCalledTimes(1);
  });

  it('a relay that catches up after each small publish marks the rows of many publishes in one unit of work', async () => {
    const [store] = await openStores(1);
    const topic = await createTopic();
    const { relay, sendBatch, unitOfWork } = await startRelay(store!, { markIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      await store!.insertOutbox(outboxRows(topic, 1, `lone-${i}`));
      relay.wake();
      // Each row alone: the relay catches up after every publish.
      await vi.waitFor(() => expect(sendBatch).toHaveBeenCalledTimes(i + 1), WAIT);
    }
    expect(unitOfWork).not.toHaveBeenCalled();
    await relay.drain();
    expect(await store!.listUnsentOutbox(100)).toEqual([]);
    expect(unitOfWork).toHaveBeenCalledTimes(1);
    expect(await messagesInTopic(topic)).toBe(5);
  });

  it('on MySQL, whose transactions commit outbox ids out of order, each publish is marked at once: no cursor holds a late row back', async () => {
    const db = await createTestDatabase('mysql');
    cleanups.push(() => db.cleanup());
    const store = db.open();
    await store.migrate();
    const topic = await createTopic();
    let written = 1;
    const { relay, sendBatch, unitOfWork } = await startRelay(store, {
      beforeSend: async () => {
        if (written < 5) await store.insertOutbox(outboxRows(topic, 1, `row-${written++}`));
      },
    });
    await store.insertOutbox(outboxRows(topic, 1, 'row-0'));
    relay.wake();
    await vi.waitFor(() => expect(written).toBe(5), WAIT);
    await relay.drain();
    expect(await store.listUnsentOutbox(100)).toEqual([]);
    expect(unitOfWork.mock.calls.length).toBe(sendBatch.mock.calls.length);
  });

  it('rows published but not yet marked when marking fails are not sent again by that relay; the next relay sends them again, none lost', async () => {
    const [store] = await openStores(1);
    const topic = await createTopic();
    const first = await startRelay(store!);
    first.unitOfWork.mockRejectedValue(new Error('disk full'));
    await store!.insertOutbox(outboxRows(topic, 30, 'unmarked'));
    first.relay.wake();
    await vi.waitFor(async () => expect(await messagesInTopic(topic)).toBe(30), WAIT);
    // It keeps retrying the mark, never the send.
    await vi.waitFor(() => expect(first.unitOfWork.mock.calls.length).toBeGreaterThanOrEqual(3), WAIT);
    expect(await messagesInTopic(topic)).toBe(30);
    await first.relay.stop();
    expect(await store!.listUnsentOutbox(100)).toHaveLength(30);

    // As after a crash between publish and mark: the next relay publishes them again (at least once).
    first.unitOfWork.mockRestore();
    const next = await startRelay(store!);
    next.relay.wake();
    await vi.waitFor(async () => expect(await store!.listUnsentOutbox(100)).toEqual([]), WAIT);
    expect(await messagesInTopic(topic)).toBe(60);
  });

  it('after a publish, a lingering relay sends the rows written meanwhile in one request; the first row after idling goes alone', async () => {
    const [store] = await openStores(1);
    const topic = await createTopic();
    const { relay, sendBatch } = await startRelay(store!, { lingerMs: 1_000 });
    await store!.insertOutbox(outboxRows(topic, 1, 'first'));
    relay.wake();
    await vi.waitFor(() => expect(sendBatch).toHaveBeenCalledTimes(1), WAIT);
    for (const prefix of ['b', 'c', 'd']) {
      await store!.insertOutbox(outboxRows(topic, 1, prefix));
      relay.wake();
    }
    await relay.drain();
    expect(rowsPerRequest(sendBatch)).toEqual([1, 3]);
    expect(await store!.listUnsentOutbox(100)).toEqual([]);
  });
});
