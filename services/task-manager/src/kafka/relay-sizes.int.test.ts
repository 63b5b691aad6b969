// Integration: the outbox relay against message size limits, on SQLite and MariaDB, dev broker + kafkajs.
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Producer, ProducerBatch } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { brokerTraits, randomName, startTestBroker } from '@taskwire/testkit';
import type { TestBroker } from '@taskwire/testkit';
import { dispatchTopicFor, messageBytes } from '@taskwire/contracts';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import type { DomainDeps } from '../domain/deps.js';
import { createTasks } from '../domain/tasks.js';
import { makeTemplate } from '../store/contract/fixtures.js';
import type { Store, TemplateRecord } from '../store/index.js';
import { useCleanups } from '../testing/kafka.js';
import { DIALECTS, openTestStore } from '../testing/stores.js';
import type { Dialect } from '../testing/stores.js';
import { createRelay } from './relay.js';

const logger = pino({ level: 'silent' });
const WAIT = { timeout: 60_000, interval: 100 };

let broker: TestBroker;
/**
 * Refuses any record batch over 64 KiB per partition, like a Kafka with a low message.max.bytes: a
 * second dev broker with that limit; on real Kafka the same broker, with the limit set on the topic
 * (max.message.bytes, which the dev broker ignores).
 */
let strictBroker: TestBroker;
const STRICT_BYTES = 64 * 1024;
const cleanups = useCleanups();

beforeAll(async () => {
  broker = await startTestBroker();
  strictBroker =
    broker.kind === 'dev' ? await startTestBroker({ dev: { maxBatchBytes: STRICT_BYTES } }) : broker;
}, 2 * brokerTraits.startMs);
afterAll(async () => {
  if (strictBroker !== broker) await strictBroker?.stop();
  await broker?.stop();
});

/** A store on a new database of `dialect`, removed after the test. */
async function openStore(dialect: Dialect): Promise<Store> {
  const { store, cleanup } = await openTestStore(dialect);
  cleanups.push(cleanup);
  return store;
}

/** About 13 KB of JSON: a param_schema of 200 optional string fields with long descriptions. */
function bigSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++)
    properties[`field_${i}`] = { type: 'string', description: `field ${i} `.repeat(5) };
  return { type: 'object', properties };
}

interface Setup {
  deps: DomainDeps;
  store: Store;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  requests: ProducerBatch[];
}

async function setup(dialect: Dialect, on: TestBroker): Promise<Setup> {
  const store = await openStore(dialect);
  await store.migrate();
  const deps: DomainDeps = {
    store,
    clock: systemClock,
    logger,
    settings: { dispatchTopic: randomName('dispatch'), controlTopic: randomName('control') },
    signals: noSignals,
  };
  const kafka = new Kafka({ brokers: [on.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
  });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const requests: ProducerBatch[] = [];
  const sendBatch = producer.sendBatch.bind(producer);
  vi.spyOn(producer, 'sendBatch').mockImplementation((batch) => {
    requests.push(batch);
    return sendBatch(batch);
  });
  return { deps, store, kafka, admin, producer, requests };
}

async function startRelay(s: Setup, maxMessageBytes?: number): Promise<void> {
  const relay = createRelay({
    store: s.store,
    producer: s.producer,
    logger,
    clock: systemClock,
    owner: randomName('relay'),
    idleMs: 50,
    ...(maxMessageBytes ? { maxMessageBytes } : {}),
  });
  cleanups.push(() => relay.stop());
  await relay.start();
}

async function template(s: Setup, overrides: Partial<TemplateRecord>): Promise<TemplateRecord> {
  const t = makeTemplate({ createdAt: new Date(), updatedAt: new Date(), ...overrides });
  await s.store.insertTemplate(t);
  return t;
}

async function create(
  s: Setup,
  t: TemplateRecord,
  params: Array<Record<string, unknown>>,
): Promise<string[]> {
  const ids: string[] = [];
  for (const r of await createTasks(
    s.deps,
    params.map((p) => ({ templateId: t.id, params: p })),
  )) {
    if (!r.ok) throw r.error;
    expect(r.value.task.status).toBe('QUEUED');
    ids.push(r.value.task.id);
  }
  return ids;
}

async function messagesIn(s: Setup, topic: string): Promise<number> {
  const offsets = await s.admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

const requestBytes = (r: ProducerBatch) =>
  (r.topicMessages ?? []).reduce(
    (n, t) => n + t.messages.reduce((m, msg) => m + messageBytes(msg.key as string, msg.value as string), 0),
    0,
  );

describe.each(DIALECTS)('outbox relay sizes on %s', (dialect) => {
  it('1,000 dispatches of 13 KB each go out in requests under the byte budget, and another queue is not held up', async () => {
    const s = await setup(dialect, broker);
    // 13 KB of params each (a dispatch names its param_schema by hash: a big schema no longer makes it big).
    const heavy = await template(s, {});
    const other = await template(s, { queue: 'other' });
    const padding = JSON.stringify(bigSchema());
    const heavyIds = await create(
      s,
      heavy,
      Array.from({ length: 1_000 }, (_, i) => ({ field_0: `task ${i}`, padding })),
    );
    const otherIds = await create(
      s,
      other,
      Array.from({ length: 5 }, (_, i) => ({ n: i })),
    );
    await startRelay(s);

    await vi.waitFor(async () => expect(await s.store.listUnsentOutbox(1)).toEqual([]), WAIT);
    expect(await messagesIn(s, s.deps.settings.dispatchTopic)).toBe(heavyIds.length);
    expect(await messagesIn(s, dispatchTopicFor(s.deps.settings.dispatchTopic, 'other'))).toBe(
      otherIds.length,
    );
    expect(s.requests.length).toBeGreaterThan(10);
    for (const r of s.requests) expect(requestBytes(r)).toBeLessThanOrEqual(900 * 1024);
    const tasks = await s.store.getTasks([...heavyIds, ...otherIds]);
    expect(tasks.every((t) => t.status === 'QUEUED')).toBe(true);
  });

  it('a task whose dispatch is larger than KAFKA_MAX_MESSAGE_BYTES fails with message_too_large; the others go out', async () => {
    const s = await setup(dialect, broker);
    const t = await template(s, {});
    const before = await create(s, t, [{ n: 1 }, { n: 2 }]);
    const [big] = await create(s, t, [{ blob: 'x'.repeat(100_000) }]);
    const after = await create(s, t, [{ n: 3 }, { n: 4 }]);
    await startRelay(s, 64 * 1024);

    await vi.waitFor(async () => expect(await s.store.listUnsentOutbox(1)).toEqual([]), WAIT);
    expect(await messagesIn(s, s.deps.settings.dispatchTopic)).toBe(4);
    const failed = await s.store.getTask(big!);
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: { code: 'message_too_large', retryable: false, data: { limit: 65_536 } },
    });
    expect(failed?.error?.message).toMatch(/more than the 65536 bytes allowed \(KAFKA_MAX_MESSAGE_BYTES\)/);
    expect((await s.store.listEvents(big!)).map((e) => e.type)).toEqual(['created', 'queued', 'failed']);
    for (const task of await s.store.getTasks([...before, ...after])) expect(task.status).toBe('QUEUED');
  });

  it('a dispatch the broker refuses as MESSAGE_TOO_LARGE fails its task alone; the rest of its request goes out', async () => {
    const s = await setup(dialect, strictBroker);
    await s.admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: s.deps.settings.dispatchTopic,
          numPartitions: 3,
          configEntries: [{ name: 'max.message.bytes', value: String(STRICT_BYTES) }],
        },
      ],
    });
    const t = await template(s, {});
    const small = await create(
      s,
      t,
      Array.from({ length: 20 }, (_, i) => ({ n: i })),
    );
    const [big] = await create(s, t, [{ blob: 'y'.repeat(100_000) }]);
    const more = await create(
      s,
      t,
      Array.from({ length: 20 }, (_, i) => ({ n: 20 + i })),
    );
    await startRelay(s);

    await vi.waitFor(async () => expect(await s.store.listUnsentOutbox(1)).toEqual([]), WAIT);
    const failed = await s.store.getTask(big!);
    expect(failed).toMatchObject({
      status: 'FAILED',
      error: {
        code: 'message_too_large',
        data: { refused_by: expect.stringMatching(/^(MESSAGE|RECORD_LIST)_TOO_LARGE$/) },
      },
    });
    // Bisecting may re-send a neighbour that a refused request had already placed: at least once.
    expect(await messagesIn(s, s.deps.settings.dispatchTopic)).toBeGreaterThanOrEqual(40);
    for (const task of await s.store.getTasks([...small, ...more])) expect(task.status).toBe('QUEUED');
  });
});
