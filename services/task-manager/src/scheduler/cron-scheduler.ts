// Cron scheduler: one timer per live, enabled cron template; fires create QUEUED tasks; templates reload live.
import type { Cron } from 'croner';
import type { TemplateRecord } from '../store/types.js';
import type { DomainDeps } from '../domain/deps.js';
import { isCronActive, missedFireToRun, parseCron } from '../domain/cron.js';
import { fireCrons } from './cron-fire.js';
import type { Fire, FireOutcome } from './cron-fire.js';

export interface CronSchedulerOptions {
  /** How often store.templatesVersion() is polled to notice changes made by other replicas (ms). */
  pollMs?: number;
}

export interface CronScheduler {
  /** Loads every cron template, catches up missed fires (run_once) and arms the timers. */
  start(): Promise<void>;
  /** Clears every timer and waits for fires in progress. */
  stop(): Promise<void>;
  /** Re-reads every template now; concurrent calls coalesce into one reload after the running one. */
  refresh(): Promise<void>;
  /** The scheduled templates and the fire time each timer waits for (diagnostics and tests). */
  armed(): Array<{ templateId: string; nextFire: Date | null }>;
}

interface Entry {
  template: TemplateRecord;
  job: Cron;
  timer: NodeJS.Timeout | null;
  /** The fire time the timer is armed for. */
  nextFire: Date | null;
}

/** setTimeout overflows past ~24.8 days; far fires re-arm in steps of at most this. */
const MAX_TIMER_MS = 6 * 3_600_000;

export function createCronScheduler(deps: DomainDeps & CronSchedulerOptions): CronScheduler {
  const logger = deps.logger.child({ component: 'cron-scheduler' });
  const pollMs = deps.pollMs ?? 1_000;
  const entries = new Map<string, Entry>();
  const inFlight = new Set<Promise<unknown>>();
  let running = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let seenVersion: string | null = null;

  // Serialised reloads: one at a time, and a call made during a reload gets one more after it.
  let tail: Promise<void> = Promise.resolve();
  let pending: Promise<void> | null = null;

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  }

  /**
   * Only the expression and time zone decide the timer. Other changes keep the armed timer: re-arming
   * "after now" could drop a fire whose timer is due but has not run yet. Each fire re-reads the
   * template anyway, so params, policies and the rest are always current.
   */
  function sameSchedule(a: TemplateRecord, b: TemplateRecord): boolean {
    return a.cronExpression === b.cronExpression && a.cronTimezone === b.cronTimezone;
  }

  function disarm(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.nextFire = null;
  }

  /** Arms `entry` for its first fire strictly after `after`. */
  function arm(entry: Entry, after: Date): void {
    disarm(entry);
    if (!running) return;
    const next = entry.job.nextRun(after);
    if (!next) {
      logger.info({ templateId: entry.template.id }, 'cron expression has no further fire time');
      return;
    }
    entry.nextFire = next;
    setTimer(entry, next);
  }

  function setTimer(entry: Entry, fireTime: Date): void {
    const delay = fireTime.getTime() - deps.clock.now().getTime();
    entry.timer = setTimeout(() => onTimer(entry, fireTime), Math.min(Math.max(0, delay), MAX_TIMER_MS));
  }

  function onTimer(entry: Entry, fireTime: Date): void {
    entry.timer = null;
    if (!running || entries.get(entry.template.id) !== entry) return;
    // Timers may wake a little early (or a far fire was split into steps): never fire before the instant.
    if (deps.clock.now().getTime() < fireTime.getTime()) {
      setTimer(entry, fireTime);
      return;
    }
    // Arm the next fire before writing this one, so a slow write never shifts the schedule.
    arm(entry, fireTime);
    enqueue({ template: entry.template, fireTime });
  }

  /**
   * Timers that expire together (templates on the same instant) run in one timers phase; collecting
   * them until setImmediate writes them all in one unit of work instead of queueing commit after commit.
   */
  let batch: Fire[] = [];
  function enqueue(fire: Fire): void {
    batch.push(fire);
    if (batch.length === 1) setImmediate(flush);
  }

  function flush(): void {
    if (batch.length === 0) return;
    const fires = batch;
    batch = [];
    void track(fireAll(fires));
  }

  async function fireAll(fires: Fire[]): Promise<void> {
    let outcomes: FireOutcome[];
    try {
      outcomes = await fireCrons(deps, fires);
    } catch (err) {
      const [only] = fires;
      if (fires.length === 1 && only) {
        const fields = { err, templateId: only.template.id, scheduledFor: only.fireTime.toISOString() };
        logger.error(fields, 'cron fire failed');
        return;
      }
      // One template's failure (or a lock conflict with another replica) must not sink the others.
      logger.warn({ err, fires: fires.length }, 'batched cron fire failed; firing one by one');
      await Promise.all(fires.map((f) => fireAll([f])));
      return;
    }
    fires.forEach((fire, i) => report(fire, outcomes[i]));
  }

  function report({ template, fireTime }: Fire, outcome: FireOutcome | undefined): void {
    const fields = { templateId: template.id, scheduledFor: fireTime.toISOString(), outcome };
    if (outcome === 'stale') {
      logger.info(fields, 'template changed elsewhere; reloading before the next fire');
      void refresh().catch((err: unknown) => logger.error({ err }, 'template reload failed'));
    } else if (outcome === 'overlap') {
      logger.info(fields, 'cron fire skipped: the previous task is still in flight (overlap_policy skip)');
    } else {
      logger.debug(fields, 'cron fire');
    }
  }

  /** Re-reads the templates; at start-up also catches up missed fires (run_once). */
  async function reload(catchUp: boolean): Promise<void> {
    // Version first: a change that lands while we read is then seen again by the next poll.
    const version = await deps.store.templatesVersion();
    const templates = (await deps.store.listTemplates({ cronOnly: true })).filter(isCronActive);
    if (!running) return;
    seenVersion = version;
    const now = deps.clock.now();
    const live = new Set<string>();
    for (const template of templates) {
      live.add(template.id);
      const existing = entries.get(template.id);
      if (existing && sameSchedule(existing.template, template)) {
        existing.template = template;
        continue;
      }
      if (existing) disarm(existing);
      let job: Cron;
      try {
        job = parseCron(template.cronExpression ?? '', template.cronTimezone);
      } catch (err) {
        // The HTTP layer validates expressions; a bad one here came from elsewhere. Skip, don't crash.
        logger.error({ err, templateId: template.id, cron: template.cronExpression }, 'bad cron expression');
        entries.delete(template.id);
        continue;
      }
      const entry: Entry = { template, job, timer: null, nextFire: null };
      entries.set(template.id, entry);
      arm(entry, now);
      if (catchUp && !existing) await catchUpMissed(entry, now);
    }
    for (const [id, entry] of entries) {
      if (live.has(id)) continue;
      disarm(entry);
      entries.delete(id);
      logger.info({ templateId: id }, 'cron template unscheduled');
    }
  }

  async function catchUpMissed(entry: Entry, now: Date): Promise<void> {
    if (entry.template.missedFirePolicy !== 'run_once') return;
    const last = await deps.store.lastScheduledFor(entry.template.id);
    const missed = missedFireToRun(entry.job, entry.template, last, now);
    if (!missed) return;
    logger.info(
      { templateId: entry.template.id, scheduledFor: missed.toISOString() },
      'catching up a missed cron fire (missed_fire_policy run_once)',
    );
    await track(fireAll([{ template: entry.template, fireTime: missed }]));
  }

  function refresh(): Promise<void> {
    if (pending) return pending;
    const p = tail.then(() => {
      pending = null;
      return reload(false);
    });
    pending = p;
    tail = p.catch(() => {});
    return p;
  }

  function schedulePoll(): void {
    if (!running) return;
    pollTimer = setTimeout(() => void poll(), pollMs);
  }

  async function poll(): Promise<void> {
    try {
      const version = await deps.store.templatesVersion();
      if (running && version !== seenVersion) await refresh();
    } catch (err) {
      logger.error({ err }, 'template change poll failed');
    }
    schedulePoll();
  }

  return {
    async start() {
      if (running) return;
      running = true;
      const first = tail.then(() => reload(true));
      tail = first.catch(() => {});
      try {
        await first;
      } catch (err) {
        running = false;
        for (const entry of entries.values()) disarm(entry);
        entries.clear();
        throw err;
      }
      logger.info({ templates: entries.size }, 'cron scheduler started');
      schedulePoll();
    },
    async stop() {
      running = false;
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = null;
      for (const entry of entries.values()) disarm(entry);
      entries.clear();
      flush();
      await tail;
      await Promise.allSettled([...inFlight]);
    },
    refresh,
    armed() {
      return [...entries.values()].map((e) => ({ templateId: e.template.id, nextFire: e.nextFire }));
    },
  };
}
