// Schema-reference dispatch over real processes: the dispatch names its param_schema by hash, the worker reads it from the schema topic and re-validates.
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '@taskwire/contracts';
import { testBrokerKind } from '@taskwire/testkit';
import {
  api,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { BrokerProc, LooseJson, Proc } from './support/processes.js';
import { createTask, createTemplate, getTask, waitForStatus } from './support/tasks.js';

/** The wire name of a schema, as docs/kafka-contract.md defines it: sha-256 of its JSON with keys sorted. */
function schemaRef(schema: unknown): string {
  const canonical = (v: unknown): string =>
    v === null || typeof v !== 'object'
      ? JSON.stringify(v)
      : Array.isArray(v)
        ? `[${v.map(canonical).join(',')}]`
        : `{${Object.keys(v)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
            .join(',')}}`;
  return `sha256:${createHash('sha256').update(canonical(schema)).digest('hex')}`;
}

/** Every message of `topic` from its start, as parsed JSON values with their keys. */
async function readTopic(brokers: string, topic: string): Promise<Array<{ key: string; value: LooseJson }>> {
  const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, clientId: 'e2e-read' });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const out: Array<{ key: string; value: LooseJson }> = [];
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `e2e-read-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        out.push({
          key: message.key?.toString() ?? '',
          value: JSON.parse(message.value?.toString() ?? 'null'),
        });
        if (out.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

describe('schema-reference dispatch', () => {
  const tmp = tempDir('schema-refs');
  const dsn = path.join(tmp.dir, 'taskwire.db');
  let broker: { brokers: string; proc: BrokerProc };
  let manager: { proc: Proc; url: string };
  let http: ReturnType<typeof api>;
  const procs: Proc[] = [];

  beforeAll(async () => {
    broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
    manager = await startManagerProcess({ brokers: broker.brokers, dbType: 'sqlite', dsn });
    http = api(manager.url);
  }, 60_000);
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop('SIGTERM', 10_000);
    await manager?.proc.stop('SIGTERM', 10_000);
    await broker?.proc.stop('SIGTERM', 10_000);
    tmp.cleanup();
  }, 60_000);

  it('a template changed between create and run: the task runs against the schema its dispatch named, and the worker re-validates a dispatch by the schema it names', async () => {
    // No worker yet: dispatches wait in Kafka.
    const v1 = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    const v2 = { type: 'object', properties: { m: { type: 'string' } }, required: ['m'] };
    const changed = await createTemplate(http, { executor: 'echo', param_schema: v1 });
    const queued = await createTask(http, { task_template_id: changed.id, params: { n: 1 } });
    expect(queued.status).toBe('QUEUED');
    const put = await http.put(`/templates/${changed.id}`, { param_schema: v2 });
    expect(put.status).toBe(200);

    // Accepted under v1 while paused, dispatched once unpaused, after the change to v2: v2 is the
    // schema its dispatch names, and the worker refuses its params by it.
    const paused = await createTemplate(http, { executor: 'echo', param_schema: v1, paused: true });
    const waiting = await createTask(http, { task_template_id: paused.id, params: { n: 2 } });
    expect(waiting.status).toBe('WAITING');
    expect((await http.put(`/templates/${paused.id}`, { param_schema: v2, paused: false })).status).toBe(200);
    await waitForStatus(http, waiting.id, 'QUEUED');

    procs.push(await startWorkerProcess(`w-schema-${randomUUID().slice(0, 8)}`, broker.brokers, manager.url));
    const ran = await waitForStatus(http, queued.id, 'COMPLETED');
    expect(ran.result).toEqual({ n: 1 });
    const refused = await waitForStatus(http, waiting.id, 'FAILED');
    expect(refused.error).toMatchObject({ code: 'invalid_params', retryable: false });
    expect(refused.error?.message).toContain("must have required property 'm'");

    // Both versions are on the schema topic, each under its hash; the dispatches name them.
    const schemas = await readTopic(broker.brokers, DEFAULT_TOPICS.schemas);
    for (const v of [v1, v2]) {
      expect(schemas).toContainEqual({
        key: schemaRef(v),
        value: { v: 1, hash: schemaRef(v), param_schema: v },
      });
    }
    const dispatches = await readTopic(broker.brokers, DEFAULT_TOPICS.dispatch);
    const byTask = new Map(dispatches.map((d) => [d.key, d.value]));
    expect(byTask.get(queued.id)).toMatchObject({ param_schema_ref: schemaRef(v1) });
    expect(byTask.get(waiting.id)).toMatchObject({ param_schema_ref: schemaRef(v2) });
    expect(byTask.get(queued.id)).not.toHaveProperty('param_schema');
  }, 90_000);

  it('the manager creates the schema topic with one partition, compacted (where the broker has topic configs)', async () => {
    const kafka = new Kafka({
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
      clientId: 'e2e-configs',
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(DEFAULT_TOPICS.schemas);
      expect(offsets).toHaveLength(1);
      // The dev broker describes only the configs it honours (retention), and never deletes by time.
      if (testBrokerKind() === 'kafka') {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: 2, name: DEFAULT_TOPICS.schemas, configNames: ['cleanup.policy'] }],
        });
        const entry = described.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy');
        expect(entry?.configValue).toBe('compact');
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('a restarted manager publishes the schemas of the templates it finds, and a worker started after runs their tasks', async () => {
    const v3 = { type: 'object', properties: { k: { type: 'boolean' } }, required: ['k'] };
    const t = await createTemplate(http, { executor: 'echo', param_schema: v3 });
    await manager.proc.stop('SIGTERM', 10_000);
    manager = await startManagerProcess({ brokers: broker.brokers, dbType: 'sqlite', dsn });
    http = api(manager.url);
    await waitFor(
      'the schema topic to hold v3 twice (at create and at start)',
      async () =>
        (await readTopic(broker.brokers, DEFAULT_TOPICS.schemas)).filter((m) => m.key === schemaRef(v3))
          .length >= 2,
      30_000,
    );
    const task = await createTask(http, { task_template_id: t.id, params: { k: true } });
    await waitForStatus(http, task.id, 'COMPLETED');
    expect((await getTask(http, task.id)).result).toEqual({ k: true });
  }, 90_000);
});
