// Unit tests of the cron helpers: validation messages, fire times, missed-fire and overlap rules.
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import {
  cronProblems,
  latestFireBetween,
  missedFireToRun,
  nextFireTimes,
  overlapBlocksFire,
  parseCron,
  validateCron,
} from './cron.js';

const at = (iso: string): Date => new Date(iso);

describe('validateCron', () => {
  it('accepts five- and six-field expressions, nicknames and IANA time zones', () => {
    expect(() => validateCron('*/5 * * * *', null)).not.toThrow();
    expect(() => validateCron('*/1 * * * * *', 'Europe/Paris')).not.toThrow();
    expect(() => validateCron('@hourly', 'UTC')).not.toThrow();
    expect(cronProblems('0 9 * * MON-FRI', 'America/New_York')).toEqual([]);
  });

  it('names the field and the value of a malformed expression', () => {
    let thrown: unknown;
    try {
      validateCron('every minute', null);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    const err = thrown as AppError;
    expect(err.code).toBe('bad_request');
    expect(err.status).toBe(400);
    expect(err.message).toContain('cron_expression "every minute" is invalid');
    expect(err.details).toEqual([expect.objectContaining({ path: '/cron_expression' })]);
  });

  it('says which part of the expression is out of range', () => {
    const [problem] = cronProblems('61 * * * * *', null);
    expect(problem?.message).toMatch(/cron_expression "61 \* \* \* \* \*" is invalid: .*second: 61/);
  });

  it('rejects an unknown time zone, naming it, together with a bad expression', () => {
    const problems = cronProblems('nope', 'Mars/Olympus_Mons');
    expect(problems.map((p) => p.path)).toEqual(['/cron_timezone', '/cron_expression']);
    expect(problems[0]?.message).toContain('cron_timezone "Mars/Olympus_Mons" is not a known IANA time zone');
  });

  it('rejects an empty expression and one that can never fire', () => {
    expect(cronProblems('  ', null)[0]?.message).toBe('cron_expression "  " is empty');
    expect(cronProblems('0 0 30 2 *', null)[0]?.message).toBe('cron_expression "0 0 30 2 *" never fires');
  });
});

describe('nextFireTimes', () => {
  it('lists the next n fire times strictly after `from`, at second precision', () => {
    const times = nextFireTimes('*/1 * * * * *', null, 3, at('2024-01-01T00:00:00.500Z'));
    expect(times.map((d) => d.toISOString())).toEqual([
      '2024-01-01T00:00:01.000Z',
      '2024-01-01T00:00:02.000Z',
      '2024-01-01T00:00:03.000Z',
    ]);
    expect(nextFireTimes('*/1 * * * * *', null, 1, at('2024-01-01T00:00:01.000Z'))[0]?.toISOString()).toBe(
      '2024-01-01T00:00:02.000Z',
    );
  });

  it('follows the template time zone, defaulting to UTC', () => {
    const from = at('2024-01-01T12:00:00Z');
    expect(nextFireTimes('0 9 * * *', null, 1, from)[0]?.toISOString()).toBe('2024-01-02T09:00:00.000Z');
    // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(nextFireTimes('0 9 * * *', 'Europe/Paris', 1, from)[0]?.toISOString()).toBe(
      '2024-01-02T08:00:00.000Z',
    );
    expect(nextFireTimes('0 9 * * *', 'Europe/Paris', 1, at('2024-07-01T12:00:00Z'))[0]?.toISOString()).toBe(
      '2024-07-02T07:00:00.000Z',
    );
  });

  it('returns nothing when asked for no fire times', () => {
    expect(nextFireTimes('* * * * *', null, 0)).toEqual([]);
  });
});

describe('latestFireBetween', () => {
  it('finds the most recent fire in an open interval without walking the whole gap', () => {
    const job = parseCron('*/1 * * * * *', null);
    const latest = latestFireBetween(job, at('2023-01-01T00:00:00Z'), at('2024-01-01T00:00:00.400Z'));
    expect(latest?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });

  it('excludes both ends of the interval', () => {
    const job = parseCron('0 * * * * *', null);
    expect(latestFireBetween(job, at('2024-01-01T00:01:00Z'), at('2024-01-01T00:02:00Z'))).toBeNull();
  });

  it('finds a rare fire far back in the interval', () => {
    const job = parseCron('0 0 1 1 *', null);
    const latest = latestFireBetween(job, at('2020-06-01T00:00:00Z'), at('2024-06-01T00:00:00Z'));
    expect(latest?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });
});

describe('missedFireToRun', () => {
  const everyMinute = parseCron('0 * * * * *', null);
  const created = at('2024-01-01T00:00:30Z');

  it('catches up nothing under the skip policy', () => {
    const template = { missedFirePolicy: 'skip' as const, createdAt: created };
    expect(missedFireToRun(everyMinute, template, null, at('2024-01-01T05:00:30Z'))).toBeNull();
  });

  it('runs once, for the most recent fire after the last scheduled one', () => {
    const template = { missedFirePolicy: 'run_once' as const, createdAt: created };
    const missed = missedFireToRun(
      everyMinute,
      template,
      at('2024-01-01T01:00:00Z'),
      at('2024-01-01T05:00:30Z'),
    );
    expect(missed?.toISOString()).toBe('2024-01-01T05:00:00.000Z');
  });

  it('catches up nothing when the last scheduled fire is the latest due one', () => {
    const template = { missedFirePolicy: 'run_once' as const, createdAt: created };
    expect(
      missedFireToRun(everyMinute, template, at('2024-01-01T05:00:00Z'), at('2024-01-01T05:00:59Z')),
    ).toBeNull();
  });

  it('never catches up a fire from before the template existed', () => {
    const template = { missedFirePolicy: 'run_once' as const, createdAt: created };
    expect(missedFireToRun(everyMinute, template, null, at('2024-01-01T00:00:45Z'))).toBeNull();
    expect(missedFireToRun(everyMinute, template, null, at('2024-01-01T00:01:10Z'))?.toISOString()).toBe(
      '2024-01-01T00:01:00.000Z',
    );
  });
});

describe('overlapBlocksFire', () => {
  it('skips a fire only under overlap_policy skip while a task is in flight', () => {
    expect(overlapBlocksFire({ overlapPolicy: 'skip' }, true)).toBe(true);
    expect(overlapBlocksFire({ overlapPolicy: 'skip' }, false)).toBe(false);
    expect(overlapBlocksFire({ overlapPolicy: 'allow' }, true)).toBe(false);
  });
});
