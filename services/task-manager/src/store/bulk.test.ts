// Unit tests for the batch INSERT plans and statement sizing.
import { describe, expect, it } from 'vitest';
import { insertPlan, powerOfTwoSizes } from './bulk.js';
import { chunk } from './chunk.js';
import { outbox, tasks } from './sqlite/schema.js';
import { makeOutbox, makeTask, T0 } from './contract/fixtures.js';

describe('powerOfTwoSizes', () => {
  it('covers n rows with power-of-two statements no larger than max', () => {
    expect(powerOfTwoSizes(500, 512)).toEqual([256, 128, 64, 32, 16, 4]);
    expect(powerOfTwoSizes(1300, 512)).toEqual([512, 512, 256, 16, 4]);
    expect(powerOfTwoSizes(1, 1000)).toEqual([1]);
    expect(powerOfTwoSizes(0, 512)).toEqual([]);
  });
});

describe('chunk', () => {
  it('stops a slice at the row limit or before the byte budget, a big row going alone', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([1, 5, 1, 1, 9, 1], 10, (n) => n, 6)).toEqual([[1, 5], [1, 1], [9], [1]]);
  });
});

describe('insertPlan', () => {
  it('binds columns in schema order through their encoders and leaves out omitted ones', () => {
    const plan = insertPlan(outbox, (id) => `"${id}"`, { omit: ['id'] });
    expect(plan.sql(2)).toBe(
      'INSERT INTO "outbox" ("topic", "key", "payload", "created_at", "sent_at") VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)',
    );
    const rows = [makeOutbox('a', { payload: '{}' }), makeOutbox('b', { payload: '[]', sentAt: T0 })];
    expect(plan.values(rows)).toEqual([
      'task_execution_requests',
      'a',
      '{}',
      T0.getTime(),
      null,
      'task_execution_requests',
      'b',
      '[]',
      T0.getTime(),
      T0.getTime(),
    ]);
  });

  it('encodes JSON, and an omitted value takes the column default', () => {
    const plan = insertPlan(tasks, (id) => `"${id}"`);
    const { queue: _queue, ...noQueue } = makeTask({ params: { a: ['ü'] } });
    const values = plan.values([noQueue as never]);
    expect(values).toContain('{"a":["ü"]}');
    expect(values[4]).toBe('default');
  });
});
