// Unit tests of the watchdog rule: which tasks count as abandoned by their worker.
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../store/types.js';
import { makeTask } from '../store/contract/fixtures.js';
import { isOverdue } from './timeouts.js';

const started = new Date('2024-01-01T00:00:00Z');

function task(patch: Partial<TaskRecord>): TaskRecord {
  const times = { createdAt: started, queuedAt: started, startedAt: started, updatedAt: started };
  return makeTask({ status: 'RUNNING', timeoutMs: 10_000, workerId: 'w1', ...times, ...patch });
}

const after = (ms: number): Date => new Date(started.getTime() + ms);

describe('isOverdue', () => {
  it('flags a RUNNING task only once it is past timeout + grace', () => {
    expect(isOverdue(task({}), after(10_000 + 5_000), 5_000)).toBe(false);
    expect(isOverdue(task({}), after(10_000 + 5_001), 5_000)).toBe(true);
  });

  it('leaves a QUEUED task alone however long it has waited in the backlog', () => {
    expect(isOverdue(task({ status: 'QUEUED', startedAt: null }), after(3_600_000), 5_000)).toBe(false);
    expect(isOverdue(task({ status: 'QUEUED' }), after(3_600_000), 5_000)).toBe(false);
  });

  it('ignores finished tasks and RUNNING rows without a start time', () => {
    expect(isOverdue(task({ status: 'COMPLETED' }), after(3_600_000), 0)).toBe(false);
    expect(isOverdue(task({ startedAt: null }), after(3_600_000), 0)).toBe(false);
  });
});
