// Cron helpers over croner: validate an expression + time zone, list fire times, find a missed fire.
import { Cron } from 'croner';
import type { ErrorDetail } from '@taskwire/contracts';
import type { TemplateRecord } from '../store/types.js';
import { AppError } from './errors.js';

/** Time zone used when a template has no cron_timezone: stored times are UTC, so fires are too. */
export const DEFAULT_CRON_TIMEZONE = 'UTC';

/** Upper bound on fire times walked when looking for the latest missed fire (runaway guard). */
const MAX_WALK = 100_000;

function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A paused croner job for `expr` in `tz` (never schedules anything itself). Throws croner's
 * TypeError/RangeError on a bad pattern; prefer {@link validateCron} for user input.
 */
export function parseCron(expr: string, tz: string | null | undefined): Cron {
  return new Cron(expr, { paused: true, timezone: tz ?? DEFAULT_CRON_TIMEZONE, legacyMode: true });
}

/**
 * Every problem with a cron expression and time zone, as error details naming the field and the
 * value (empty when both are fine). Accepts 5 fields (minute precision) or 6 (with seconds first)
 * and croner's nicknames (@hourly, @daily…). An expression that can never fire is a problem too.
 */
export function cronProblems(expr: string, tz: string | null | undefined): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const tzOk = tz === null || tz === undefined || isKnownTimeZone(tz);
  if (!tzOk) {
    problems.push({
      path: '/cron_timezone',
      message: `cron_timezone ${JSON.stringify(tz)} is not a known IANA time zone (e.g. "Europe/Paris", "UTC")`,
    });
  }
  if (typeof expr !== 'string' || expr.trim() === '') {
    problems.push({ path: '/cron_expression', message: `cron_expression ${JSON.stringify(expr)} is empty` });
    return problems;
  }
  let job: Cron;
  try {
    job = parseCron(expr, tzOk ? tz : DEFAULT_CRON_TIMEZONE);
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern:\s*/, '');
    problems.push({
      path: '/cron_expression',
      message: `cron_expression ${JSON.stringify(expr)} is invalid: ${reason}`,
    });
    return problems;
  }
  if (job.nextRun() === null) {
    problems.push({
      path: '/cron_expression',
      message: `cron_expression ${JSON.stringify(expr)} never fires`,
    });
  }
  return problems;
}

/** Throws AppError('bad_request') naming the bad field and value; returns nothing when valid. */
export function validateCron(expr: string, tz: string | null | undefined): void {
  const problems = cronProblems(expr, tz);
  if (problems.length > 0) {
    throw AppError.badRequest(problems.map((p) => p.message).join('; '), problems);
  }
}

/** The next `n` fire times strictly after `from` (default: now), in UTC Dates. */
export function nextFireTimes(
  expr: string,
  tz: string | null | undefined,
  n: number,
  from: Date = new Date(),
): Date[] {
  if (n <= 0) return [];
  return parseCron(expr, tz).nextRuns(n, from);
}

/** The first fire time strictly after `from`, or null if the expression never fires again. */
export function nextFireTime(job: Cron, from: Date): Date | null {
  return job.nextRun(from);
}

/**
 * The latest fire time in the open interval (`after`, `before`), or null. Used by the
 * `run_once` missed-fire policy. croner only walks forwards, so we look back over growing windows
 * (a minute, an hour, a day, …) and walk each forward: the first window that holds a fire gives the
 * answer without walking a whole outage fire by fire.
 */
export function latestFireBetween(job: Cron, after: Date, before: Date): Date | null {
  const windowsMs = [60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 366 * 86_400_000, 5 * 366 * 86_400_000];
  const end = before.getTime();
  for (const w of windowsMs) {
    const from = Math.max(after.getTime(), end - w);
    let latest: Date | null = null;
    let cursor = job.nextRun(new Date(from));
    for (let i = 0; cursor !== null && cursor.getTime() < end && i < MAX_WALK; i++) {
      latest = cursor;
      cursor = job.nextRun(cursor);
    }
    if (latest !== null) return latest;
    if (from === after.getTime()) return null;
  }
  return null;
}

/** Whether a template takes part in cron scheduling right now. */
export function isCronActive(t: TemplateRecord): boolean {
  return t.enabled && t.deletedAt === null && t.cronExpression !== null && t.cronExpression.trim() !== '';
}

/**
 * The missed fire to catch up at start-up, or null. `skip` never catches up. `run_once` runs the most
 * recent fire time that was due while no manager ran: after the template's last cron task (or its
 * creation, whichever is later) and strictly before `now`. Earlier missed fires are dropped, so
 * an outage of a day yields one task, not one per fire.
 */
export function missedFireToRun(
  job: Cron,
  template: Pick<TemplateRecord, 'missedFirePolicy' | 'createdAt'>,
  lastScheduledFor: Date | null,
  now: Date,
): Date | null {
  if (template.missedFirePolicy !== 'run_once') return null;
  const since =
    lastScheduledFor && lastScheduledFor.getTime() > template.createdAt.getTime()
      ? lastScheduledFor
      : template.createdAt;
  if (since.getTime() >= now.getTime()) return null;
  return latestFireBetween(job, since, now);
}

/** overlap_policy `skip`: a fire is skipped while the template still has a task in flight. */
export function overlapBlocksFire(
  template: Pick<TemplateRecord, 'overlapPolicy'>,
  hasActiveTask: boolean,
): boolean {
  return template.overlapPolicy === 'skip' && hasActiveTask;
}
