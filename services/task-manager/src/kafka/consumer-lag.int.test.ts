// Integration: the workers' group lag per queue partition, from real offsets on the broker (dev broker, or real Kafka).
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerTraits, randomName, startTestBroker } from '@taskwire/testkit';
import type { TestBroker } from '@taskwire/testkit';
import { readConsumerLag } from './consumer-lag.js';

let broker: TestBroker;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await startTestBroker();
  kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
}, brokerTraits.startMs);
afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

describe('readConsumerLag', () => {
  it('counts every message of each queue partition until the group commits, then the rest', async () => {
    const base = randomName('dispatch');
    const group = randomName('workers');
    const other = `${base}.emails`;
    await admin.createTopics({
      topics: [
        { topic: base, numPartitions: 2 },
        { topic: other, numPartitions: 1 },
        { topic: `${base}.dlq`, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: base,
      messages: [0, 0, 0, 1].map((p, i) => ({ value: `m${i}`, partition: p })),
    });
    await producer.send({ topic: other, messages: [{ value: 'e1' }, { value: 'e2' }] });
    await producer.send({ topic: `${base}.dlq`, messages: [{ value: 'dead' }] });
    await producer.disconnect();

    const byKey = (rows: Awaited<ReturnType<typeof readConsumerLag>>) =>
      Object.fromEntries(rows.map((r) => [`${r.queue}/${r.partition}`, r.lag]));
    // Nothing committed: everything retained is still to be read; the DLQ is not a queue.
    expect(byKey(await readConsumerLag(admin, base, group))).toEqual({
      'default/0': 3,
      'default/1': 1,
      'emails/0': 2,
    });

    await admin.setOffsets({ groupId: group, topic: base, partitions: [{ partition: 0, offset: '2' }] });
    await admin.setOffsets({ groupId: group, topic: other, partitions: [{ partition: 0, offset: '2' }] });
    expect(byKey(await readConsumerLag(admin, base, group))).toEqual({
      'default/0': 1,
      'default/1': 1,
      'emails/0': 0,
    });
  });
});
