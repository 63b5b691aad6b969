// Outbox relay: publishes committed outbox rows to Kafka in id order, then marks them sent.
import type { Message, Producer, RecordMetadata } from 'kafkajs';
import { partitionForKey } from '@taskwire/service-kit';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { DomainSettings, Signals } from '../domain/deps.js';
import { failUndeliverable } from '../domain/undeliverable.js';
import type { MetricsHooks } from '../domain/metrics-hooks.js';
import type { UndeliverableRow } from '../domain/undeliverable.js';
import type { OutboxRecord, Store } from '../store/types.js';
import { DEFAULT_MAX_MESSAGE_BYTES, isTooLargeError, messageBytes } from '@taskwire/contracts';

export interface RelayDeps {
  store: Store;
  producer: Producer;
  logger: Logger;
  clock: Clock;
  /** The domain's settings and signals: a workflow step failed as undeliverable is followed up with them. */
  settings?: DomainSettings;
  signals?: Signals;
  /** Publish latency per produce request, for GET /metrics. */
  metrics?: Pick<MetricsHooks, 'relayPublished'>;
  /** Rows read per iteration (default 1000). */
  batchSize?: number;
  /**
   * Largest message sent (KAFKA_MAX_MESSAGE_BYTES, default 900 KiB, under Kafka's 1 MiB
   * message.max.bytes). A larger row fails its task instead of being sent.
   */
  maxMessageBytes?: number;
  /**
   * Bytes of messages per Kafka request (default maxMessageBytes). kafkajs puts all of one
   * partition's messages of a request in one record batch, which the broker checks against
   * message.max.bytes, so a request within this budget can never be refused for its size.
   */
  maxRequestBytes?: number;
  /**
   * Base dispatch topic (TASK_DISPATCH_TOPIC): rows on it or on its `<topic>.<queue>` topics are
   * dispatches, whose partition and offset are recorded on their task (retention re-dispatch).
   */
  dispatchTopic?: string;
  /** Partitions of `topic`, null when unknown yet (then the row's offset is not recorded). */
  partitionCount?(topic: string): Promise<number | null>;
  /** Safety-net poll when nobody wakes the relay, e.g. rows written by another replica (default 1000 ms). */
  idleMs?: number;
  /**
   * How long published rows may wait to be marked sent: one unit of work marks every row published
   * in that time, whether more rows keep coming or the relay caught up and idles meanwhile (a
   * relay that catches up after every small create batch would otherwise pay one transaction per
   * publish). A crash in between publishes them again, which the at-least-once design allows.
   * drain() and stop() mark at once. Default 100 ms on SQLite, whose single writer commits outbox
   * ids in order; 0 (marked after each publish) on MySQL, where concurrent transactions commit out
   * of id order and the read cursor past unmarked rows would hold a late-committed row back until
   * the next mark.
   */
  markIntervalMs?: number;
  /**
   * After a publish, how long the relay waits before reading the next rows (default 0): under
   * load, rows written meanwhile go out in one produce request instead of one each. An idle relay
   * publishes a new row at once; only rows arriving right after a publish wait, at most this long.
   */
  lingerMs?: number;
  /** Who this relay is in the lease row: unique per manager process (e.g. host-pid-random). */
  owner: string;
  /**
   * How long the relay lease lasts without renewal (default 5000 ms). A crashed leader's rows
   * wait at most this long for another replica; replicas' clocks must agree well within it.
   */
  leaseMs?: number;
}

/** The lease row that elects the one publishing relay among replicas sharing the database. */
export const RELAY_LEASE = 'outbox-relay';

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
 *
 * Replicas on one database each run a relay, but only the holder of the RELAY_LEASE row
 * publishes: otherwise two relays read the same unsent rows and each dispatch goes out twice.
 * Each iteration takes or renews the lease before reading rows (one UPDATE), and a timer renews
 * it every leaseMs/3 while a publish is in flight, so a slow Kafka request does not let the lease
 * lapse mid-batch. The others poll for the lease every idleMs; stop() releases it so that one of
 * them takes over at its next poll instead of after leaseMs.
 *
 * Published rows are marked sent (with their dispatch offsets) in one unit of work once per
 * markIntervalMs, whether rows keep coming or the relay idles meanwhile (it sleeps no longer than
 * the mark is due), and at once for drain() and stop(): not one transaction per produce request.
 * Until then a cursor keeps them from being read again. A crash in between publishes them again,
 * like a crash between publish and mark always could.
 *
 * Sent rows are deleted by the retention purge (scheduler/task-purge.ts), in batches.
 */
export function createRelay(deps: RelayDeps): Relay {
  const batchSize = deps.batchSize ?? 1_000;
  const maxMessageBytes = deps.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxRequestBytes = Math.max(maxMessageBytes, deps.maxRequestBytes ?? maxMessageBytes);
  const idleMs = deps.idleMs ?? 1_000;
  const markIntervalMs = deps.markIntervalMs ?? (deps.store.dialect === 'sqlite' ? 100 : 0);
  const lingerMs = deps.lingerMs ?? 0;
  const leaseMs = deps.leaseMs ?? 5_000;
  const { owner } = deps;
  const log = deps.logger.child({ component: 'outbox-relay', owner });
  let leader = false;
  /** When this relay last took or renewed the lease (epoch ms). */
  let renewedAt = 0;
  /** The timer's last renewal, awaited before release so it cannot re-take a released lease. */
  let renewing: Promise<unknown> = Promise.resolve();
  let running = false;
  let woken = false;
  let lingering = false;
  let wakeUp: (() => void) | null = null;
  let loop: Promise<void> | null = null;
  let failures = 0;
  let drainers: Array<() => void> = [];
  /** Published, not yet marked sent: marked together by markPublished(). */
  let unmarked: Published[] = [];
  let unmarkedRows = 0;
  /** When the oldest unmarked chunk was published (epoch ms). */
  let unmarkedSince = 0;
  /**
   * The highest id published and not yet marked: the next read starts after it, so unmarked rows
   * are not read (and sent) again. 0 once everything is marked. On MySQL a row whose transaction
   * commits after a larger id was read waits behind the cursor until the next mark resets it.
   */
  let cursor = 0;

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

  /** Takes or renews the lease; logs when this relay becomes, or stops being, the active one. */
  async function holdLease(): Promise<boolean> {
    const now = deps.clock.now();
    // A lease renewed less than a third of its length ago is still good: skip the UPDATE, so a
    // relay woken for every request does not add a write to each one.
    if (leader && now.getTime() - renewedAt < leaseMs / 3) return true;
    const held = await deps.store.acquireLease(RELAY_LEASE, owner, now, leaseMs);
    if (held) renewedAt = now.getTime();
    if (held !== leader) {
      if (held) log.info({ leaseMs }, 'this replica is now the active outbox relay');
      else log.info('outbox relay lease is held by another replica; standing by');
      leader = held;
    }
    return held;
  }

  /** Marks every published chunk sent, with its dispatch offsets, in one unit of work. */
  async function markPublished(): Promise<void> {
    if (unmarked.length === 0) return;
    const chunks = unmarked;
    const offsets = chunks.flatMap((c) => c.offsets);
    await deps.store.unitOfWork(async (tx) => {
      // Each chunk keeps the time it was published as its sent_at.
      for (const c of chunks) await tx.markOutboxSent(c.ids, c.at);
      // Only while still QUEUED: a task already started no longer needs its dispatch kept.
      if (offsets.length > 0) await tx.recordDispatchOffsets(offsets);
    });
    unmarked = [];
    unmarkedRows = 0;
    cursor = 0;
  }

  /** Marks once per markIntervalMs (or per batchSize × 10 rows) rather than per publish. */
  function markDue(): boolean {
    return unmarked.length > 0 && (markWaitMs() === 0 || unmarkedRows >= batchSize * 10);
  }

  /** How long until the published rows are due to be marked (0: now). */
  function markWaitMs(): number {
    return Math.max(0, unmarkedSince + markIntervalMs - deps.clock.now().getTime());
  }

  async function publishOnce(): Promise<number> {
    const rows = await deps.store.listUnsentOutbox(batchSize, cursor > 0 ? cursor : undefined);
    if (rows.length === 0) return 0;
    const renewer = setInterval(() => {
      renewing = holdLease().catch((err: unknown) => log.warn({ err }, 'outbox relay lease renewal failed'));
    }, leaseMs / 3);
    try {
      const undeliverable: UndeliverableRow[] = [];
      const sized: Sized[] = [];
      for (const row of rows) {
        const bytes = messageBytes(row.key, row.payload);
        if (bytes > maxMessageBytes)
          undeliverable.push({ row, bytes, limit: maxMessageBytes, refusedBy: 'KAFKA_MAX_MESSAGE_BYTES' });
        else sized.push({ row, bytes });
      }
      for (const chunk of chunksByBytes(sized, maxRequestBytes)) {
        await sendChunk(chunk, undeliverable);
      }
      // After the sent rows: a transient failure above leaves these for the next iteration too.
      await failUndeliverable(deps, undeliverable);
    } finally {
      clearInterval(renewer);
    }
    return rows.length;
  }

  /**
   * Sends one chunk and marks it sent. When Kafka refuses it as too large (its limit may be lower
   * than ours), the chunk is halved until the refused message is alone; that one is set aside as
   * undeliverable and the rest goes out. Any other error propagates: the rows stay unsent.
   */
  async function sendChunk(chunk: Sized[], undeliverable: UndeliverableRow[]): Promise<void> {
    const placed = await place(chunk.map((c) => c.row));
    let sent: RecordMetadata[];
    try {
      const began = performance.now();
      sent = await deps.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(placed) });
      deps.metrics?.relayPublished(placed.length, (performance.now() - began) / 1000);
    } catch (err) {
      const tooLarge = isTooLargeError(err);
      if (!tooLarge) throw err;
      if (chunk.length === 1) {
        const { row, bytes } = chunk[0]!;
        undeliverable.push({
          row,
          bytes,
          limit: null,
          refusedBy: tooLarge,
        });
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await sendChunk(chunk.slice(0, half), undeliverable);
      await sendChunk(chunk.slice(half), undeliverable);
      return;
    }
    const ids = chunk.map((c) => c.row.id as number);
    const now = deps.clock.now();
    if (unmarked.length === 0) unmarkedSince = now.getTime();
    unmarked.push({ ids, at: now, offsets: dispatchOffsets(placed, sent) });
    unmarkedRows += ids.length;
    for (const id of ids) if (id > cursor) cursor = id;
  }

  const isDispatch = (topic: string): boolean =>
    deps.dispatchTopic !== undefined &&
    (topic === deps.dispatchTopic || (topic.startsWith(`${deps.dispatchTopic}.`) && !topic.endsWith('.dlq')));

  /**
   * Dispatch rows get the partition kafkajs' default partitioner would pick for their key, set
   * explicitly, so that the offsets in the produce response can be matched to their tasks.
   */
  async function place(rows: readonly OutboxRecord[]): Promise<Placed[]> {
    // Per topic of this batch: its partition count, null when unknown.
    const partitionsOf = new Map<string, number | null>();
    const placed: Placed[] = [];
    for (const row of rows) {
      let partition: number | null = null;
      if (deps.partitionCount && isDispatch(row.topic)) {
        let count = partitionsOf.get(row.topic);
        if (count === undefined) {
          count = (await deps.partitionCount(row.topic)) || null;
          partitionsOf.set(row.topic, count);
        }
        if (count) partition = partitionForKey(row.key, count);
      }
      placed.push({ row, partition });
    }
    return placed;
  }

  function resolveDrainers(): void {
    const waiting = drainers;
    drainers = [];
    for (const resolve of waiting) resolve();
  }

  async function run(): Promise<void> {
    while (running) {
      woken = false;
      let sent = 0;
      try {
        if (!(await holdLease())) {
          // Another replica publishes; the rows are not ours to wait for. Ours published before are marked.
          await markPublished();
          failures = 0;
          resolveDrainers();
          if (!running) break;
          await sleep(idleMs);
          continue;
        }
        sent = await publishOnce();
        // Once per interval, also when caught up (the idle sleep below ends when the mark is due);
        // at once for a drain().
        if (markDue() || (sent === 0 && drainers.length > 0)) await markPublished();
        failures = 0;
      } catch (err) {
        failures++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        log.warn({ err, retryInMs: delay }, 'outbox publish failed; rows stay unsent and will be retried');
        // Kafka may be away while the database is not: what did go out is marked meanwhile.
        await markPublished().catch(() => undefined);
        await sleep(delay);
        continue;
      }
      if (sent >= batchSize) continue;
      if (sent > 0) {
        // Read again (finding nothing, it idles until the mark is due); after a linger, rows that
        // came meanwhile go out together.
        if (lingerMs > 0 && running) {
          lingering = true;
          await sleep(lingerMs);
          lingering = false;
        }
        continue;
      }
      if (woken) continue;
      resolveDrainers();
      if (!running) break;
      await sleep(unmarked.length > 0 ? Math.min(idleMs, markWaitMs()) : idleMs);
    }
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
      try {
        await markPublished();
      } catch (err) {
        log.warn(
          { err, rows: unmarkedRows },
          'could not mark published outbox rows sent; they will be sent again',
        );
      }
      resolveDrainers();
      await renewing;
      if (leader) {
        leader = false;
        try {
          await deps.store.releaseLease(RELAY_LEASE, owner);
          log.info('released the outbox relay lease');
        } catch (err) {
          log.warn({ err, leaseMs }, 'could not release the outbox relay lease; it expires on its own');
        }
      }
    },
    wake() {
      woken = true;
      // A lingering relay reads when its linger ends: that is what the linger is for.
      if (!lingering) wakeUp?.();
    },
    /** On a replica that does not hold the lease this resolves at its next poll: the holder publishes. */
    drain() {
      return new Promise<void>((resolve) => {
        drainers.push(resolve);
        woken = true;
        wakeUp?.();
      });
    },
  };
}

/** One published chunk waiting to be marked sent. */
interface Published {
  ids: number[];
  /** When it was published: its rows' sent_at. */
  at: Date;
  offsets: DispatchOffset[];
}

type DispatchOffset = { taskId: string; partition: number; offset: number };

interface Placed {
  row: OutboxRecord;
  /** Set for dispatch rows whose topic's partition count is known. */
  partition: number | null;
}

/** Each placed dispatch's offset: its partition's baseOffset plus its rank among that partition's messages. */
function dispatchOffsets(placed: readonly Placed[], sent: readonly RecordMetadata[]): DispatchOffset[] {
  const base = new Map<string, number>();
  for (const r of sent)
    if (r.baseOffset !== undefined) base.set(`${r.topicName}/${r.partition}`, Number(r.baseOffset));
  const rank = new Map<string, number>();
  const out: DispatchOffset[] = [];
  for (const p of placed) {
    if (p.partition === null) continue;
    const key = `${p.row.topic}/${p.partition}`;
    const first = base.get(key);
    const n = rank.get(key) ?? 0;
    rank.set(key, n + 1);
    if (first !== undefined && first >= 0)
      out.push({ taskId: p.row.key, partition: p.partition, offset: first + n });
  }
  return out;
}

interface Sized {
  row: OutboxRecord;
  bytes: number;
}

/** Consecutive runs of rows whose bytes add up to at most `budget` (a larger row goes alone). */
function chunksByBytes(rows: readonly Sized[], budget: number): Sized[][] {
  const chunks: Sized[][] = [];
  let current: Sized[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (current.length > 0 && bytes + r.bytes > budget) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += r.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function groupByTopic(rows: readonly Placed[]): Array<{ topic: string; messages: Message[] }> {
  const byTopic = new Map<string, Message[]>();
  for (const { row, partition } of rows) {
    let list = byTopic.get(row.topic);
    if (!list) byTopic.set(row.topic, (list = []));
    list.push(
      partition === null
        ? { key: row.key, value: row.payload }
        : { key: row.key, value: row.payload, partition },
    );
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
