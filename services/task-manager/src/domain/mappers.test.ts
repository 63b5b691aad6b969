// Unit tests of record <-> wire mapping: snake_case, ISO times, JSON-string fields, aliases.
import { describe, expect, it } from 'vitest';
import type { TemplateRecord } from '../store/types.js';
import { makeTask, makeWorker } from '../store/contract/fixtures.js';
import { AppError } from './errors.js';
import {
  jsonObjectField,
  taskInputFromWire,
  taskToWire,
  taskUpdateFromWire,
  templateInputFromWire,
  templateToWire,
  workerToWire,
} from './mappers.js';

const at = new Date('2025-01-02T03:04:05.678Z');

const template: TemplateRecord = {
  id: '01JTEMPLATE0000000000000000',
  name: 'resize',
  description: null,
  executor: 'echo',
  queue: 'default',
  paramSchema: { type: 'object' },
  resultSchema: null,
  defaultParams: { size: 1 },
  cronExpression: '*/5 * * * *',
  cronTimezone: 'Europe/Paris',
  enabled: true,
  maxAttempts: 3,
  backoff: { initialMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.2 },
  timeoutMs: 300_000,
  missedFirePolicy: 'skip',
  overlapPolicy: 'allow',
  workflow: null,
  retentionDays: null,
  priority: 5,
  paused: false,
  concurrencyKey: null,
  concurrencyLimit: null,
  deletedAt: null,
  createdAt: at,
  updatedAt: at,
};

describe('mappers', () => {
  it('a template maps to snake_case with ISO times and no deleted_at', () => {
    const wire = templateToWire(template, [at]);
    expect(wire).toMatchObject({
      param_schema: { type: 'object' },
      default_params: { size: 1 },
      cron_expression: '*/5 * * * *',
      cron_timezone: 'Europe/Paris',
      max_attempts: 3,
      backoff: { initial_ms: 1000, factor: 2, max_ms: 60_000, jitter: 0.2 },
      timeout_ms: 300_000,
      missed_fire_policy: 'skip',
      overlap_policy: 'allow',
      created_at: '2025-01-02T03:04:05.678Z',
      next_fire_times: ['2025-01-02T03:04:05.678Z'],
    });
    expect(wire).not.toHaveProperty('deletedAt');
    expect(templateToWire(template)).not.toHaveProperty('next_fire_times');
  });

  it('a task maps every time field, null when unset', () => {
    const task = makeTask({
      id: 'T',
      templateId: template.id,
      params: { a: 1 },
      result: undefined,
      timeoutMs: 10,
      idempotencyKey: 'k',
      createdAt: at,
      queuedAt: at,
      updatedAt: at,
    });
    const wire = taskToWire(task);
    expect(wire).toMatchObject({ template_id: template.id, queued_at: at.toISOString(), started_at: null });
    expect(wire.result).toBeNull();
    expect(wire.idempotency_key).toBe('k');
  });

  it('each time field shows its own instant, repeated or not, and an invalid time still throws', () => {
    const later = new Date(at.getTime() + 1);
    const wire = taskToWire(
      makeTask({ id: 'T', createdAt: at, queuedAt: at, startedAt: later, updatedAt: at, finishedAt: later }),
    );
    expect([wire.created_at, wire.queued_at, wire.started_at, wire.updated_at, wire.finished_at]).toEqual([
      '2025-01-02T03:04:05.678Z',
      '2025-01-02T03:04:05.678Z',
      '2025-01-02T03:04:05.679Z',
      '2025-01-02T03:04:05.678Z',
      '2025-01-02T03:04:05.679Z',
    ]);
    expect(() => taskToWire(makeTask({ id: 'T', createdAt: new Date(Number.NaN) }))).toThrow(RangeError);
  });

  it('a worker is alive only while recent and not stopped', () => {
    const w = makeWorker({ startedAt: at, lastSeen: at });
    expect(workerToWire(w, new Date(at.getTime() + 1000), 15_000).alive).toBe(true);
    expect(workerToWire(w, new Date(at.getTime() + 16_000), 15_000).alive).toBe(false);
    expect(workerToWire({ ...w, stoppedAt: at }, at, 15_000).alive).toBe(false);
  });

  it('schemas and params are accepted as objects or JSON strings', () => {
    expect(jsonObjectField('{"type":"object"}', 'param_schema', true)).toEqual({ type: 'object' });
    expect(jsonObjectField({ a: 1 }, 'params', false)).toEqual({ a: 1 });
    expect(jsonObjectField(null, 'param_schema', true)).toBeNull();
    expect(jsonObjectField(undefined, 'param_schema', true)).toBeUndefined();
  });

  it('a JSON string that is not an object is refused naming the field', () => {
    for (const bad of ['{oops', '[1,2]', '"text"', 42]) {
      const err = (() => {
        try {
          jsonObjectField(bad, 'param_schema', true);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).message).toMatch(/^param_schema /);
    }
  });

  it('executor_type is an alias of executor, and the two must agree', () => {
    expect(templateInputFromWire({ name: 'x', executor_type: 'echo' }).executor).toBe('echo');
    expect(() => templateInputFromWire({ name: 'x', executor: 'echo', executor_type: 'http' })).toThrow(
      /differ/,
    );
  });

  it('only fields present in a template body appear in the input (partial updates)', () => {
    expect(templateInputFromWire({ enabled: false, backoff: { max_ms: 5 } })).toEqual({
      enabled: false,
      backoff: { maxMs: 5 },
    });
    expect(templateInputFromWire({ cron_expression: null })).toEqual({ cronExpression: null });
  });

  it('a task body maps task_template_id, run_at and a string params', () => {
    expect(
      taskInputFromWire({ task_template_id: 'T1', params: '{"a":1}', run_at: '2030-01-01T00:00:00+02:00' }),
    ).toEqual({ templateId: 'T1', params: { a: 1 }, runAt: new Date('2029-12-31T22:00:00Z') });
  });

  it('a task update takes an error as a message string or an object', () => {
    expect(taskUpdateFromWire({ error: 'boom' })).toEqual({ error: { message: 'boom', retryable: false } });
    expect(taskUpdateFromWire({ error: { message: 'x', retryable: true } }).error).toEqual({
      message: 'x',
      retryable: true,
    });
    expect(taskUpdateFromWire({ result: null })).toEqual({ result: null });
  });
});
