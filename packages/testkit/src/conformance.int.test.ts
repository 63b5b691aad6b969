// Differential conformance: the same kafkajs operations against the dev broker and real Apache Kafka must observe the same results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, ConsumerConfig, Kafka as KafkaClient } from 'kafkajs';
import { randomName, startTestBroker, traitsOf } from './broker.js';
import type { BrokerKind, TestBroker } from './broker.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel, AssignerProtocol } = kafkajs;

interface Side {
  kind: BrokerKind;
  broker: TestBroker;
  kafka: KafkaClient;
  admin: Admin;
}

const sides: Side[] = [];

async function side(kind: BrokerKind): Promise<Side> {
  const broker = await startTestBroker({ kind, persistent: true });
  const kafka = client(broker.brokers);
  const admin = kafka.admin();
  await admin.connect();
  return { kind, broker, kafka, admin };
}

function client(brokers: string): KafkaClient {
  return new Kafka({
    brokers: [brokers],
    clientId: randomName('conformance'),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 10 },
  });
}

beforeAll(async () => {
  // One after the other: two JVMs plus a dev broker starting at once crowd two shared cores.
  sides.push(await side('dev'));
  sides.push(await side('kafka'));
}, 180_000);

afterAll(async () => {
  for (const s of sides) {
    await s.admin.disconnect().catch(() => undefined);
    await s.broker.stop();
  }
}, 60_000);

/** Settings both kinds accept: Kafka's smallest session timeout, quick heartbeats and long-polls. */
function groupConfig(groupId: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig {
  const sessionTimeout = Math.max(...(['dev', 'kafka'] as const).map((k) => traitsOf(k).minSessionTimeoutMs));
  return {
    groupId,
    sessionTimeout,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 300,
    retry: { initialRetryTime: 100, retries: 20 },
    ...extra,
  };
}

async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a rejected kafkajs call reports: its error type (a Kafka error name) or its nested ones. */
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    const e = err as { type?: string; name?: string; errors?: Array<{ type?: string }> };
    if (e.errors?.length) return e.errors.map((x) => x.type ?? 'unknown');
    return e.type ?? e.name ?? 'unknown';
  }
}

/** Sorted partition counts per member of a stable group, or null while it rebalances. */
async function spread(admin: Admin, groupId: string): Promise<number[] | null> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0];
  if (!g || g.state !== 'Stable') return null;
  return g.members
    .map(
      (m) =>
        Object.values(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}).flat()
          .length,
    )
    .sort();
}

async function startConsumer(s: Side, groupId: string, topic: string, extra: Partial<ConsumerConfig> = {}) {
  const c = s.kafka.consumer(groupConfig(groupId, extra));
  const joins: number[] = [];
  c.on(c.events.GROUP_JOIN, (e) => joins.push(Object.values(e.payload.memberAssignment).flat().length));
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const offsets: number[] = [];
  await c.run({ eachMessage: async ({ message }) => void offsets.push(Number(message.offset)) });
  return { c, joins, offsets };
}

async function stop(c: Consumer): Promise<void> {
  await c.disconnect();
}

/**
 * Each case runs on both kinds and returns what a client can observe; the two observations must be
 * equal. A case that differed was either fixed in the dev broker or is listed with its reason in
 * packages/dev-broker/README.md ("Differences from Apache Kafka") and left out here.
 */
const cases: Array<{ name: string; run(s: Side): Promise<unknown>; timeoutMs?: number }> = [
  {
    name: 'error codes of bad topic requests',
    async run({ admin, kafka }) {
      const existing = randomName('exists');
      await admin.createTopics({ topics: [{ topic: existing, numPartitions: 2 }] });
      const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
      await producer.connect();
      try {
        return {
          badName: await errorOf(admin.createTopics({ topics: [{ topic: 'bad name!' }] })),
          replicationFactor: await errorOf(
            admin.createTopics({ topics: [{ topic: randomName('rf'), replicationFactor: 3 }] }),
          ),
          createExisting: await admin.createTopics({ topics: [{ topic: existing, numPartitions: 2 }] }),
          deleteUnknown: await errorOf(admin.deleteTopics({ topics: [randomName('nope')], timeout: 3000 })),
          metadataUnknown: await errorOf(admin.fetchTopicMetadata({ topics: [randomName('nope')] })),
          produceUnknownNoAutoCreate: await errorOf(
            producer.send({ topic: randomName('nope'), messages: [{ value: 'x' }] }),
          ),
          tooLarge: await errorOf(
            producer.send({ topic: existing, messages: [{ value: Buffer.alloc(1_100_000, 1) }] }),
          ),
        };
      } finally {
        await producer.disconnect();
      }
    },
  },
  {
    name: 'offsets after produce, per partition, and the earliest/latest offsets',
    async run({ admin, kafka }) {
      const topic = randomName('offsets');
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const producer = kafka.producer();
      await producer.connect();
      const bases: string[] = [];
      for (const n of [3, 2, 1]) {
        const [r] = await producer.send({
          topic,
          messages: Array.from({ length: n }, (_, i) => ({ value: `v${i}`, partition: 0 })),
        });
        bases.push(String(r?.baseOffset));
      }
      const [r1] = await producer.send({ topic, messages: [{ value: 'p1', partition: 1 }], acks: -1 });
      await producer.disconnect();
      return { bases, p1: r1?.baseOffset, ends: await admin.fetchTopicOffsets(topic) };
    },
  },
  {
    name: 'partition counts of auto-created topics and of topics created without a count',
    async run({ admin, kafka }) {
      const produced = randomName('auto');
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: produced, messages: [{ value: 'x' }] });
      await producer.disconnect();
      const created = randomName('default');
      await admin.createTopics({ topics: [{ topic: created }] });
      const meta = await admin.fetchTopicMetadata({ topics: [produced, created] });
      return meta.topics.map((t) => ({
        partitions: t.partitions.length,
        leaders: [...new Set(t.partitions.map((p) => p.leader))],
        replicas: t.partitions[0]?.replicas,
      }));
    },
  },
  {
    name: 'an unknown group: described Dead, no committed offsets',
    async run({ admin }) {
      const topic = randomName('nogroup');
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const groupId = randomName('ghost');
      const { groups } = await admin.describeGroups([groupId]);
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return {
        described: groups.map((g) => ({ state: g.state, members: g.members.length, protocol: g.protocol })),
        offsets: offsets?.partitions.map((p) => p.offset),
      };
    },
  },
  {
    name: 'group assignments and rebalances as members join and leave',
    timeoutMs: 120_000,
    async run(s) {
      const topic = randomName('join');
      const groupId = randomName('join');
      await s.admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
      const a = await startConsumer(s, groupId, topic);
      await until('a alone', async () => JSON.stringify(await spread(s.admin, groupId)) === '[3]');
      const b = await startConsumer(s, groupId, topic);
      await until('a and b', async () => JSON.stringify(await spread(s.admin, groupId)) === '[1,2]');
      const withTwo = await s.admin.describeGroups([groupId]);
      await stop(b.c);
      await until('a alone again', async () => JSON.stringify(await spread(s.admin, groupId)) === '[3]');
      await stop(a.c);
      const { groups } = await s.admin.describeGroups([groupId]);
      const listed = await s.admin.listGroups();
      const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
      return {
        // Partitions a saw at each join: alone, then sharing (round robin over member ids, which are
        // random, so who gets 2 of 3 is not compared), then alone again; b joins once.
        aJoins: [a.joins[0], a.joins.length, a.joins.at(-1)],
        shares: [a.joins[1], b.joins[0]].sort(),
        bJoins: b.joins.length,
        memberIds: withTwo.groups[0]?.members.map((m) =>
          m.memberId.replace(m.clientId, '<client>').replace(uuid, '<uuid>'),
        ),
        protocolWithTwo: withTwo.groups[0]?.protocol,
        protocolType: withTwo.groups[0]?.protocolType,
        stateAfterAllLeft: groups[0]?.state,
        listed: listed.groups.filter((g) => g.groupId === groupId).map((g) => g.protocolType),
      };
    },
  },
  {
    name: 'a session timeout above the broker maximum (30 min) is refused',
    async run(s) {
      const topic = randomName('session');
      await s.admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const c = s.kafka.consumer(groupConfig(randomName('session'), { sessionTimeout: 30 * 60_000 + 1 }));
      const crashed = new Promise<unknown>((resolve) => {
        c.on(c.events.CRASH, (e) =>
          resolve((e.payload.error as { type?: string }).type ?? e.payload.error.name),
        );
      });
      await c.connect();
      await c.subscribe({ topic });
      await c.run({ eachMessage: async () => undefined });
      const error = await crashed;
      await c.disconnect();
      return error;
    },
  },
  {
    name: 'committed offsets (also beyond the log end) survive a broker restart, and an out-of-range one resets',
    timeoutMs: 150_000,
    async run(s) {
      const topic = randomName('commit');
      const groupId = randomName('commit');
      const far = randomName('far');
      await s.admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const producer = s.kafka.producer();
      await producer.connect();
      await producer.send({
        topic,
        messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}`, partition: 0 })),
      });
      await producer.disconnect();
      await s.admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }] });
      // Kafka does not check a committed offset against the log; only a fetch from it is out of range.
      await s.admin.setOffsets({ groupId: far, topic, partitions: [{ partition: 0, offset: '1000' }] });
      await s.admin.disconnect();
      await s.broker.restart();
      s.admin = s.kafka.admin();
      await s.admin.connect();
      const committed = await s.admin.fetchOffsets({ groupId, topics: [topic] });
      const farCommitted = await s.admin.fetchOffsets({ groupId: far, topics: [topic] });
      // fromBeginning: an out-of-range committed offset resets to the earliest one.
      const resumed = await startConsumer(s, groupId, topic);
      const reset = await startConsumer(s, far, topic);
      await until('both consumers', () => resumed.offsets.length >= 2 && reset.offsets.length >= 5);
      await Promise.all([stop(resumed.c), stop(reset.c)]);
      return {
        committed: committed[0]?.partitions.sort((x, y) => x.partition - y.partition),
        farCommitted: farCommitted[0]?.partitions.find((p) => p.partition === 0)?.offset,
        resumedFrom: resumed.offsets.sort((x, y) => x - y),
        resetTo: reset.offsets.sort((x, y) => x - y),
      };
    },
  },
  {
    name: 'deleting a topic drops its committed offsets; a topic of that name created again starts empty',
    timeoutMs: 90_000,
    async run({ admin, kafka }) {
      const topic = randomName('deleted');
      const groupId = randomName('deleted');
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] });
      await admin.deleteTopics({ topics: [topic] });
      // Kafka deletes asynchronously: the name is free once the topic is gone from the list.
      await until('the topic to be gone', async () => !(await admin.listTopics()).includes(topic));
      const created = await until('the topic created again', () =>
        admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }).catch(() => false),
      );
      await producer.disconnect();
      // Kafka elects the new topic's leader asynchronously; until then metadata calls fail.
      const ends = await until('the new topic to serve', () => admin.fetchTopicOffsets(topic));
      const [offsets] = await until('its committed offsets', () =>
        admin.fetchOffsets({ groupId, topics: [topic] }),
      );
      return { created, committed: offsets?.partitions.map((p) => p.offset), ends };
    },
  },
  {
    name: 'long-poll timing class: an empty fetch waits ~maxWaitTime, a message ends it early',
    timeoutMs: 90_000,
    async run(s) {
      const topic = randomName('poll');
      await s.admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const maxWait = 3000;
      const c = s.kafka.consumer(groupConfig(randomName('poll'), { maxWaitTimeInMs: maxWait }));
      const emptyFetches: number[] = [];
      let receivedAt = 0;
      c.on(c.events.FETCH, (e) => {
        if (e.payload.numberOfBatches === 0) emptyFetches.push(e.payload.duration);
      });
      await c.connect();
      await c.subscribe({ topic });
      await c.run({ eachMessage: async () => void (receivedAt = Date.now()) });
      await until('two empty fetches', () => emptyFetches.length >= 2, 60_000);
      const producer = s.kafka.producer();
      await producer.connect();
      // Produce inside a parked fetch: wait for the next fetch to start, then a little more.
      await new Promise<void>((resolve) => {
        const off = c.on(c.events.FETCH_START, () => {
          off();
          resolve();
        });
      });
      await new Promise((r) => setTimeout(r, 300));
      const sentAt = Date.now();
      await producer.send({ topic, messages: [{ value: 'wake' }] });
      await until('the message', () => receivedAt > 0, 20_000);
      const stopping = c.disconnect();
      // disconnect() waits for the parked fetch: feed it so it ends now.
      let done = false;
      void stopping.finally(() => (done = true));
      while (!done) {
        await producer.send({ topic, messages: [{ value: 'release' }] });
        await new Promise((r) => setTimeout(r, 100));
      }
      await producer.disconnect();
      const waited = emptyFetches.slice(0, 2).every((d) => d >= maxWait * 0.8);
      // Generous: the two cores are shared; without the wake-up it would take ~maxWait.
      const early = receivedAt - sentAt < maxWait * 0.6;
      return { emptyFetchWaitsMaxWaitTime: waited, messageEndsTheWaitEarly: early };
    },
  },
];

describe('dev broker conformance with Apache Kafka', () => {
  for (const c of cases) {
    it(
      `the dev broker observes the same as Kafka: ${c.name}`,
      async () => {
        const [dev, kafka] = sides as [Side, Side];
        const onDev = await c.run(dev);
        const onKafka = await c.run(kafka);
        expect(onDev).toEqual(onKafka);
      },
      c.timeoutMs ?? 60_000,
    );
  }
});
