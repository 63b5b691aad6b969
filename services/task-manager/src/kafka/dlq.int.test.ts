// Integration: dead letters indexed from the <topic>.dlq topics, GET /dlq and POST /dlq/replay over the real pipeline (SQLite and MariaDB, dev broker and real Kafka).
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { randomName } from '@taskwire/testkit';
import { DLQ_HEADERS, dlqTopicFor } from '@taskwire/contracts';
import type { DispatchMessage } from '@taskwire/contracts';
import type { KafkaMessage } from 'kafkajs';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import type { DomainDeps } from '../domain/deps.js';
import { createApp } from '../http/app.js';
import { createManagerMetrics } from '../metrics/index.js';
import type { Store } from '../store/index.js';
import type { DeadLetterRecord } from '../store/types.js';
import { useCleanups, useKafkaBed } from '../testing/kafka.js';
import { resultFor, seedTask, templateAt } from '../testing/seed.js';
import { DIALECTS, openTestStore } from '../testing/stores.js';
import type { Dialect } from '../testing/stores.js';
import { createDlqIndexer } from './dlq-indexer.js';
import { createManagerKafka } from './index.js';

const logger = pino({ level: 'silent' });
const WAIT = { timeout: 60_000, interval: 100 };

const bed = useKafkaBed();
const cleanups = useCleanups();

async function openStore(dialect: Dialect): Promise<Store> {
  const { store, cleanup } = await openTestStore(dialect);
  cleanups.push(cleanup);
  await store.migrate();
  return store;
}

function randomTopics() {
  const base = randomName('t');
  return {
    dispatch: `${base}-dispatch`,
    results: `${base}-results`,
    control: `${base}-control`,
    heartbeats: `${base}-heartbeats`,
  };
}

/** A whole manager's Kafka side (relay, result consumer, DLQ indexer) and its HTTP app on `store`. */
async function startManager(store: Store) {
  const topics = randomTopics();
  const metrics = createManagerMetrics({ logger });
  const deps: DomainDeps = {
    store,
    clock: systemClock,
    logger,
    settings: {
      dispatchTopic: topics.dispatch,
      controlTopic: topics.control,
      resultTopic: topics.results,
      heartbeatTopic: topics.heartbeats,
    },
    signals: noSignals,
    metrics,
  };
  const resultGroupId = randomName('results-group');
  const kafka = createManagerKafka(deps, {
    brokers: [bed.broker.brokers],
    topics,
    resultGroupId,
    dlqRefreshMs: 500,
    partitions: 1,
    sessionTimeoutMs: 6_000,
  });
  deps.signals = { ...noSignals, outboxWritten: () => kafka.relay.wake() };
  for (const c of kafka.components) await c.start();
  cleanups.push(async () => {
    for (const c of [...kafka.components].reverse()) await c.stop();
  });
  // Kafka components start in the background: ready once the indexer reads the four DLQ topics.
  await vi.waitFor(() => expect(kafka.dlqIndexer.topics()).toHaveLength(4), WAIT);
  const app = createApp({ ...deps, metricsRegistry: metrics });
  const request = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  return { topics, deps, kafka, metrics, request, resultGroupId };
}

/** Waits until `groupId` has committed every message of `topic` (a consumer has seen them all). */
async function consumedAll(groupId: string, topic: string): Promise<void> {
  await vi.waitFor(async () => {
    const high = await bed.admin.fetchTopicOffsets(topic);
    const [committed] = await bed.admin.fetchOffsets({ groupId, topics: [topic] });
    for (const p of high) {
      const c = committed!.partitions.find((x) => x.partition === p.partition);
      expect(Number(c?.offset ?? -1)).toBe(Number(p.high));
    }
  }, WAIT);
}

describe.each(DIALECTS)('dead letters on %s', (dialect) => {
  it('a poison result is indexed and listed; replayed fixed it completes the task once, replayed again it changes nothing', async () => {
    const store = await openStore(dialect);
    const m = await startManager(store);
    const at = new Date();
    const task = await seedTask(store, templateAt(at), at, { status: 'RUNNING', workerId: 'w1' });
    const good = resultFor(task, Date.now(), { result: { n: 1 } });
    // attempt 0 fails the result schema: the result consumer dead-letters it.
    await bed.producer.send({
      topic: m.topics.results,
      messages: [{ key: task.id, value: JSON.stringify({ ...good, attempt: 0 }) }],
    });

    const listed = await vi.waitFor(async () => {
      const res = await m.request('GET', '/dlq');
      expect(res.body.items).toHaveLength(1);
      return res.body;
    }, WAIT);
    const [letter] = listed.items;
    expect(letter).toMatchObject({
      topic: dlqTopicFor(m.topics.results),
      partition: 0,
      offset: 0,
      source_topic: m.topics.results,
      source_partition: expect.any(Number),
      source_offset: 0,
      key: task.id,
      message: { ...good, attempt: 0 },
      raw: null,
      truncated: false,
      replays: [],
    });
    expect(letter.reason).toMatch(/attempt/);
    expect(listed.next_cursor).toBeNull();
    expect((await m.request('GET', `/dlq?source_topic=${m.topics.results}`)).body.items).toHaveLength(1);
    expect((await m.request('GET', `/dlq?topic=${m.topics.dispatch}.dlq`)).body.items).toHaveLength(0);
    expect((await m.request('GET', '/dlq?reason=attempt')).body.items).toHaveLength(1);
    expect((await m.request('GET', '/dlq?reason=nothing-like-this')).body.items).toHaveLength(0);
    expect(await m.metrics.render()).toMatch(
      new RegExp(`taskwire_dlq_indexed_total\\{topic="${dlqTopicFor(m.topics.results)}"\\} 1`),
    );

    const coords = { topic: letter.topic, partition: 0, offset: 0 };
    // As it was, it fails its schema again: refused, naming the field.
    const asIs = await m.request('POST', '/dlq/replay', coords);
    expect(asIs.status).toBe(400);
    expect(asIs.body.error.details).toContainEqual(expect.objectContaining({ path: '/message/attempt' }));
    // An edit that is still wrong: 400 naming the field; nothing replayed.
    const bad = await m.request('POST', '/dlq/replay', { ...coords, message: { ...good, attempt: 'one' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
    expect(bad.body.error.message).toContain('message.attempt');
    expect(bad.body.error.details).toContainEqual(expect.objectContaining({ path: '/message/attempt' }));
    const unknown = await m.request('POST', '/dlq/replay', { ...coords, offset: 99 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('@99');
    expect(await store.countUnsentOutbox()).toBe(0);

    const fixed = await m.request('POST', '/dlq/replay', { ...coords, message: good, by: 'ops' });
    expect(fixed.status).toBe(200);
    expect(fixed.body.items).toEqual([
      { ...coords, target_topic: m.topics.results, replayed_at: expect.any(String), edited: true },
    ]);
    await vi.waitFor(async () => expect((await store.getTask(task.id))?.status).toBe('COMPLETED'), WAIT);
    // Replayed a second time: the result is applied idempotently (same task id and attempt).
    expect((await m.request('POST', '/dlq/replay', { items: [{ ...coords, message: good }] })).status).toBe(
      200,
    );
    await vi.waitFor(async () => expect(await store.countUnsentOutbox()).toBe(0), WAIT);
    await consumedAll(m.resultGroupId, m.topics.results);

    const after = await store.getTask(task.id);
    expect(after).toMatchObject({ status: 'COMPLETED', result: { n: 1 } });
    const events = await store.listEvents(task.id);
    expect(events.filter((e) => e.type === 'succeeded')).toHaveLength(1);
    const replays = (await m.request('GET', '/dlq')).body.items[0].replays;
    expect(replays).toEqual([
      { at: expect.any(String), by: 'ops', target_topic: m.topics.results, edited: true },
      { at: expect.any(String), by: null, target_topic: m.topics.results, edited: true },
    ]);
    expect(await m.metrics.render()).toMatch(
      new RegExp(`taskwire_dlq_replays_total\\{topic="${dlqTopicFor(m.topics.results)}"\\} 2`),
    );
  });

  it('a dispatch a worker dead-lettered, fixed and replayed, goes back to its queue topic with its key', async () => {
    const store = await openStore(dialect);
    const m = await startManager(store);
    const queueTopic = `${m.topics.dispatch}.q1`;
    await bed.admin.createTopics({
      waitForLeaders: true,
      topics: [queueTopic, dlqTopicFor(queueTopic)].map((topic) => ({ topic, numPartitions: 1 })),
    });
    const dispatch: DispatchMessage = {
      v: 1,
      task_id: '01JTESTTASK0000000000000001',
      attempt: 1,
      template_id: '01JTESTTEMPLATE00000000001',
      template_name: 'x',
      executor: 'echo',
      queue: 'q1',
      params: {},
      param_schema: null,
      timeout_ms: 1000,
      deadline: Date.now() + 60_000,
      queued_at: Date.now(),
    };
    // As a worker dead-letters one: the original key and value, the reason and origin in headers.
    await bed.producer.send({
      topic: dlqTopicFor(queueTopic),
      messages: [
        {
          key: dispatch.task_id,
          value: JSON.stringify({ ...dispatch, executor: '' }),
          headers: {
            [DLQ_HEADERS.reason]: 'dispatch message: /executor must NOT have fewer than 1 characters',
            [DLQ_HEADERS.topic]: queueTopic,
            [DLQ_HEADERS.partition]: '0',
            [DLQ_HEADERS.offset]: '7',
          },
        },
      ],
    });
    // A DLQ topic created after start: the indexer's refresh picks it up.
    await vi.waitFor(async () => {
      const res = await m.request('GET', `/dlq?topic=${dlqTopicFor(queueTopic)}`);
      expect(res.body.items).toHaveLength(1);
    }, WAIT);
    const coords = { topic: dlqTopicFor(queueTopic), partition: 0, offset: 0 };
    const missing = await m.request('POST', '/dlq/replay', {
      items: [{ ...coords, message: { ...dispatch, deadline: undefined } }],
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toContainEqual(
      expect.objectContaining({ path: '/items/0/message/deadline' }),
    );
    expect((await m.request('POST', '/dlq/replay', { ...coords, message: dispatch })).status).toBe(200);

    const seen: KafkaMessage[] = [];
    const consumer = bed.kafka.consumer({ groupId: randomName('reader') });
    cleanups.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topics: [queueTopic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
    await vi.waitFor(() => expect(seen).toHaveLength(1), WAIT);
    expect(seen[0]!.key?.toString()).toBe(dispatch.task_id);
    expect(JSON.parse(seen[0]!.value!.toString())).toEqual(dispatch);
  });

  it('an indexer that dies between the insert and the offset commit indexes each dead letter once', async () => {
    const store = await openStore(dialect);
    const topics = randomTopics();
    const dlq = dlqTopicFor(topics.results);
    await bed.admin.createTopics({ waitForLeaders: true, topics: [{ topic: dlq, numPartitions: 1 }] });
    await bed.producer.send({
      topic: dlq,
      messages: Array.from({ length: 5 }, (_, i) => ({
        key: `k${i}`,
        value: i % 2 ? `not json ${i}` : '{}',
      })),
    });
    const groupId = randomName('dlq-group');
    const batches: Array<readonly DeadLetterRecord[]> = [];
    const indexer = createDlqIndexer({
      domain: {
        store,
        clock: systemClock,
        logger,
        settings: { dispatchTopic: 'd', controlTopic: 'c' },
        signals: noSignals,
      },
      kafka: bed.kafka,
      admin: bed.admin,
      groupId,
      topics,
      sessionTimeoutMs: 6_000,
      afterInsert: async (rows) => {
        batches.push(rows);
        // The first batch is stored, then the "crash": its offset is never resolved or committed.
        if (batches.length === 1) throw new Error('crash after the insert');
      },
    });
    cleanups.push(() => indexer.stop());
    await indexer.start();
    await consumedAll(groupId, dlq);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches[1]![0]!.offset).toBe(0); // redelivered from the start
    const rows = await store.listDeadLetters({ limit: 100 });
    expect(rows.map((r) => r.offset).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(rows.find((r) => r.offset === 1)).toMatchObject({
      value: 'not json 1',
      reason: null,
      sourceTopic: null,
    });
  });
});
