// The live event fan-out of one manager: ONE poller over task_events for every subscriber, delivering
// events strictly in id order, and each subscriber's bounded buffer.
//
// Why one poller reading the table (not an in-process emitter): events written by other replicas on
// the same MySQL reach this replica's subscribers the same way as our own. A local write only wakes
// the poller earlier (wake()).
//
// Why a horizon with a grace period: MySQL allocates auto-increment ids at insert but transactions
// commit in any order, so a read may see id 12 while id 11 is still uncommitted. Events are delivered
// only up to the horizon — every id at or below it was delivered, or stayed missing for `gapGraceMs`
// (a rolled-back insert leaves a permanent hole). Ids above a hole wait in `pending` and the hole is
// re-read each poll. So ids on the wire only ever increase, and Last-Event-ID is a safe resume point.
// SQLite serialises writers: there, holes never fill later and the grace only adds latency to none.
//
// Why idle polls read no events: with nobody subscribed, reading every event (and waking on every
// commit) was ~7% of a busy manager's CPU for nothing. An idle poll reads only the table's end, and
// the horizon follows that end one grace late: every id at or below an end seen `gapGraceMs` ago is
// committed or given up, as advance() would decide. A first subscriber then gets a horizon at most a
// grace old (its replay reads up to it) and normal polls resume from there.
import type { Logger } from 'pino';
import type { EventFilter, Store, StreamEventRecord } from '../store/types.js';

export interface EventHubOptions {
  store: Pick<Store, 'listEventsAfter' | 'maxEventId'>;
  logger: Logger;
  /** How often to look for other replicas' events (EVENTS_POLL_MS). */
  pollMs?: number;
  /** How long a missing id may hold back later ones before it is skipped (EVENTS_GAP_GRACE_MS). */
  gapGraceMs?: number;
  /** Most events read per poll. */
  batch?: number;
  /** Most events a subscriber may have waiting; one more closes it (EVENTS_SUBSCRIBER_BUFFER). */
  bufferLimit?: number;
  now?: () => number;
}

export const DEFAULT_POLL_MS = 200;
export const DEFAULT_GAP_GRACE_MS = 3_000;
export const DEFAULT_BUFFER_LIMIT = 1_000;
const DEFAULT_BATCH = 500;
/** Ids read ahead of a hole that may wait; beyond it the poller stops reading new ids until the hole resolves. */
const MAX_PENDING = 10_000;

/** A subscriber's filters, as in GET /events/stream (absent or empty: everything). */
export type SubscriberFilter = Pick<EventFilter, 'taskIds' | 'templateIds' | 'queues' | 'types'>;

export interface Subscription {
  /** Every id ≤ this was delivered to the live fan-out before this subscription existed. */
  readonly horizon: number;
  /** Waits for the next buffered events (empty once closed). */
  next(): Promise<StreamEventRecord[]>;
  /** 'overflow' when the buffer filled, 'closed' when the hub stopped or close() was called. */
  readonly closedBy: 'overflow' | 'closed' | undefined;
  close(): void;
}

export interface EventHub {
  /** Reads the current end of task_events; subscribe() waits for it. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** This replica committed events: poll now rather than at the next tick. */
  wake(): void;
  subscribe(filter: SubscriberFilter): Promise<Subscription>;
  /** Current delivery horizon (tests, metrics). */
  horizon(): number;
  /** Events read but held back behind a missing id (tests, metrics). */
  waiting(): number;
}

export function matches(filter: SubscriberFilter, e: StreamEventRecord): boolean {
  const has = <T>(list: readonly T[] | undefined, v: T | null) =>
    list === undefined || list.length === 0 || (v !== null && list.includes(v));
  return (
    has(filter.taskIds, e.taskId) &&
    has(filter.types, e.type) &&
    has(filter.templateIds, e.templateId) &&
    has(filter.queues, e.queue)
  );
}

class Sub implements Subscription {
  buffer: StreamEventRecord[] = [];
  closedBy: 'overflow' | 'closed' | undefined;
  private waiter: (() => void) | undefined;
  constructor(
    readonly horizon: number,
    readonly filter: SubscriberFilter,
    private readonly limit: number,
    private readonly detach: (s: Sub) => void,
  ) {}

  push(e: StreamEventRecord): void {
    if (this.closedBy || !matches(this.filter, e)) return;
    if (this.buffer.length >= this.limit) {
      // A slow reader may not grow memory: drop it; it resumes with Last-Event-ID.
      this.buffer = [];
      this.end('overflow');
      return;
    }
    this.buffer.push(e);
    this.wakeReader();
  }

  async next(): Promise<StreamEventRecord[]> {
    while (this.buffer.length === 0 && !this.closedBy) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const out = this.buffer;
    this.buffer = [];
    return out;
  }

  end(by: 'overflow' | 'closed'): void {
    if (this.closedBy) return;
    this.closedBy = by;
    this.detach(this);
    this.wakeReader();
  }

  close(): void {
    this.end('closed');
  }

  private wakeReader(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

export function createEventHub(opts: EventHubOptions): EventHub {
  const { store } = opts;
  const logger = opts.logger.child({ component: 'event-hub' });
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const graceMs = opts.gapGraceMs ?? DEFAULT_GAP_GRACE_MS;
  const batch = opts.batch ?? DEFAULT_BATCH;
  const bufferLimit = opts.bufferLimit ?? DEFAULT_BUFFER_LIMIT;
  const now = opts.now ?? Date.now;

  const subs = new Set<Sub>();
  /** Read but not yet deliverable (above a hole), by id. */
  const pending = new Map<number, StreamEventRecord>();
  /** When each missing id between the horizon and maxRead was first noticed. */
  const missingSince = new Map<number, number>();
  let horizon = 0;
  let maxRead = 0;
  let started: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let again = false;
  /** While nobody subscribes: the end of task_events seen at each idle poll, oldest first. */
  const ends: { at: number; max: number }[] = [];

  async function idleOnce(): Promise<void> {
    const at = now();
    const max = await store.maxEventId();
    // A subscriber that came meanwhile holds the horizon it was given: only normal polls move it now.
    if (subs.size > 0) return;
    ends.push({ at, max });
    while (ends.length > 0 && at - ends[0]!.at >= graceMs) skipTo(ends.shift()!.max);
  }

  /** Nobody subscribed: the horizon moves to `id` without reading what lies below it. */
  function skipTo(id: number): void {
    if (id <= horizon) return;
    horizon = id;
    maxRead = Math.max(maxRead, id);
    for (const k of pending.keys()) if (k <= id) pending.delete(k);
    for (const k of missingSince.keys()) if (k <= id) missingSince.delete(k);
  }

  async function pollOnce(): Promise<void> {
    const holes = [...missingSince.keys()];
    if (holes.length > 0) {
      for (const e of await store.listEventsAfter(horizon, holes.length, { ids: holes }))
        pending.set(e.id, e);
    }
    if (pending.size < MAX_PENDING) {
      const fresh = await store.listEventsAfter(maxRead, batch);
      for (const e of fresh) pending.set(e.id, e);
      const last = fresh.at(-1);
      if (last) {
        const t = now();
        for (let id = maxRead + 1; id < last.id; id++) if (!pending.has(id)) missingSince.set(id, t);
        maxRead = last.id;
      }
      if (fresh.length === batch) again = true;
    }
    advance();
  }

  function advance(): void {
    const t = now();
    while (horizon < maxRead) {
      const id = horizon + 1;
      const e = pending.get(id);
      if (e) {
        pending.delete(id);
        missingSince.delete(id);
        horizon = id;
        for (const s of subs) s.push(e);
        continue;
      }
      const since = missingSince.get(id) ?? t;
      if (t - since < graceMs) break;
      missingSince.delete(id);
      horizon = id;
    }
  }

  function schedule(delay: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
    timer.unref();
  }

  function tick(): void {
    if (polling) {
      again = true;
      return;
    }
    again = false;
    const idle = subs.size === 0;
    if (!idle) ends.length = 0;
    polling = (idle ? idleOnce() : pollOnce())
      .catch((err: unknown) => logger.warn({ err }, 'event poll failed'))
      .finally(() => {
        polling = undefined;
        schedule(again ? 0 : pollMs);
      });
  }

  return {
    start() {
      started ??= store.maxEventId().then((max) => {
        horizon = max;
        maxRead = max;
        schedule(0);
      });
      return started;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      for (const s of [...subs]) s.close();
      await polling;
    },
    wake() {
      // Nobody to deliver to: the periodic idle poll is enough.
      if (started && !stopped && subs.size > 0) schedule(0);
    },
    async subscribe(filter) {
      await this.start();
      const s = new Sub(horizon, filter, bufferLimit, (x) => subs.delete(x));
      if (stopped) s.close();
      else {
        subs.add(s);
        // The first one after an idle spell: read what followed the horizon now.
        if (subs.size === 1) schedule(0);
      }
      return s;
    },
    horizon: () => horizon,
    waiting: () => pending.size,
  };
}
