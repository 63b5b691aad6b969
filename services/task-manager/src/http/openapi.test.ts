// The OpenAPI document on its own: generated from the route table, error codes as in contracts,
// request bodies and responses the very schemas of contracts, valid schemas.
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import {
  ERROR_CODES,
  ERROR_STATUS,
  MAX_BATCH_TASKS,
  createTaskBody,
  createTemplateBody,
  taskSchema,
  updateTaskBody,
  updateTemplateBody,
} from '@taskwire/contracts';
import type { TSchema } from '@taskwire/contracts';
import { buildOpenApi, openApiDocument, openApiPath } from './openapi.js';
import { ROUTES } from './routes.js';

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
    const plain = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema));
    expect(s.CreateTemplate).toEqual(plain(createTemplateBody));
    expect(s.UpdateTemplate).toEqual(plain(updateTemplateBody));
    expect(s.CreateTask).toEqual(plain(createTaskBody));
    expect(s.UpdateTask).toEqual(plain(updateTaskBody));
    expect(s.CreateTaskBatch.properties.tasks).toEqual({
      type: 'array',
      maxItems: MAX_BATCH_TASKS,
      items: { $ref: '#/components/schemas/CreateTask' },
    });
  });

  it('has one operation per declared route, under its id, and no other', () => {
    const declared = Object.entries(ROUTES).map(
      ([id, r]) => `${id} ${r.method.toLowerCase()} ${openApiPath(r.path)}`,
    );
    const documented = operations.map(({ path, method, op }) => `${op.operationId} ${method} ${path}`);
    expect(documented.sort()).toEqual(declared.sort());
  });

  it('refers to shared shapes by $ref: a task inside a page or a batch result is the Task component', () => {
    const s = doc.components.schemas as Obj;
    expect(Object.keys(s.Task.properties)).toEqual(Object.keys(taskSchema.properties));
    expect(s.TaskPage.properties.items.items).toEqual({ $ref: '#/components/schemas/Task' });
    expect(s.BatchResult.properties.results.items.properties.task).toEqual({
      $ref: '#/components/schemas/Task',
    });
    expect(s.Task.properties.error).toEqual({
      anyOf: [{ $ref: '#/components/schemas/TaskError' }, { type: 'null' }],
    });
  });

  it('describes a response in another media type inline, under that type', () => {
    const text = { type: 'string' } as unknown as TSchema;
    const built = buildOpenApi({
      getText: {
        method: 'GET',
        path: '/text',
        tag: 'system',
        summary: 'Some text',
        access: 'read',
        ok: { 200: ['The text', text, 'text/plain'] },
      },
    }) as Obj;
    expect(built.paths['/text'].get.responses['200']).toEqual({
      description: 'The text',
      content: { 'text/plain': { schema: { type: 'string' } } },
    });
  });

  it('refuses to build when a route answers with a schema that is not a component', () => {
    const unnamed = { type: 'object', properties: { n: { type: 'integer' } } } as unknown as TSchema;
    expect(() =>
      buildOpenApi({
        getThing: {
          method: 'GET',
          path: '/things/:id',
          tag: 'system',
          summary: 'A thing',
          access: 'read',
          ok: { 200: ['The thing', unnamed] },
        },
      }),
    ).toThrow('GET /things/:id: its schema is not in the OpenAPI components');
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
    expect(names).toEqual([
      'status',
      'template_id',
      'queue',
      'created_from',
      'created_to',
      'limit',
      'cursor',
    ]);
  });
});
