// Queue admission settings (GET/PUT /queues, pause/resume): counts per queue, limits and pausing, persisted for every replica.
import { NAME_PATTERN } from '@taskwire/contracts';
import type { QueueRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';

export interface QueueView {
  name: string;
  waiting: number;
  queued: number;
  running: number;
  maxInFlight: number | null;
  paused: boolean;
  /** The workers' group lag summed over the queue topic's partitions; null when unknown. */
  lag: number | null;
}

const namePattern = new RegExp(NAME_PATTERN);

function checkQueueName(name: string): void {
  if (!namePattern.test(name)) {
    const message = `queue ${JSON.stringify(name)} is not a queue name (${NAME_PATTERN})`;
    throw AppError.badRequest(message, [{ path: 'queue', message }]);
  }
}

/**
 * Every queue known from templates, settings and unfinished tasks, with its WAITING, QUEUED and
 * RUNNING counts (one grouped count over the admission index), its settings and its lag (`lag`:
 * per-queue sums from the consumer-lag reader, or null when Kafka is off or slow).
 */
export async function listQueues(
  deps: Pick<DomainDeps, 'store'>,
  lag: ReadonlyMap<string, number> | null,
): Promise<QueueView[]> {
  const [settings, counts, templateQueues] = await Promise.all([
    deps.store.listQueueSettings(),
    deps.store.countQueueTasks(),
    deps.store.listKnownQueues(),
  ]);
  const views = new Map<string, QueueView>();
  const view = (name: string): QueueView => {
    let v = views.get(name);
    if (!v) {
      v = {
        name,
        waiting: 0,
        queued: 0,
        running: 0,
        maxInFlight: null,
        paused: false,
        lag: lag?.get(name) ?? null,
      };
      if (lag && v.lag === null) v.lag = 0;
      views.set(name, v);
    }
    return v;
  };
  for (const name of templateQueues) view(name);
  for (const s of settings) Object.assign(view(s.name), { maxInFlight: s.maxInFlight, paused: s.paused });
  for (const c of counts) {
    const v = view(c.queue);
    if (c.status === 'WAITING') v.waiting += c.n;
    else if (c.status === 'QUEUED') v.queued += c.n;
    else if (c.status === 'RUNNING') v.running += c.n;
  }
  return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The view of one queue after a change. */
async function queueView(deps: Pick<DomainDeps, 'store'>, name: string): Promise<QueueView> {
  const all = await listQueues(deps, null);
  return all.find((q) => q.name === name)!;
}

async function change(
  deps: DomainDeps,
  name: string,
  patch: Partial<Pick<QueueRecord, 'maxInFlight' | 'paused'>>,
): Promise<QueueView> {
  checkQueueName(name);
  await deps.store.upsertQueueSettings(name, patch, deps.clock.now());
  // A raised limit or a resume frees slots here at once; other replicas pick it up at their sweep.
  deps.signals.admit?.(name);
  return queueView(deps, name);
}

/** PUT /queues/{queue}: QUEUED + RUNNING tasks allowed at once (null: unlimited). */
export function setQueueLimit(
  deps: DomainDeps,
  name: string,
  maxInFlight: number | null,
): Promise<QueueView> {
  return change(deps, name, { maxInFlight });
}

/** POST /queues/{queue}/pause: nothing new is admitted; running tasks finish. */
export function pauseQueue(deps: DomainDeps, name: string): Promise<QueueView> {
  return change(deps, name, { paused: true });
}

/** POST /queues/{queue}/resume. */
export function resumeQueue(deps: DomainDeps, name: string): Promise<QueueView> {
  return change(deps, name, { paused: false });
}
