// docs/schemas/ against the message schemas of contracts, and those schemas against the decoders.
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { MAX_EPOCH_MS } from './messages.js';
import { MESSAGE_SCHEMAS, publishedMessageSchemas } from './published.js';
import {
  decodeControl,
  decodeDispatch,
  decodeHeartbeat,
  decodeResult,
  decodeSchemaMessage,
} from './validate.js';

const dir = new URL('../../../docs/schemas/', import.meta.url);

describe('docs/schemas', () => {
  it('holds exactly what export-schemas writes now (run `npm run build && npm run export-schemas`)', () => {
    const expected = publishedMessageSchemas();
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    for (const [name, text] of Object.entries(expected))
      expect(readFileSync(new URL(name, dir), 'utf8'), name).toBe(text);
  });

  it('publishes one schema per message kind, each with its $id and as plain JSON Schema', () => {
    expect(Object.keys(MESSAGE_SCHEMAS).sort()).toEqual([
      'control.v1.json',
      'dispatch.v1.json',
      'heartbeat.v1.json',
      'result.v1.json',
      'schema.v1.json',
    ]);
    const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true });
    for (const text of Object.values(publishedMessageSchemas())) {
      const schema = JSON.parse(text) as { $id: string };
      expect(schema.$id).toMatch(/^taskwire\/\w+\.v1$/);
      expect(() => ajv.compile(schema)).not.toThrow();
    }
  });
});

const result = { v: 1, type: 'succeeded', task_id: 't1', attempt: 1, worker_id: 'w1', at: 1 };

describe('the message decoders', () => {
  it('accept a valid message of each kind', () => {
    expect(decodeResult(JSON.stringify(result)).ok).toBe(true);
    expect(decodeControl(JSON.stringify({ v: 1, type: 'cancel', task_id: 't1', at: 1 })).ok).toBe(true);
    const heartbeat = {
      v: 1,
      worker_id: 'w1',
      host: 'h',
      pid: 1,
      queues: ['default'],
      executors: ['echo'],
      concurrency: 1,
      running: 0,
      version: '1',
      started_at: 1,
      at: 2,
    };
    expect(decodeHeartbeat(JSON.stringify(heartbeat)).ok).toBe(true);
  });

  it('accept a dispatch naming its param_schema by hash, with it inline (older managers) or with neither, and refuse a malformed hash', () => {
    const dispatch = {
      v: 1,
      task_id: 't1',
      attempt: 1,
      template_id: 'tpl',
      template_name: 'tpl',
      executor: 'echo',
      queue: 'default',
      params: {},
      timeout_ms: 1000,
      deadline: 2,
      queued_at: 1,
    };
    const ref = `sha256:${'a'.repeat(64)}`;
    expect(decodeDispatch(JSON.stringify({ ...dispatch, param_schema_ref: ref })).ok).toBe(true);
    expect(decodeDispatch(JSON.stringify({ ...dispatch, param_schema: { type: 'object' } })).ok).toBe(true);
    expect(decodeDispatch(JSON.stringify({ ...dispatch, param_schema: null })).ok).toBe(true);
    expect(decodeDispatch(JSON.stringify(dispatch)).ok).toBe(true);
    expect(decodeDispatch(JSON.stringify({ ...dispatch, param_schema_ref: 'md5:x' })).ok).toBe(false);
    expect(
      decodeSchemaMessage(JSON.stringify({ v: 1, hash: ref, param_schema: { type: 'object' } })).ok,
    ).toBe(true);
    expect(decodeSchemaMessage(JSON.stringify({ v: 1, hash: ref, param_schema: null })).ok).toBe(false);
  });

  it('refuse a time after year 9999, an empty or over-long id and a zero attempt, naming each', () => {
    const bad = decodeResult(
      JSON.stringify({ ...result, at: MAX_EPOCH_MS + 1, task_id: 'x'.repeat(65), attempt: 0 }),
    );
    expect(bad).toEqual({
      ok: false,
      reason:
        'result message: /task_id must NOT have more than 64 characters; /attempt must be >= 1; /at must be <= 253402300799999',
    });
    expect(decodeControl(JSON.stringify({ v: 1, type: 'cancel', task_id: '', at: 1 }))).toEqual({
      ok: false,
      reason: 'control message: /task_id must NOT have fewer than 1 characters',
    });
  });

  it('refuse a result whose type needs a field it lacks, and an unknown type or version', () => {
    expect(decodeResult(JSON.stringify({ ...result, type: 'progress' }))).toEqual({
      ok: false,
      reason: 'result message: / must have required property \'pct\'; / must match "then" schema',
    });
    expect(decodeResult(JSON.stringify({ ...result, type: 'done', v: 2 }))).toEqual({
      ok: false,
      reason:
        'result message: /v must be equal to constant; /type must be equal to one of the allowed values',
    });
    expect(decodeDispatch('{')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^dispatch message: not JSON/),
    });
  });
});
