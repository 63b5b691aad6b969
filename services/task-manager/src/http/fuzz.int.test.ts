// Property test over every route of the app (from hono's route list), on a real SQLite store:
// random JSON bodies (deep, huge numbers, unicode, wrong types), query strings and headers never
// get a 500, and every 4xx is the error envelope with the status its code stands for.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS } from '@taskwire/contracts';
import type { ErrorCode } from '@taskwire/contracts';
import { createEventHub } from '../events/hub.js';
import type { EventHub } from '../events/hub.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

/** Runs per property: bounded so the whole file takes a few seconds. */
const RUNS = 200;

let fixture: SqliteDeps;
let app: ReturnType<typeof createApp>;
let routes: Array<{ method: string; path: string }>;
const ids = { template: '', task: '' };

let hub: EventHub;

beforeAll(async () => {
  fixture = await openSqliteDeps();
  hub = createEventHub({ store: fixture.store, logger: fixture.deps.logger });
  app = createApp({ ...fixture.deps, events: { hub } });
  const seen = new Set<string>();
  // 'ALL /*' entries are middleware; everything else is a route a client can call.
  routes = app.routes
    .filter((r) => r.method !== 'ALL')
    .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`))
    .map((r) => ({ method: r.method, path: r.path }));
  const tpl = await app.request('/templates', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'fuzz',
      executor: 'echo',
      param_schema: { type: 'object', properties: { n: { type: 'integer' }, s: { type: 'string' } } },
    }),
  });
  expect(tpl.status).toBe(201);
  // The route fuzz may delete or change the template it is given by id: a second one for that.
  const other = await app.request('/templates', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fuzz-by-id', executor: 'echo' }),
  });
  ids.template = ((await other.json()) as { id: string }).id;
  const task = await app.request('/tasks', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ template_name: 'fuzz', params: { n: 1 } }),
  });
  ids.task = ((await task.json()) as { id: string }).id;
});
afterAll(async () => {
  await hub.stop();
  await fixture.close();
});

/** The response as check() reads it; an event stream does not end, so its body is not read. */
async function outcome(res: Response): Promise<Outcome> {
  const contentType = res.headers.get('content-type');
  if (res.ok && contentType?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, contentType, text: '' };
  }
  return { status: res.status, contentType, text: await res.text() };
}

// ---- arbitraries ----

/** JSON nested `depth` levels of arrays or objects around a leaf. */
const deep = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean(), fc.jsonValue({ maxDepth: 1 }))
  .map(([depth, arrays, leaf]) =>
    arrays
      ? `${'['.repeat(depth)}${JSON.stringify(leaf)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}${JSON.stringify(leaf)}${'}'.repeat(depth)}`,
  );

/** Number literals JSON.parse turns into Infinity, -0, or loses precision on. */
const oddNumber = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '9007199254740993', '1.7976931348623157e309'),
  fc.integer({ min: 300, max: 2000 }).map((n) => `1${'0'.repeat(n)}`),
  fc.double().map((d) => (Number.isFinite(d) ? String(d) : '0')),
);

/** Text of any JSON value, the odd ones spliced in as raw literals. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.json(),
  deep,
  oddNumber,
  fc.string({ unit: 'grapheme', maxLength: 50 }).map((s) => JSON.stringify(s)),
);

const TEMPLATE_FIELDS = [
  'name',
  'description',
  'executor',
  'executor_type',
  'queue',
  'param_schema',
  'result_schema',
  'default_params',
  'cron_expression',
  'cron_timezone',
  'enabled',
  'max_attempts',
  'backoff',
  'timeout_ms',
  'missed_fire_policy',
  'overlap_policy',
  'id',
  'created_at',
  'updated_at',
  'next_fire_times',
];
const TASK_FIELDS = [
  'task_template_id',
  'template_name',
  'params',
  'name',
  'description',
  'run_at',
  'idempotency_key',
  'max_attempts',
  'timeout_ms',
  'backoff',
  'status',
  'result',
  'error',
  'tasks',
];

/** A plausible value for a field: right type, wrong type, edge values, JSON-in-a-string, odd text. */
const fieldValue: fc.Arbitrary<string> = fc.oneof(
  jsonText,
  fc.constantFrom(
    '"fuzz"',
    '"echo"',
    '"* * * * *"',
    '"0 */5 * * * *"',
    '"Europe/Berlin"',
    '"Mars/Olympus"',
    '"2026-12-31T23:59:60Z"',
    '"1999-01-01T00:00:00Z"',
    '"2027-06-01T00:00:00Z"',
    '"QUEUED"',
    '"COMPLETED"',
    '"RUNNING"',
    '"skip"',
    '"run_once"',
    '{"type":"object","properties":{"x":{"type":"string","pattern":"(a+)+$"}}}',
    '{"type":"nope"}',
    '{"$ref":"#/x"}',
    '{"initial_ms":1,"factor":2,"max_ms":0,"jitter":0.5}',
    '"{\\"type\\":\\"object\\"}"',
    '"{[}"',
    '[{"template_name":"fuzz"}]',
    '{"message":"boom","code":"E","retryable":true}',
    'null',
    'true',
    '0',
    '-1',
    '1e308',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => JSON.stringify(s)),
);

const jsonObject = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
const isoIn = (minMs: number, maxMs: number) =>
  fc.integer({ min: minMs, max: maxMs }).map((ms) => JSON.stringify(new Date(Date.now() + ms).toISOString()));

/** Values a task field accepts, so that requests also get past validation into the domain and store. */
const VALID_TASK_VALUE: Record<string, fc.Arbitrary<string>> = {
  params: fc.oneof(
    jsonObject.map((o) => JSON.stringify(o)),
    jsonObject.map((o) => JSON.stringify(JSON.stringify(o))),
  ),
  run_at: fc.oneof(isoIn(-1e10, 0), isoIn(0, 4e10)),
  name: fc.string({ minLength: 1, maxLength: 200 }).map((s) => JSON.stringify(s)),
  description: fc.string({ maxLength: 200 }).map((s) => JSON.stringify(s)),
  idempotency_key: fc.string({ minLength: 1, maxLength: 20 }).map((s) => JSON.stringify(s)),
  max_attempts: fc.integer({ min: 1, max: 100 }).map(String),
  timeout_ms: fc.integer({ min: 1, max: 86_400_000 }).map(String),
  backoff: fc
    .record(
      {
        initial_ms: fc.nat(86_400_000),
        factor: fc.double({ min: 1, max: 10, noNaN: true }),
        jitter: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  status: fc.constantFrom(
    '"QUEUED"',
    '"RUNNING"',
    '"COMPLETED"',
    '"FAILED"',
    '"CANCELED"',
    '"RETRYING"',
    '"TIMED_OUT"',
    '"PENDING"',
  ),
  result: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  error: fc.oneof(
    fc.string().map((s) => JSON.stringify(s)),
    fc.constant('{"message":"boom","retryable":false}'),
  ),
};
const taskFieldValue = (field: string): fc.Arbitrary<string> =>
  VALID_TASK_VALUE[field]
    ? fc.oneof({ weight: 3, arbitrary: VALID_TASK_VALUE[field] }, { weight: 1, arbitrary: fieldValue })
    : fieldValue;

/** A body text: an object of known fields (the shape handlers look at), raw JSON, or not JSON at all. */
const bodyText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .uniqueArray(
        fc.tuple(fc.constantFrom(...TEMPLATE_FIELDS, ...TASK_FIELDS, '__proto__', 'constructor'), fieldValue),
        {
          maxLength: 8,
          selector: ([k]) => k,
        },
      )
      .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  },
  { weight: 2, arbitrary: jsonText },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '{',
      '{"a":1,}',
      '\uFEFF{}',
      '{"a":"\\ud800"}',
      '{"tasks":[1,null,[],{}]}',
    ),
  },
);

const segment: fc.Arbitrary<string> = fc.oneof(
  fc.constant('ID_TEMPLATE'),
  fc.constant('ID_TASK'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.constantFrom(
    '..',
    '%',
    '0',
    '-1',
    'x'.repeat(5000),
    '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    '\u0000',
    '__proto__',
  ),
);

const QUERY_KEYS = [
  'limit',
  'cursor',
  'status',
  'template_id',
  'created_from',
  'created_to',
  '__proto__',
  'x',
];
const queryValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.integer().map(String),
  fc.constantFrom(
    '0',
    '-1',
    '501',
    '1e3',
    '99999999999999999999',
    'NaN',
    'QUEUED,RUNNING',
    'queued',
    ',',
    'AAAA',
    '2026-13-40',
  ),
);
const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 4 });

/** Header names and values a client can send (Headers refuses CR/LF and non-Latin-1 itself). */
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/json; charset=latin1',
      'multipart/form-data',
      '',
    ),
    'x-request-id': headerValue,
    accept: headerValue,
    'x-forwarded-for': headerValue,
    authorization: headerValue,
  },
  { requiredKeys: [] },
);

// ---- the property ----

interface Outcome {
  status: number;
  contentType: string | null;
  text: string;
}

async function send(
  method: string,
  path: string,
  q: Array<[string, string]>,
  h: Record<string, string>,
  body: string | undefined,
): Promise<Outcome> {
  const url =
    q.length === 0
      ? path
      : `${path}?${q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
  return outcome(await app.request(url, { method, headers: h, body }));
}

/** Success bodies that are not JSON by design: event streams and the dashboard's files (/ui). */
const NOT_JSON = /^(text\/event-stream|text\/html|text\/javascript|text\/css|image\/svg\+xml)/;

/** Fails with the request and the response, so a counterexample reads as a bug report. */
function check(o: Outcome, request: string): void {
  const where = `${request} -> ${o.status} ${o.text.slice(0, 300)}`;
  expect(o.status, where).toBeLessThan(500);
  if (o.status >= 400) {
    expect(o.contentType, where).toMatch(/^application\/json/);
    const body = JSON.parse(o.text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    expect(Object.keys(body), where).toEqual(['error']);
    const code = body.error?.code as ErrorCode;
    expect(ERROR_CODES, where).toContain(code);
    expect(ERROR_STATUS[code], where).toBe(o.status);
    expect(typeof body.error?.message, where).toBe('string');
    expect(body.error && 'details' in body.error, where).toBe(true);
  } else if (o.status !== 204 && o.status !== 304 && !NOT_JSON.test(o.contentType ?? '')) {
    expect(() => JSON.parse(o.text) as unknown, where).not.toThrow();
  }
}

describe('fuzzing every route', () => {
  it('the route list is read from the app (and covers templates, tasks and the system routes)', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    expect(names).toEqual(
      expect.arrayContaining(['POST /tasks', 'PUT /templates/:id', 'GET /readyz', 'POST /tasks/batch']),
    );
  });

  it('random bodies, queries and headers never get a 500, and every 4xx is the error envelope', async () => {
    const request = fc.record({
      route: fc.integer({ min: 0, max: 1000 }).map((i) => routes[i % routes.length]!),
      segment,
      query,
      headers,
      body: bodyText,
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const path = r.route.path.replace(':id', () =>
          r.segment === 'ID_TEMPLATE'
            ? ids.template
            : r.segment === 'ID_TASK'
              ? ids.task
              : encodeURIComponent(r.segment),
        );
        const withBody = r.route.method === 'POST' || r.route.method === 'PUT';
        const o = await send(r.route.method, path, r.query, r.headers, withBody ? r.body : undefined);
        check(
          o,
          `${r.route.method} ${path} ${JSON.stringify(r.query)} ${JSON.stringify(r.headers)} ${withBody ? r.body.slice(0, 300) : ''}`,
        );
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('with API tokens configured, random Authorization headers get 401/403 in the envelope, never a 500', async () => {
    const tokens = { read: 'r'.repeat(32), write: 'w'.repeat(32) };
    const guarded = createApp({
      ...fixture.deps,
      events: { hub },
      apiTokens: [
        { scope: 'read', token: tokens.read },
        { scope: 'write', token: tokens.write },
      ],
    });
    const authorization = fc.oneof(
      headerValue,
      fc.constantFrom(
        `Bearer ${tokens.read}`,
        `Bearer ${tokens.write}`,
        'Bearer',
        'Bearer ',
        `bearer ${tokens.read}x`,
      ),
      headerValue.map((v) => `Bearer ${v}`),
    );
    const request = fc.record({
      route: fc.integer({ min: 0, max: 1000 }).map((i) => routes[i % routes.length]!),
      authorization,
      body: bodyText,
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const path = r.route.path.replace(':id', ids.task);
        const withBody = r.route.method === 'POST' || r.route.method === 'PUT';
        const res = await guarded.request(path, {
          method: r.route.method,
          headers: { authorization: r.authorization, 'content-type': 'application/json' },
          body: withBody ? r.body : undefined,
        });
        const o = await outcome(res);
        check(
          o,
          `${r.route.method} ${path} auth=${JSON.stringify(r.authorization)} ${withBody ? r.body.slice(0, 300) : ''}`,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /tasks and PUT /tasks/{id} with known fields of random values never get a 500', async () => {
    const known = TASK_FIELDS.filter((f) => !['template_name', 'task_template_id', 'tasks'].includes(f));
    const pair = fc
      .constantFrom(...known)
      .chain((k) => taskFieldValue(k).map((v): [string, string] => [k, v]));
    const fields = fc.uniqueArray(pair, {
      maxLength: 6,
      selector: ([k]) => k,
    });
    await fc.assert(
      fc.asyncProperty(fields, fc.boolean(), async (pairs, put) => {
        // PUT takes status, result and error only; other fields would only test the schema's 400.
        const members = pairs
          .filter(([k]) => !put || ['status', 'result', 'error'].includes(k))
          .map(([k, v]) => `${JSON.stringify(k)}:${v}`);
        if (!put) members.unshift('"template_name":"fuzz"');
        const body = `{${members.join(',')}}`;
        const path = put ? `/tasks/${ids.task}` : '/tasks';
        const o = await send(put ? 'PUT' : 'POST', path, [], { 'content-type': 'application/json' }, body);
        check(o, `${put ? 'PUT' : 'POST'} ${path} ${body.slice(0, 300)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /templates with known fields of random values never gets a 500', async () => {
    const fields = fc.uniqueArray(fc.tuple(fc.constantFrom(...TEMPLATE_FIELDS), fieldValue), {
      maxLength: 8,
      selector: ([k]) => k,
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fields, async (pairs) => {
        const members = [
          `"name":"fuzz-${++n}"`,
          '"executor":"echo"',
          ...pairs.filter(([k]) => k !== 'name').map(([k, v]) => `${JSON.stringify(k)}:${v}`),
        ];
        const body = `{${members.join(',')}}`;
        const o = await send('POST', '/templates', [], { 'content-type': 'application/json' }, body);
        check(o, `POST /templates ${body.slice(0, 300)}`);
      }),
      { numRuns: RUNS },
    );
  });
});
