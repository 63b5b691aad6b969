// Admission loop: admits WAITING tasks of the queues signalled (slot freed, tasks waiting, limit raised), plus a periodic sweep of every queue with WAITING tasks.
import { admitQueue } from '../domain/admission.js';
import type { DomainDeps } from '../domain/deps.js';

export interface AdmissionLoopOptions {
  /**
   * Sweep interval (ms): the safety net for slots freed on another replica (which signals only its
   * own loop) and for a signal lost to a failed pass.
   */
  sweepMs?: number;
}

export interface AdmissionLoop {
  start(): void;
  /** Clears the timer and waits for a pass in progress. */
  stop(): Promise<void>;
  /** Admit in `queue` (for `keys` only, when given) soon (coalesced with other wake-ups). */
  wake(queue: string, keys?: readonly string[]): void;
  /** Admits in every queue with WAITING tasks now; resolves with how many were admitted. */
  sweep(): Promise<number>;
}

export function createAdmissionLoop(deps: DomainDeps & AdmissionLoopOptions): AdmissionLoop {
  const logger = deps.logger.child({ component: 'admission' });
  const sweepMs = deps.sweepMs ?? 1_000;
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  /** Queues to admit in: the keys whose slots freed, or null for the whole queue. */
  const dirty = new Map<string, Set<string> | null>();
  let draining: Promise<void> | null = null;

  async function admitAll(queues: Iterable<[string, Set<string> | null]>): Promise<number> {
    let total = 0;
    for (const [q, keys] of queues) {
      try {
        total += await admitQueue(deps, q, 20, keys === null ? undefined : [...keys]);
      } catch (err) {
        logger.error({ err, queue: q }, 'admission pass failed; the next sweep retries');
      }
    }
    return total;
  }

  function drain(): void {
    if (draining || !running) return;
    draining = (async () => {
      while (running && dirty.size > 0) {
        const queues = [...dirty];
        dirty.clear();
        const n = await admitAll(queues);
        if (n > 0) logger.debug({ admitted: n, queues: queues.map(([q]) => q) }, 'waiting tasks admitted');
      }
    })().finally(() => {
      draining = null;
      if (dirty.size > 0) drain();
    });
  }

  async function sweep(): Promise<number> {
    return admitAll((await deps.store.listWaitingQueues()).map((q) => [q, null]));
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = null;
      sweep()
        .catch((err: unknown) => {
          logger.error({ err }, 'admission sweep failed');
          return 0;
        })
        .finally(schedule);
    }, sweepMs);
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await draining;
    },
    wake(queue, keys) {
      const known = dirty.get(queue);
      if (keys === undefined || known === null) dirty.set(queue, null);
      else if (known === undefined) dirty.set(queue, new Set(keys));
      else for (const k of keys) known.add(k);
      drain();
    },
    sweep,
  };
}
