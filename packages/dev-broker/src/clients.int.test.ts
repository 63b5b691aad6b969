// Client matrix: the dev broker driven by librdkafka (Debian's kcat, python3-confluent-kafka) and Kafka's Java tools.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { startBroker } from './index.js';
import type { RunningBroker } from './index.js';
import {
  CONFLUENT_SCRIPT,
  JsonLinesProcess,
  locateConfluentKafka,
  locateKafkaTools,
  locateKcat,
  requireClient,
  run,
} from './testing/clients.js';
import type { ClientTool } from './testing/clients.js';
import { kafkaFor, quietLogger, uniqueName, waitFor } from './testing/helpers.js';

let broker: RunningBroker;
let admin: Admin;
const kcat = locateKcat();
let confluent: ClientTool;

beforeAll(async () => {
  broker = await startBroker({ logger: quietLogger });
  admin = kafkaFor(broker.brokers).admin();
  await admin.connect();
  confluent = await locateConfluentKafka();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

async function highWatermarks(topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

describe('kcat (librdkafka 2.x)', () => {
  it('lists metadata: the broker and every partition of a topic', async (ctx) => {
    requireClient(kcat, ctx);
    const topic = uniqueName('kcat-meta');
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const res = await run(kcat.bin, ['-b', broker.brokers, '-L', '-J', '-t', topic]);
    expect(res.code, res.stderr).toBe(0);
    const meta = JSON.parse(res.stdout) as {
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
    };
    expect(meta.brokers).toEqual([{ id: 0, name: broker.brokers }]);
    expect(meta.topics[0]?.topic).toBe(topic);
    expect(meta.topics[0]?.partitions.map((p) => [p.partition, p.leader])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it('produces with keys and headers, and consumes them from the beginning', async (ctx) => {
    requireClient(kcat, ctx);
    const topic = uniqueName('kcat-keys');
    const input = Array.from({ length: 20 }, (_, i) => `key-${i}:value-${i}`).join('\n') + '\n';
    const produced = await run(
      kcat.bin,
      ['-b', broker.brokers, '-P', '-t', topic, '-K:', '-H', 'origin=kcat', '-H', 'n=1'],
      { input },
    );
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await run(kcat.bin, [
      ...['-b', broker.brokers, '-C', '-t', topic, '-o', 'beginning', '-e'],
      ...['-f', '%k|%s|%h\\n'],
    ]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const lines = consumed.stdout.trim().split('\n').sort();
    expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => `key-${i}|value-${i}|origin=kcat,n=1`).sort());
    // The same messages through kafkajs: keys and headers arrived as kcat sent them.
    expect([...(await highWatermarks(topic)).values()].reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('consumes from the end: only messages produced after it started (ListOffsets v2 latest)', async (ctx) => {
    requireClient(kcat, ctx);
    const topic = uniqueName('kcat-end');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafkaFor(broker.brokers).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'old-1' }, { value: 'old-2' }] });
    const consumer = run(kcat.bin, [
      '-b',
      broker.brokers,
      '-C',
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      'end',
      '-c',
      '1',
    ]);
    let done = false;
    void consumer.then(() => (done = true));
    // kcat resolves END asynchronously: keep producing new messages until it has read one.
    for (let i = 0; !done; i++) {
      await producer.send({ topic, messages: [{ value: `new-${i}` }] });
      await new Promise((r) => setTimeout(r, 100));
    }
    await producer.disconnect();
    const res = await consumer;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toMatch(/^new-\d+$/);
  });

  it('consumes in a group, commits, and a second run starts after the committed offsets', async (ctx) => {
    requireClient(kcat, ctx);
    const topic = uniqueName('kcat-group');
    const group = uniqueName('kcat-group');
    const first = Array.from({ length: 30 }, (_, i) => `a-${i}`).join('\n') + '\n';
    expect((await run(kcat.bin, ['-b', broker.brokers, '-P', '-t', topic], { input: first })).code).toBe(0);
    const groupArgs = [
      ...['-b', broker.brokers, '-G', group, '-X', 'auto.offset.reset=earliest', '-e'],
      ...['-f', '%s\\n', topic],
    ];
    const run1 = await run(kcat.bin, groupArgs);
    expect(run1.code, run1.stderr).toBe(0);
    expect(run1.stdout.trim().split('\n').sort()).toEqual(first.trim().split('\n').sort());
    // kcat commits on close: the group's offsets are the log end of every partition.
    // (librdkafka's sticky partitioner may have left partitions empty: those have nothing to commit.)
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const high = await highWatermarks(topic);
    for (const p of committed[0]?.partitions ?? []) {
      if ((high.get(p.partition) ?? 0) > 0) expect(Number(p.offset)).toBe(high.get(p.partition));
    }

    const second = Array.from({ length: 5 }, (_, i) => `b-${i}`).join('\n') + '\n';
    expect((await run(kcat.bin, ['-b', broker.brokers, '-P', '-t', topic], { input: second })).code).toBe(0);
    const run2 = await run(kcat.bin, groupArgs);
    expect(run2.code, run2.stderr).toBe(0);
    expect(run2.stdout.trim().split('\n').sort()).toEqual(second.trim().split('\n').sort());
  });

  it.for(['gzip', 'snappy', 'lz4'])(
    'produces %s-compressed batches that consume back and can be found by timestamp',
    async (codec, ctx) => {
      requireClient(kcat, ctx);
      const topic = uniqueName(`kcat-${codec}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      // Repetitive values that compress well: librdkafka sends a batch uncompressed when it would not shrink.
      const values = Array.from({ length: 50 }, (_, i) => `${i}-${'x'.repeat(200)}`);
      const args = ['-b', broker.brokers, '-P', '-t', topic, '-p', '0', '-z', codec, '-d', 'msg'];
      const produced = await run(kcat.bin, args, { input: values.join('\n') + '\n' });
      expect(produced.code, produced.stderr).toBe(0);
      expect(produced.stderr).toContain(`, ${codec})`); // librdkafka's debug line: the batch went out compressed
      const consumed = await run(kcat.bin, [
        ...['-b', broker.brokers, '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%T %s\\n'],
      ]);
      expect(consumed.code, consumed.stderr).toBe(0);
      const lines = consumed.stdout.trim().split('\n');
      expect(lines.map((l) => l.slice(l.indexOf(' ') + 1))).toEqual(values);
      // ListOffsets by timestamp decompresses the batch to find the first record at/after it.
      const firstTs = lines[0]!.split(' ')[0]!;
      const byTime = await run(kcat.bin, [
        ...['-b', broker.brokers, '-C', '-t', topic, '-p', '0', '-o', `s@${firstTs}`, '-c', '1', '-f', '%o'],
      ]);
      expect(byTime.code, byTime.stderr).toBe(0);
      expect(byTime.stdout).toBe('0');
    },
  );
});

describe('confluent-kafka for Python (librdkafka 2.x)', () => {
  const py = (args: string[]): JsonLinesProcess =>
    new JsonLinesProcess(confluent.ok ? confluent.bin : '', [CONFLUENT_SCRIPT, ...args]);

  async function produce(
    brokers: string,
    topic: string,
    count: number,
    prefix: string,
    codec = 'lz4',
  ): Promise<void> {
    const p = py(['produce', brokers, topic, String(count), prefix, codec]);
    const code = await p.exited;
    expect(code, p.stderr).toBe(0);
    expect(p.of('produced')).toEqual([{ event: 'produced', count, errors: [], unflushed: 0 }]);
  }

  it('a producer writes keyed messages with headers that kafkajs reads back', async (ctx) => {
    requireClient(confluent, ctx);
    const topic = uniqueName('py-produce');
    // gzip: kafkajs itself decodes only gzip without a codec plugin.
    await produce(broker.brokers, topic, 25, 'k', 'gzip');
    const consumer = kafkaFor(broker.brokers).consumer({ groupId: uniqueName('py-produce-check') });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(
          `${message.key?.toString()}=${message.value?.toString()}:${message.headers?.origin?.toString()}`,
        );
      },
    });
    await waitFor(() => seen.length >= 25, '25 messages through kafkajs');
    await consumer.disconnect();
    expect(seen.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `k-${i}=value-${i}:python`).sort());
  });

  it(
    'a consumer group rebalances across two members and every message is consumed once',
    { timeout: 180_000 },
    async (ctx) => {
      requireClient(confluent, ctx);
      const topic = uniqueName('py-group');
      const group = uniqueName('py-group');
      await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
      await produce(broker.brokers, topic, 40, 'one');
      const a = py(['consume', broker.brokers, topic, group]);
      const b = py(['consume', broker.brokers, topic, group]);
      try {
        await waitFor(
          () => a.of('message').length + b.of('message').length >= 40,
          'the first 40 consumed by the group',
          60_000,
        );
        // Both members end up with two of the four partitions each.
        await waitFor(
          () => {
            const last = (p: JsonLinesProcess): number[] =>
              (p.of('assigned').at(-1)?.partitions as number[]) ?? [];
            return (
              last(a).length === 2 &&
              last(b).length === 2 &&
              [...last(a), ...last(b)].sort().join() === '0,1,2,3'
            );
          },
          'a 2 + 2 split of the four partitions',
          60_000,
        );
        await produce(broker.brokers, topic, 40, 'two');
        await waitFor(
          () => a.of('message').length + b.of('message').length >= 80,
          'all 80 messages consumed by the two members',
          60_000,
        );
        const keys = [...a.of('message'), ...b.of('message')].map((m) => m.key as string);
        expect(new Set(keys).size).toBe(80);
        expect([...a.of('error'), ...b.of('error')]).toEqual([]);
        expect(b.of('message').length).toBeGreaterThan(0);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    },
  );

  it(
    'committed offsets survive a broker restart: the group resumes after them',
    { timeout: 180_000 },
    async (ctx) => {
      requireClient(confluent, ctx);
      const dataDir = mkdtempSync(path.join(tmpdir(), 'taskwire-clients-'));
      let own = await startBroker({ logger: quietLogger, dataDir });
      try {
        const topic = uniqueName('py-restart');
        const group = uniqueName('py-restart');
        await produce(own.brokers, topic, 10, 'before');
        const first = py(['consume', own.brokers, topic, group]);
        await waitFor(() => first.of('message').length >= 10, 'the first 10 consumed and committed', 60_000);
        expect(await first.stop()).toBe(0);

        const port = own.port;
        await own.stop();
        own = await startBroker({ logger: quietLogger, dataDir, port });
        await produce(own.brokers, topic, 5, 'after');
        const second = py(['consume', own.brokers, topic, group]);
        try {
          await waitFor(() => second.of('message').length >= 5, 'the 5 new messages', 60_000);
          // Lost offsets would replay from the earliest (auto.offset.reset): the 'before' ones first.
          expect(
            second
              .of('message')
              .map((m) => m.key as string)
              .sort(),
          ).toEqual(Array.from({ length: 5 }, (_, i) => `after-${i}`).sort());
        } finally {
          await second.stop();
        }
      } finally {
        await own.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});

describe("Apache Kafka 2.4's Java tools", () => {
  it('kafka-topics.sh creates, alters and describes a topic, with its config overrides', async (ctx) => {
    const tools = locateKafkaTools();
    requireClient(tools, ctx);
    const topic = uniqueName('java-topics');
    const env = { KAFKA_HEAP_OPTS: '-Xmx128m' };
    const base = ['--bootstrap-server', broker.brokers, '--topic', topic];
    const created = await run(
      tools.bin,
      [...base, '--create', '--partitions', '2', '--config', 'retention.ms=60000'],
      { env },
    );
    expect(created.code, created.stdout + created.stderr).toBe(0);
    const altered = await run(tools.bin, [...base, '--alter', '--partitions', '3'], { env });
    expect(altered.code, altered.stdout + altered.stderr).toBe(0);
    const described = await run(tools.bin, [...base, '--describe'], { env });
    expect(described.code, described.stdout + described.stderr).toBe(0);
    expect(described.stdout).toContain(
      `Topic: ${topic}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=60000`,
    );
    expect(described.stdout).toContain(`Topic: ${topic}\tPartition: 2\tLeader: 0\tReplicas: 0\tIsr: 0`);
  });

  it('kafka-consumer-groups.sh describes a group and deletes its offsets of a topic (OffsetDelete)', async (ctx) => {
    const tools = locateKafkaTools();
    requireClient(tools, ctx);
    const groupsTool = path.join(path.dirname(tools.bin), 'kafka-consumer-groups.sh');
    const env = { KAFKA_HEAP_OPTS: '-Xmx128m' };
    const topic = uniqueName('java-groups');
    const groupId = uniqueName('java-groups');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafkaFor(broker.brokers).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] });
    const base = ['--bootstrap-server', broker.brokers, '--group', groupId];
    const described = await run(groupsTool, [...base, '--describe'], { env });
    expect(described.code, described.stdout + described.stderr).toBe(0);
    expect(described.stdout).toMatch(new RegExp(`${groupId}\\s+${topic}\\s+0\\s+1\\s+2\\s+1`));
    const deleted = await run(groupsTool, [...base, '--delete-offsets', '--topic', topic], { env });
    expect(deleted.code, deleted.stdout + deleted.stderr).toBe(0);
    expect(await admin.fetchOffsets({ groupId, topics: [topic] })).toMatchObject([
      { topic, partitions: [{ partition: 0, offset: '-1' }] },
    ]);
  });
});
