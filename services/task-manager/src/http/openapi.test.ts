// The OpenAPI document on its own: error codes as in contracts, request bodies reused, valid schemas.
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ERROR_CODES, ERROR_STATUS } from '@taskwire/contracts';
import { openApiDocument } from './openapi.js';
import {
  batchSchema,
  createTaskSchema,
  createTemplateSchema,
  updateTaskSchema,
  updateTemplateSchema,
} from './request-schemas.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc = openApiDocument() as Obj;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const operations = Object.entries(doc.paths as Obj).flatMap(([path, item]) =>
  METHODS.filter((m) => m in item).map((method) => ({ path, method, op: item[method] as Obj })),
);

describe('openApiDocument', () => {
  it('is OpenAPI 3.1 and built once', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(openApiDocument()).toBe(doc);
  });

  it('the Error code enum is exactly the error codes of contracts', () => {
    expect(doc.components.schemas.ErrorObject.properties.code.enum).toEqual(ERROR_CODES);
    expect(doc.components.schemas.Error.properties.error).toEqual({
      $ref: '#/components/schemas/ErrorObject',
    });
  });

  it('documents request bodies with the very schemas the routes validate with', () => {
    const s = doc.components.schemas as Obj;
    expect(s.CreateTemplate).toBe(createTemplateSchema);
    expect(s.UpdateTemplate).toBe(updateTemplateSchema);
    expect(s.CreateTask).toBe(createTaskSchema);
    expect(s.UpdateTask).toBe(updateTaskSchema);
    expect(s.CreateTaskBatch.properties.tasks).toEqual({
      ...batchSchema.properties.tasks,
      items: { $ref: '#/components/schemas/CreateTask' },
    });
  });

  it('every component schema is valid JSON Schema 2020-12 and every $ref resolves', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    addFormats(ajv);
    const defs = JSON.parse(
      JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'),
    );
    ajv.addSchema({ $id: 'doc', $defs: defs });
    for (const name of Object.keys(defs))
      expect(() => ajv.compile({ $ref: `doc#/$defs/${name}` })).not.toThrow();
    // Refs to parameters and responses point at something too.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(20);
    for (const [, kind, name] of refs)
      expect(doc.components[kind!]?.[name!], `${kind}/${name}`).toBeDefined();
  });

  it('each error status has one shared response naming its codes, and every status is used', () => {
    const refsByStatus = new Map<string, Set<string>>();
    for (const { op } of operations) {
      for (const [status, r] of Object.entries(op.responses as Obj)) {
        if (r.$ref) refsByStatus.set(status, (refsByStatus.get(status) ?? new Set()).add(r.$ref as string));
      }
    }
    const statuses = [...new Set(Object.values(ERROR_STATUS))].map(String).sort();
    expect([...refsByStatus.keys()].sort()).toEqual(statuses);
    for (const [status, refs] of refsByStatus) {
      expect(refs.size, `status ${status}`).toBe(1);
      const name = [...refs][0]!.split('/').pop()!;
      const codes = ERROR_CODES.filter((c) => String(ERROR_STATUS[c]) === status);
      expect(doc.components.responses[name].description).toBe(`Error: ${codes.join(' or ')}.`);
    }
  });

  it('every operation has a unique id, a summary, a success response and a 500', () => {
    const ids = operations.map(({ op }) => op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.summary, where).toEqual(expect.any(String));
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        where,
      ).toBe(true);
      expect(op.responses['500'], where).toEqual({ $ref: '#/components/responses/InternalError' });
      if (op.requestBody)
        expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(['400', '413']));
    }
  });

  it('documents the GET /tasks filters and paging', () => {
    const names = (doc.paths['/tasks'].get.parameters as Obj[]).map((p) => p.name);
    expect(names).toEqual(['status', 'template_id', 'created_from', 'created_to', 'limit', 'cursor']);
  });
});
