// Integration tests of consumer groups through kafkajs: rebalances, session expiry, committed offsets.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { brokerTraits, startTestBroker } from '@taskwire/testkit';
import type { TestBroker } from '@taskwire/testkit';
import {
  assignments,
  fastConsumer,
  kafkaFor,
  sessionTimeout,
  uniqueName,
  waitFor,
} from './testing/helpers.js';

let broker: TestBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startTestBroker();
  const kafka = kafkaFor(broker.brokers);
  admin = kafka.admin();
  producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
}, brokerTraits.startMs);

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  await broker?.stop();
});

async function produce(topic: string, from: number, count: number): Promise<void> {
  const messages = Array.from({ length: count }, (_, i) => ({
    key: `k${from + i}`,
    value: String(from + i),
  }));
  await producer.send({ topic, messages });
}

/** Partition counts per member, sorted, e.g. [2, 2, 2]; null while the group is rebalancing. */
async function spread(groupId: string): Promise<number[] | null> {
  const a = await assignments(admin, groupId);
  return a && [...a.values()].map((p) => p.length).sort();
}

describe('consumer groups', () => {
  /*
   * What is asserted: every member handles a message and then commits offset+1 synchronously; a
   * message counts as handled only if that commit succeeded (a commit refused because the generation
   * moved on throws, so kafkajs rejoins and the message is redelivered to the new owner). With that
   * discipline every produced message must be handled exactly once across all rebalances, per
   * partition in offset order, and the partitions must be spread evenly (2/2/2 for 3 members).
   */
  it('spreads partitions as the group grows from 1 to 3 members and shrinks back, losing nothing', async () => {
    const topic = uniqueName('grow');
    const groupId = uniqueName('grow');
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    const handled = new Map<number, number>(); // message number -> successful commits
    const lastOffset = new Map<number, number>();
    const outOfOrder: string[] = [];

    const start = async (): Promise<Consumer> => {
      const c = kafkaFor(broker.brokers).consumer(fastConsumer(groupId));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const offset = Number(message.offset);
          await c.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
          const n = Number(String(message.value));
          handled.set(n, (handled.get(n) ?? 0) + 1);
          if (offset <= (lastOffset.get(partition) ?? -1)) outOfOrder.push(`${partition}@${offset}`);
          lastOffset.set(partition, offset);
        },
      });
      return c;
    };

    const a = await start();
    await produce(topic, 0, 300);
    await waitFor(() => handled.size === 300, '300 handled by one member');
    expect(await spread(groupId)).toEqual([6]);

    const [b, c] = await Promise.all([start(), start()]);
    await produce(topic, 300, 300); // produced while the group rebalances
    await waitFor(async () => JSON.stringify(await spread(groupId)) === '[2,2,2]', 'an even 3-way spread');
    await produce(topic, 600, 300);
    await waitFor(() => handled.size === 900, '900 handled by three members');

    await Promise.all([b.disconnect(), c.disconnect()]);
    await produce(topic, 900, 300);
    await waitFor(async () => JSON.stringify(await spread(groupId)) === '[6]', 'back to one member');
    await waitFor(() => handled.size === 1200, '1200 handled');
    await a.disconnect();

    const twice = [...handled].filter(([, count]) => count !== 1);
    expect(twice).toEqual([]);
    expect(outOfOrder).toEqual([]);
    for (let n = 0; n < 1200; n++) expect(handled.has(n)).toBe(true);
  }, 60_000);

  it('evicts a member whose socket dies without LeaveGroup after its session timeout', async () => {
    const topic = uniqueName('evict');
    const groupId = uniqueName('evict');
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const received = new Map<string, number[]>();
    const track =
      (name: string) =>
      async ({ partition }: { partition: number }) => {
        received.set(name, [...(received.get(name) ?? []), partition]);
      };

    const healthy = kafkaFor(broker.brokers).consumer(fastConsumer(groupId));
    // The doomed member's sockets go through this factory so the test can cut them all at once and
    // refuse reconnects, the way a crashed or partitioned process looks to the broker.
    const sockets = new Set<net.Socket>();
    let cut = false;
    const quickRetry = { initialRetryTime: 50, maxRetryTime: 300, retries: 3 };
    const doomed = kafkaFor(broker.brokers, {
      retry: quickRetry,
      socketFactory: ({ host, port, onConnect }) => {
        const s = net.connect({ host, port: cut ? 1 : port }, onConnect);
        sockets.add(s);
        return s;
      },
    }).consumer(fastConsumer(groupId, { sessionTimeout: sessionTimeout(1500), retry: quickRetry }));
    for (const [c, name] of [
      [healthy, 'healthy'],
      [doomed, 'doomed'],
    ] as const) {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: track(name) });
    }
    await waitFor(async () => JSON.stringify(await spread(groupId)) === '[2,2]', 'a 2-way spread');

    cut = true;
    // end() (FIN) rather than destroy(): kafkajs notices a closed connection only through 'end'.
    for (const s of sockets) s.end();
    const cutAt = Date.now();
    await waitFor(async () => JSON.stringify(await spread(groupId)) === '[4]', 'the doomed member evicted');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(1000); // not before its session timeout

    await produce(topic, 0, 40);
    await waitFor(
      () => new Set(received.get('healthy')).size === 4,
      'the healthy member on all 4 partitions',
    );
    await Promise.all([healthy.disconnect(), doomed.disconnect().catch(() => undefined)]);
  }, 40_000);

  it('resumes from committed offsets after a consumer restart', async () => {
    const topic = uniqueName('resume');
    const groupId = uniqueName('resume');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await produce(topic, 0, 50);

    const consume = async (expectCount: number): Promise<number[]> => {
      const seen: number[] = [];
      const c = kafkaFor(broker.brokers).consumer(fastConsumer(groupId));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void seen.push(Number(String(message.value))) });
      await waitFor(() => seen.length >= expectCount, `${expectCount} messages`);
      await c.disconnect(); // commits what was processed
      return seen.sort((x, y) => x - y);
    };

    expect(await consume(50)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(total).toBe(50);
    await produce(topic, 50, 20);
    expect(await consume(20)).toEqual(Array.from({ length: 20 }, (_, i) => 50 + i));

    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId, protocolType: 'consumer' });
  }, 30_000);
});
