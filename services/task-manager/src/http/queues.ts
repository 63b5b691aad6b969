// /queues routes: per-queue counts, limit, pause and resume (admission settings), declared beside their handlers.
import { queueListSchema, queueSchema, updateQueueBody } from '@taskwire/contracts';
import type { QueueResource } from '@taskwire/contracts';
import { listQueues, pauseQueue, resumeQueue, setQueueLimit } from '../domain/queues.js';
import type { QueueView } from '../domain/queues.js';
import { checkBody, compileBodySchema, readJsonObject } from './body.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps } from './types.js';

const checkUpdate = compileBodySchema(updateQueueBody);

/** How long GET /queues waits for Kafka's offsets before answering with lag null. */
const LAG_WAIT_MS = 2_000;

export const queueRoutes = defineRoutes({
  listQueues: {
    method: 'GET',
    path: '/queues',
    tag: 'queues',
    summary: 'Every queue with its waiting, queued and running counts, max_in_flight, paused and worker lag',
    access: 'read',
    ok: { 200: ['The queues', queueListSchema] },
  },
  updateQueue: {
    method: 'PUT',
    path: '/queues/:queue',
    tag: 'queues',
    summary: 'Set max_in_flight (QUEUED + RUNNING at once; null: unlimited)',
    access: 'admin',
    body: updateQueueBody,
    ok: { 200: ['The queue', queueSchema] },
  },
  pauseQueue: {
    method: 'POST',
    path: '/queues/:queue/pause',
    tag: 'queues',
    summary: 'Admit nothing new from the queue (running tasks finish; new ones wait)',
    access: 'write',
    ok: { 200: ['The queue', queueSchema] },
  },
  resumeQueue: {
    method: 'POST',
    path: '/queues/:queue/resume',
    tag: 'queues',
    summary: 'Admit from the queue again',
    access: 'write',
    ok: { 200: ['The queue', queueSchema] },
  },
});

function queueToWire(q: QueueView): QueueResource {
  return {
    name: q.name,
    waiting: q.waiting,
    queued: q.queued,
    running: q.running,
    max_in_flight: q.maxInFlight,
    paused: q.paused,
    lag: q.lag,
  };
}

async function lagByQueue(deps: AppDeps): Promise<Map<string, number> | null> {
  if (!deps.consumerLag) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), LAG_WAIT_MS);
  });
  try {
    const rows = await Promise.race([deps.consumerLag(), timeout]);
    if (!rows) return null;
    const out = new Map<string, number>();
    for (const r of rows) out.set(r.queue, (out.get(r.queue) ?? 0) + r.lag);
    return out;
  } catch (err) {
    deps.logger.warn({ err }, 'consumer lag unavailable for GET /queues');
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export function queueHandlers(deps: AppDeps): Handlers<typeof queueRoutes> {
  return {
    listQueues: async (c) => {
      const items = await listQueues(deps, await lagByQueue(deps));
      return c.json({ items: items.map(queueToWire) });
    },
    updateQueue: async (c) => {
      const body = checkBody(checkUpdate, await readJsonObject(c));
      return c.json(
        queueToWire(await setQueueLimit(deps, queueParam(c.req.param('queue')), body.max_in_flight)),
      );
    },
    pauseQueue: async (c) => c.json(queueToWire(await pauseQueue(deps, queueParam(c.req.param('queue'))))),
    resumeQueue: async (c) => c.json(queueToWire(await resumeQueue(deps, queueParam(c.req.param('queue'))))),
  };
}

/** The `:queue` path segment (always present on these routes). */
function queueParam(value: string | undefined): string {
  return value ?? '';
}
