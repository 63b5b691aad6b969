// Outbox relay: publishes committed outbox rows to Kafka in id order, then marks them sent.
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { OutboxRecord, Store } from '../store/types.js';

export interface RelayDeps {
  store: Store;
  producer: Producer;
  logger: Logger;
  clock: Clock;
  /** Rows per Kafka request (default 1000). */
  batchSize?: number;
  /** Safety-net poll when nobody wakes the relay, e.g. rows written by another replica (default 1000 ms). */
  idleMs?: number;
  /** Sent rows are deleted after this long (default 1 h). */
  keepSentMs?: number;
}

export interface Relay {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** New rows were committed: publish now instead of at the next poll. */
  wake(): void;
  /** Resolves when every row committed before the call has been published (tests, shutdown). */
  drain(): Promise<void>;
}

/**
 * One loop publishes while rows are pending and otherwise sleeps until woken. A publish failure
 * (Kafka unreachable) leaves the rows unsent and retries with capped exponential backoff; the API
 * keeps writing rows meanwhile. A crash after send and before markSent re-sends those rows: the
 * workers and the result handling are idempotent per (task id, attempt).
 */
export function createRelay(deps: RelayDeps): Relay {
  const batchSize = deps.batchSize ?? 1_000;
  const idleMs = deps.idleMs ?? 1_000;
  const keepSentMs = deps.keepSentMs ?? 3_600_000;
  const log = deps.logger.child({ component: 'outbox-relay' });
  let running = false;
  let woken = false;
  let wakeUp: (() => void) | null = null;
  let loop: Promise<void> | null = null;
  let failures = 0;
  let lastPrune = 0;
  let drainers: Array<() => void> = [];

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  async function publishOnce(): Promise<number> {
    const rows = await deps.store.listUnsentOutbox(batchSize);
    if (rows.length === 0) return 0;
    await deps.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(rows) });
    await deps.store.markOutboxSent(
      rows.map((r) => r.id as number),
      deps.clock.now(),
    );
    return rows.length;
  }

  async function run(): Promise<void> {
    while (running) {
      woken = false;
      let sent = 0;
      try {
        sent = await publishOnce();
        failures = 0;
        await maybePrune();
      } catch (err) {
        failures++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        log.warn({ err, retryInMs: delay }, 'outbox publish failed; rows stay unsent and will be retried');
        await sleep(delay);
        continue;
      }
      if (sent >= batchSize || woken) continue;
      const waiting = drainers;
      drainers = [];
      for (const resolve of waiting) resolve();
      if (!running) break;
      await sleep(idleMs);
    }
  }

  async function maybePrune(): Promise<void> {
    const now = deps.clock.now().getTime();
    if (now - lastPrune < 60_000) return;
    lastPrune = now;
    const removed = await deps.store.pruneOutbox(new Date(now - keepSentMs));
    if (removed > 0) log.debug({ removed }, 'pruned sent outbox rows');
  }

  return {
    async start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      for (const resolve of drainers) resolve();
      drainers = [];
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
    drain() {
      return new Promise<void>((resolve) => {
        drainers.push(resolve);
        woken = true;
        wakeUp?.();
      });
    },
  };
}

function groupByTopic(
  rows: OutboxRecord[],
): Array<{ topic: string; messages: Array<{ key: string; value: string }> }> {
  const byTopic = new Map<string, Array<{ key: string; value: string }>>();
  for (const row of rows) {
    let list = byTopic.get(row.topic);
    if (!list) byTopic.set(row.topic, (list = []));
    list.push({ key: row.key, value: row.payload });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
