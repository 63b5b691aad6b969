// Retention sweep: re-dispatches QUEUED tasks whose dispatch message Kafka deleted unread (offset below the log start).
import type { Admin } from 'kafkajs';
import { DEFAULT_QUEUE, dispatchTopicFor } from '@taskwire/contracts';
import type { DomainDeps } from '../domain/deps.js';
import { redispatchLost } from '../domain/dispatch.js';
import { periodic } from '../scheduler/periodic.js';

export interface RetentionSweepDeps {
  domain: DomainDeps;
  /** A connected kafkajs admin (fetchTopicOffsets: each partition's low watermark). */
  admin: Admin;
  /** Time between sweeps (default 30 s): retention works in hours, a poll is plenty. */
  intervalMs?: number;
  /**
   * Only tasks queued longer ago than this (default 60 s) count: a worker that has just read the
   * message before retention dropped it reports `started` within this time.
   */
  minAgeMs?: number;
  /** Tasks per store query and unit of work (default 500). */
  batchSize?: number;
}

export interface RetentionSweep {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One full sweep now (tests); resolves with how many tasks were dispatched again. */
  runOnce(): Promise<number>;
}

/**
 * For every queue's dispatch topic (the queues of the templates, and `default`), compares each
 * partition's log start offset with the dispatch offsets the relay recorded on QUEUED tasks. A
 * task below it can never be read by a worker: it is dispatched again with the same attempt.
 */
export function createRetentionSweep(deps: RetentionSweepDeps): RetentionSweep {
  const { domain, admin } = deps;
  const log = domain.logger.child({ component: 'retention-sweep' });
  const intervalMs = deps.intervalMs ?? 30_000;
  const minAgeMs = deps.minAgeMs ?? 60_000;
  const limit = deps.batchSize ?? 500;

  async function sweepTopic(queue: string): Promise<number> {
    const topic = dispatchTopicFor(domain.settings.dispatchTopic, queue);
    let partitions: Array<{ partition: number; low: string }>;
    try {
      partitions = await admin.fetchTopicOffsets(topic);
    } catch (err) {
      // A queue nobody has dispatched to yet has no topic: nothing can be lost there.
      log.debug({ err, topic }, 'no offsets for dispatch topic');
      return 0;
    }
    let total = 0;
    for (const { partition, low } of partitions) {
      const belowOffset = Number(low);
      if (!(belowOffset > 0)) continue;
      for (;;) {
        const queuedBefore = new Date(domain.clock.now().getTime() - minAgeMs);
        const lost = await domain.store.listLostDispatches({
          queue,
          partition,
          belowOffset,
          queuedBefore,
          limit,
        });
        if (lost.length === 0) break;
        const n = await redispatchLost(domain, lost);
        total += n;
        if (lost.length < limit || n === 0) break;
      }
    }
    return total;
  }

  async function sweep(): Promise<number> {
    const queues = new Set([DEFAULT_QUEUE, ...(await domain.store.listTemplates()).map((t) => t.queue)]);
    let total = 0;
    for (const queue of queues) total += await sweepTopic(queue);
    if (total > 0)
      log.warn({ redispatched: total }, 'dispatched again tasks whose messages retention deleted');
    return total;
  }

  const loop = periodic({
    intervalMs,
    pass: sweep,
    onError: (err) => log.warn({ err }, 'retention sweep failed; trying again at the next interval'),
    unref: true,
  });
  return {
    async start() {
      loop.start();
    },
    stop: () => loop.stop(),
    runOnce: () => loop.runOnce(),
  };
}
