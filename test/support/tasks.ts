// Task and template helpers over the HTTP API for end-to-end tests: create, list, read events, wait for a status.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { TaskEventResource, TaskResource, TaskStatus, TemplateResource } from '@taskwire/contracts';
import { waitFor } from './processes.js';
import type { api } from './processes.js';

export type Http = ReturnType<typeof api>;

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED'];

function expectStatus(what: string, res: { status: number; body: unknown }, status: number): void {
  if (res.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  }
}

/** POST /templates with a unique name; throws unless 201. */
export async function createTemplate(http: Http, body: Record<string, unknown>): Promise<TemplateResource> {
  const res = await http.post<TemplateResource>('/templates', { name: `t-${randomUUID()}`, ...body });
  expectStatus('POST /templates', res, 201);
  return res.body;
}

/** POST /tasks; throws unless 201. */
export async function createTask(http: Http, body: Record<string, unknown>): Promise<TaskResource> {
  const res = await http.post<TaskResource>('/tasks', body);
  expectStatus('POST /tasks', res, 201);
  return res.body;
}

export async function getTask(http: Http, id: string): Promise<TaskResource> {
  const res = await http.get<TaskResource>(`/tasks/${id}`);
  expectStatus(`GET /tasks/${id}`, res, 200);
  return res.body;
}

/** GET /tasks/{id}/events, oldest first. */
export async function taskEvents(http: Http, id: string): Promise<TaskEventResource[]> {
  const res = await http.get<{ items: TaskEventResource[] }>(`/tasks/${id}/events`);
  expectStatus(`GET /tasks/${id}/events`, res, 200);
  return res.body.items;
}

/** Every task of a template, through cursor pagination. */
export async function listTemplateTasks(http: Http, templateId: string): Promise<TaskResource[]> {
  const all: TaskResource[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/tasks?template_id=${templateId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await http.get<{ items: TaskResource[]; next_cursor: string | null }>(q);
    expectStatus(`GET ${q}`, res, 200);
    all.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return all;
}

/** Waits until task `id` has one of `statuses`; the timeout message shows its last state and events. */
export async function waitForStatus(
  http: Http,
  id: string,
  statuses: TaskStatus | readonly TaskStatus[],
  timeoutMs = 30_000,
): Promise<TaskResource> {
  const wanted: readonly TaskStatus[] = typeof statuses === 'string' ? [statuses] : statuses;
  let last: TaskResource | undefined;
  try {
    return await waitFor(
      `task ${id} to be ${wanted.join(' or ')}`,
      async () => {
        last = await getTask(http, id);
        return wanted.includes(last.status) ? last : null;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    const events = await taskEvents(http, id).catch(() => []);
    const trail = events.map((e) => `${e.attempt}:${e.type}`).join(', ');
    throw new Error(`${(err as Error).message}; last status ${last?.status ?? '?'}; events: ${trail}`, {
      cause: err,
    });
  }
}

/**
 * True once a consumer group has committed every partition of `topic` up to its end: every message
 * on the topic has been handled (a worker commits a dispatch only after publishing its result).
 */
export async function groupCaughtUp(brokers: string, groupId: string, topic: string): Promise<boolean> {
  const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, clientId: 'e2e-offsets' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(committed?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    return ends.every((p) => Number(p.high) === 0 || byPartition.get(p.partition) === Number(p.high));
  } finally {
    await admin.disconnect();
  }
}
