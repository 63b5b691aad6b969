// Integration tests of the data dir: topics, messages and committed offsets across broker restarts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker } from './index.js';
import { fastConsumer, kafkaFor, uniqueName, waitFor, quietLogger } from './testing/helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-broker-'));
  dirs.push(d);
  return d;
}

async function consumeAll(brokers: string, topic: string, groupId: string, count: number): Promise<string[]> {
  const seen: string[] = [];
  const c = kafkaFor(brokers).consumer(fastConsumer(groupId));
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
  await waitFor(() => seen.length >= count, `${count} messages`);
  await c.disconnect();
  return seen.sort();
}

describe('persistence', () => {
  it('keeps topics, messages and committed offsets across a restart', async () => {
    const dataDir = tempDir();
    const topic = uniqueName('persist');
    const groupId = uniqueName('persist');
    const values = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => `m${String(from + i).padStart(4, '0')}`);

    let broker = await startBroker({ dataDir, logger: quietLogger });
    let producer = kafkaFor(broker.brokers).producer();
    await producer.connect();
    await kafkaFor(broker.brokers)
      .admin()
      .createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await producer.send({ topic, messages: values(0, 100).map((value) => ({ value })) });
    await producer.disconnect();
    expect(await consumeAll(broker.brokers, topic, groupId, 100)).toEqual(values(0, 100));
    await broker.stop();

    broker = await startBroker({ dataDir, logger: quietLogger });
    const admin = kafkaFor(broker.brokers).admin();
    await admin.connect();
    expect(await admin.listTopics()).toContain(topic);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(100);
    producer = kafkaFor(broker.brokers).producer();
    await producer.connect();
    await producer.send({ topic, messages: values(100, 20).map((value) => ({ value })) });
    await producer.disconnect();
    // The old group resumes after its committed offsets; a new group sees all 120 messages.
    expect(await consumeAll(broker.brokers, topic, groupId, 20)).toEqual(values(100, 20));
    expect(await consumeAll(broker.brokers, topic, uniqueName('fresh'), 120)).toEqual(values(0, 120));
    await admin.disconnect();
    await broker.stop();
  }, 40_000);

  it('recovers from a torn write at the end of a segment', async () => {
    const dataDir = tempDir();
    const topic = uniqueName('torn');
    let broker = await startBroker({ dataDir, logger: quietLogger });
    let producer = kafkaFor(broker.brokers).producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 0 },
      ],
    });
    await producer.disconnect();
    await broker.stop();

    const segDir = path.join(dataDir, 'logs', `${topic}-0`);
    const seg = path.join(segDir, fs.readdirSync(segDir)[0] as string);
    fs.appendFileSync(seg, Buffer.from([0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 1])); // half a batch header

    broker = await startBroker({ dataDir, logger: quietLogger });
    producer = kafkaFor(broker.brokers).producer();
    await producer.connect();
    const [res] = await producer.send({ topic, messages: [{ value: 'c', partition: 0 }] });
    expect(res?.baseOffset).toBe('2');
    await producer.disconnect();
    expect(await consumeAll(broker.brokers, topic, uniqueName('g'), 3)).toEqual(['a', 'b', 'c']);
    await broker.stop();
  }, 30_000);
});
