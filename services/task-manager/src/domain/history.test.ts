import { describe, expect, it } from 'vitest';
import type { TaskEventRecord } from '../store/types.js';
import { summarizeAttempts } from './history.js';

const at = (ms: number): Date => new Date(1_700_000_000_000 + ms);
const ev = (
  attempt: number,
  type: TaskEventRecord['type'],
  ms: number,
  workerId: string | null = null,
  data: unknown = {},
): TaskEventRecord => ({
  taskId: 't1',
  attempt,
  type,
  at: at(ms),
  workerId,
  data,
});

describe('summarizeAttempts', () => {
  it('gives each attempt its worker, start, end, duration and error', () => {
    const error = { message: 'boom', retryable: true };
    const summary = summarizeAttempts([
      ev(1, 'created', 0),
      ev(1, 'queued', 0),
      ev(1, 'started', 10, 'w1'),
      ev(1, 'failed', 40, 'w1', { error }),
      ev(1, 'retry_scheduled', 40),
      ev(2, 'queued', 1_040),
      ev(2, 'started', 1_050, 'w2'),
      ev(2, 'succeeded', 1_060, 'w2'),
    ]);
    expect(summary).toEqual([
      expect.objectContaining({
        attempt: 1,
        workerId: 'w1',
        startedAt: at(10),
        finishedAt: at(40),
        durationMs: 30,
        outcome: 'failed',
        error,
        executions: 1,
      }),
      expect.objectContaining({
        attempt: 2,
        workerId: 'w2',
        queuedAt: at(1_040),
        durationMs: 10,
        outcome: 'succeeded',
        error: null,
      }),
    ]);
  });

  it('counts a redelivered attempt as two executions and keeps the last worker', () => {
    const [s] = summarizeAttempts([
      ev(1, 'started', 0, 'dead'),
      ev(1, 'started', 500, 'alive'),
      ev(1, 'succeeded', 600, 'alive'),
    ]);
    expect(s).toMatchObject({ executions: 2, workerId: 'alive', durationMs: 100, outcome: 'succeeded' });
  });

  it('leaves a running attempt open and ignores results recorded after the outcome', () => {
    expect(summarizeAttempts([ev(1, 'started', 0, 'w1')])[0]).toMatchObject({
      outcome: null,
      finishedAt: null,
      durationMs: null,
    });
    const [s] = summarizeAttempts([
      ev(1, 'started', 0, 'w1'),
      ev(1, 'canceled', 5, 'w1'),
      ev(1, 'ignored', 9, 'w1'),
      ev(1, 'succeeded', 9, 'w1'),
    ]);
    expect(s).toMatchObject({ outcome: 'canceled', finishedAt: at(5) });
  });
});
