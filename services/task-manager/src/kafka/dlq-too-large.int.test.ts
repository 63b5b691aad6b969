// Integration: a result whose dead letter Kafka refuses as too large goes to the DLQ cut down, is indexed as truncated, and its replay is refused (dev broker and real Kafka).
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { randomName } from '@taskwire/testkit';
import { DLQ_HEADERS, dlqTopicFor } from '@taskwire/contracts';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import type { DomainDeps } from '../domain/deps.js';
import { createApp } from '../http/app.js';
import type { Store } from '../store/index.js';
import { useCleanups, useKafkaBed } from '../testing/kafka.js';
import { DIALECTS, openTestStore } from '../testing/stores.js';
import type { Dialect } from '../testing/stores.js';
import { createManagerKafka } from './index.js';

/**
 * Bytes a record batch may take: on the dev broker every batch (maxBatchBytes), on real Kafka the
 * results DLQ topic (max.message.bytes; the dev broker ignores it). A one-record batch is its key,
 * value and headers plus ~70 bytes of framing: the result below (VALUE_BYTES) fits with ~25 bytes
 * to spare, its dead letter (the same plus the x-dlq-* headers, well over 100 bytes) does not.
 */
const LIMIT = 2_048;
const KEY = 'poison';
const VALUE_BYTES = LIMIT - 100;

const logger = pino({ level: 'silent' });
const WAIT = { timeout: 30_000, interval: 100 };

const bed = useKafkaBed({ dev: { maxBatchBytes: LIMIT } });
const cleanups = useCleanups();

async function openStore(dialect: Dialect): Promise<Store> {
  const { store, cleanup } = await openTestStore(dialect);
  cleanups.push(cleanup);
  await store.migrate();
  return store;
}

/** A whole manager's Kafka side (default KAFKA_MAX_MESSAGE_BYTES) and its HTTP app on `store`. */
async function startManager(store: Store) {
  const base = randomName('t');
  const topics = {
    dispatch: `${base}-dispatch`,
    results: `${base}-results`,
    control: `${base}-control`,
    heartbeats: `${base}-heartbeats`,
  };
  await bed.admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: dlqTopicFor(topics.results),
        numPartitions: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }],
      },
    ],
  });
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
  for (const c of kafka.components) await c.start();
  cleanups.push(async () => {
    for (const c of [...kafka.components].reverse()) await c.stop();
  });
  await vi.waitFor(() => expect(kafka.dlqIndexer.topics()).toHaveLength(4), WAIT);
  const app = createApp(deps);
  const request = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  return { topics, request, resultGroupId };
}

describe.each(DIALECTS)('a result too large for the DLQ on %s', (dialect) => {
  it('is dead-lettered cut down and indexed as truncated, its partition moves on, and its replay is refused naming the source', async () => {
    const store = await openStore(dialect);
    const m = await startManager(store);
    // Not JSON: the result consumer dead-letters it; Kafka takes it on the results topic, not on its DLQ.
    const poison = 'x'.repeat(VALUE_BYTES);
    await bed.producer.send({ topic: m.topics.results, acks: -1, messages: [{ key: KEY, value: poison }] });

    // The result group commits past it (before: the DLQ publish failed, the batch was redelivered for ever).
    await vi.waitFor(async () => {
      const [committed] = await bed.admin.fetchOffsets({
        groupId: m.resultGroupId,
        topics: [m.topics.results],
      });
      expect(Number(committed?.partitions[0]?.offset ?? -1)).toBe(1);
    }, WAIT);
    const letter = await vi.waitFor(async () => {
      const res = await m.request('GET', '/dlq');
      expect(res.body.items).toHaveLength(1);
      return res.body.items[0];
    }, WAIT);
    expect(letter).toMatchObject({
      topic: dlqTopicFor(m.topics.results),
      source_topic: m.topics.results,
      source_partition: 0,
      source_offset: 0,
      key: KEY,
      message: null,
      truncated: true,
      headers: { [DLQ_HEADERS.truncated]: 'true', [DLQ_HEADERS.originalBytes]: String(VALUE_BYTES) },
    });
    expect(letter.reason).toMatch(/JSON/i);
    expect(letter.size_bytes).toBeLessThan(VALUE_BYTES);
    expect(letter.size_bytes).toBeGreaterThan(0);
    expect(poison.startsWith(letter.raw)).toBe(true);

    const res = await m.request('POST', '/dlq/replay', {
      topic: letter.topic,
      partition: 0,
      offset: letter.offset,
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('cut-down copy');
    expect(res.body.error.message).toContain(`${m.topics.results}/0@0`);
    expect(await store.countUnsentOutbox()).toBe(0);
  });
});
