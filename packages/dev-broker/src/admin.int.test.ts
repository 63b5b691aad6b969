// The admin APIs added for other clients' everyday commands, through kafkajs's admin: CreatePartitions, DeleteRecords, DeleteGroups, DescribeConfigs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { startBroker } from './index.js';
import type { RunningBroker } from './index.js';
import { fastConsumer, kafkaFor, quietLogger, uniqueName, waitFor } from './testing/helpers.js';

let broker: RunningBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startBroker({ logger: quietLogger });
  admin = kafkaFor(broker.brokers).admin();
  producer = kafkaFor(broker.brokers).producer();
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  await broker?.stop();
});

describe('admin APIs beyond kafkajs’s everyday set', () => {
  it('CreatePartitions grows a topic, and the new partitions take messages; shrinking is refused', async () => {
    const topic = uniqueName('grow');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3]);
    const [res] = await producer.send({ topic, messages: [{ value: 'x', partition: 3 }] });
    expect(res).toMatchObject({ partition: 3, errorCode: 0, baseOffset: '0' });
    await expect(admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })).rejects.toMatchObject({
      type: 'INVALID_PARTITIONS',
    });
  });

  it('DeleteRecords moves the log start: offsets report it and a consumer from the beginning starts there', async () => {
    const topic = uniqueName('trim');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await producer.send({ topic, messages: ['a', 'b', 'c', 'd'].map((value) => ({ value })) });
    // kafkajs finds the leader in its cached metadata only: fetching offsets first loads it.
    expect(await admin.fetchTopicOffsets(topic)).toMatchObject([{ partition: 0, low: '0', high: '4' }]);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });
    expect(await admin.fetchTopicOffsets(topic)).toMatchObject([{ partition: 0, low: '2', high: '4' }]);
    const consumer = kafkaFor(broker.brokers).consumer(fastConsumer(uniqueName('trim')));
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void seen.push(`${message.offset}:${message.value}`),
    });
    await waitFor(() => seen.length >= 2, 'the two records after the log start');
    await consumer.disconnect();
    expect(seen).toEqual(['2:c', '3:d']);
    // Beyond the log end is refused, as in Kafka.
    await expect(
      admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '9' }] }),
    ).rejects.toThrow();
  });

  it('DeleteGroups forgets an empty group and its offsets, and refuses one with members', async () => {
    const topic = uniqueName('groups');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const idle = uniqueName('idle');
    await admin.setOffsets({ groupId: idle, topic, partitions: [{ partition: 0, offset: '0' }] });
    await admin.deleteGroups([idle]);
    expect(await admin.fetchOffsets({ groupId: idle, topics: [topic] })).toMatchObject([
      { topic, partitions: [{ partition: 0, offset: '-1' }] },
    ]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(idle);

    const busy = uniqueName('busy');
    const consumer = kafkaFor(broker.brokers).consumer(fastConsumer(busy));
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async () => undefined });
    await waitFor(
      async () => (await admin.describeGroups([busy])).groups[0]?.state === 'Stable',
      'a stable group',
    );
    await expect(admin.deleteGroups([busy])).rejects.toMatchObject({
      groups: [{ groupId: busy, errorCode: 68 }],
    });
    await consumer.disconnect();
  });

  it('DescribeConfigs lists a topic’s configs with its own overrides marked as not default', async () => {
    const topic = uniqueName('configs');
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });
    const res = await admin.describeConfigs({
      resources: [{ type: 2, name: topic }],
      includeSynonyms: false,
    });
    const entries = new Map(res.resources[0]?.configEntries.map((e) => [e.configName, e]));
    expect(entries.get('retention.ms')).toMatchObject({ configValue: '60000', isDefault: false });
    expect(entries.get('cleanup.policy')).toMatchObject({ configValue: 'delete', isDefault: true });
    const missing = await admin
      .describeConfigs({ resources: [{ type: 2, name: uniqueName('none') }], includeSynonyms: false })
      .catch((err: unknown) => err);
    expect(missing).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });
});
