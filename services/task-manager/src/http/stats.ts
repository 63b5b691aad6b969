// GET /stats/overview, declared beside its handler: the dashboard's first page in one request, each
// figure from one indexed query (task counts, finished per minute, workers, outbox, consumer lag).
import { overviewSchema } from '@taskwire/contracts';
import type { Overview, TaskStatus } from '@taskwire/contracts';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps } from './types.js';

const DEFAULT_WORKER_DEAD_AFTER_MS = 15_000;
/** The per-minute series covers this many minutes, the current (partial) one last. */
export const OVERVIEW_MINUTES = 60;

export const statsRoutes = defineRoutes({
  getOverview: {
    method: 'GET',
    path: '/stats/overview',
    tag: 'system',
    summary:
      'Dashboard overview: tasks by queue and status, finished per minute over the last hour, workers, outbox backlog, consumer lag',
    access: 'read',
    ok: { 200: ['The overview', overviewSchema] },
  },
});

export function statsHandlers(deps: AppDeps): Handlers<typeof statsRoutes> {
  return {
    getOverview: async (c) => {
      const now = deps.clock.now();
      const minute = Math.floor(now.getTime() / 60_000) * 60_000;
      const since = new Date(minute - (OVERVIEW_MINUTES - 1) * 60_000);
      const [stats, workers, backlog, lag] = await Promise.all([
        deps.store.taskStats(since),
        deps.store.listWorkers(),
        deps.store.countUnsentOutbox(),
        readLag(deps),
      ]);
      const deadAfter = deps.workerDeadAfterMs ?? DEFAULT_WORKER_DEAD_AFTER_MS;
      const alive = workers.filter(
        (w) => w.stoppedAt === null && now.getTime() - w.lastSeen.getTime() < deadAfter,
      ).length;
      const body: Overview = {
        at: now.toISOString(),
        counts: stats.byQueueStatus
          .map((r) => ({ queue: r.queue, status: r.status as TaskStatus, count: r.n }))
          .sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0)),
        per_minute: perMinute(stats.finishedPerMinute, since.getTime()),
        workers: { alive, dead: workers.length - alive },
        outbox_backlog: backlog,
        consumer_lag: lag === null ? null : lagPerQueue(lag),
      };
      return c.json(body);
    },
  };
}

/** Kafka may be slow or away: the overview waits at most LAG_WAIT_MS for the lag, then shows none. */
const LAG_WAIT_MS = 2_000;

async function readLag(deps: AppDeps): Promise<ReadonlyArray<{ queue: string; lag: number }> | null> {
  if (!deps.consumerLag) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), LAG_WAIT_MS);
  });
  try {
    return await Promise.race([deps.consumerLag(), timeout]);
  } catch (err) {
    deps.logger.warn({ err }, 'consumer lag unavailable for GET /stats/overview');
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** Every minute of the window, zeros included, so a chart needs no gap filling. */
export function perMinute(
  rows: ReadonlyArray<{ minute: number; status: 'COMPLETED' | 'FAILED'; n: number }>,
  since: number,
): Overview['per_minute'] {
  const out = Array.from({ length: OVERVIEW_MINUTES }, (_, i) => ({
    minute: new Date(since + i * 60_000).toISOString(),
    completed: 0,
    failed: 0,
  }));
  for (const r of rows) {
    const slot = out[Math.floor((r.minute - since) / 60_000)];
    if (!slot) continue; // finished "in the future" (clock skew between replicas): not this window's
    if (r.status === 'COMPLETED') slot.completed += r.n;
    else slot.failed += r.n;
  }
  return out;
}

function lagPerQueue(
  rows: ReadonlyArray<{ queue: string; lag: number }>,
): Array<{ queue: string; lag: number }> {
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.queue, (by.get(r.queue) ?? 0) + r.lag);
  return [...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([queue, lag]) => ({ queue, lag }));
}
