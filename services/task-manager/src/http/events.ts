// The live event streams, declared beside their handlers: GET /events/stream and
// GET /tasks/{id}/events/stream as Server-Sent Events (replay after Last-Event-ID, then live).
import {
  TASK_EVENT_TYPES,
  eventStreamQuery,
  eventStreamSchema,
  isTerminal,
  taskEventStreamQuery,
} from '@taskwire/contracts';
import type { TaskEventType } from '@taskwire/contracts';
import type { Context } from 'hono';
import { AppError } from '../domain/errors.js';
import { eventToWire } from '../domain/mappers.js';
import { getTask } from '../domain/tasks.js';
import type { SubscriberFilter } from '../events/hub.js';
import { openEventStream } from '../events/stream.js';
import type { StreamEventRecord } from '../store/types.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps, AppEnv } from './types.js';

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Event types after which a task may be terminal; the stream then reads the task to know. */
const MAYBE_TERMINAL: ReadonlySet<TaskEventType> = new Set(['succeeded', 'failed', 'canceled', 'timed_out']);
const SSE = 'text/event-stream';

export const eventRoutes = defineRoutes({
  streamEvents: {
    method: 'GET',
    path: '/events/stream',
    tag: 'tasks',
    summary: 'Task events as Server-Sent Events: replay after Last-Event-ID, then live',
    description:
      'Each event has `id:` (increasing event id) and `event:` (its type). Reconnect with the Last-Event-ID header to resume without gap or duplicate. A subscriber that falls too far behind is disconnected and resumes the same way.',
    access: 'read',
    query: eventStreamQuery,
    ok: { 200: ['The event stream', eventStreamSchema, SSE] },
    errors: [400],
  },
  streamTaskEvents: {
    method: 'GET',
    path: '/tasks/:id/events/stream',
    tag: 'tasks',
    summary: "One task's events as Server-Sent Events; ends after its terminal event",
    access: 'read',
    query: taskEventStreamQuery,
    ok: { 200: ["The task's event stream", eventStreamSchema, SSE] },
    errors: [400, 404],
  },
});

export function eventHandlers(deps: AppDeps): Handlers<typeof eventRoutes> {
  const heartbeatMs = deps.events?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;

  const open = async (
    c: Context<AppEnv>,
    filter: SubscriberFilter,
    endsAfter?: (e: StreamEventRecord) => Promise<boolean>,
  ): Promise<Response> => {
    const hub = deps.events?.hub;
    if (!hub) throw new AppError('unavailable', 'the live event stream is not enabled on this server');
    const lastEventId = parseLastEventId(c);
    const stream = await openEventStream({ store: deps.store, hub, filter, lastEventId });
    return sseResponse(stream.batches, stream.close, heartbeatMs, endsAfter);
  };

  return {
    streamEvents: (c) => {
      const q = c.req.query();
      return open(c, {
        taskIds: list(q.task_id),
        templateIds: list(q.template_id),
        queues: list(q.queue),
        types: parseTypes(q.type),
      });
    },

    streamTaskEvents: async (c) => {
      const id = c.req.param('id');
      const task = await getTask(deps, id);
      const filter = { taskIds: [id], types: parseTypes(c.req.query('type')) };
      if (isTerminal(task.status)) {
        // Nothing more will happen: what is stored after Last-Event-ID, then the end.
        const after = parseLastEventId(c);
        const events = after === undefined ? [] : await deps.store.listEventsAfter(after, 10_000, filter);
        return sseResponse(
          (async function* () {
            yield events;
          })(),
          () => {},
          heartbeatMs,
        );
      }
      return open(c, filter, async (e) => {
        if (!MAYBE_TERMINAL.has(e.type)) return false;
        const now = await deps.store.getTask(id);
        return now === undefined || now === null || isTerminal(now.status);
      });
    },
  };
}

/** The SSE wire frame of one event. */
export function sseFrame(e: StreamEventRecord): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(eventToWire(e))}\n\n`;
}

/**
 * Pull-based: the next batch is taken only when the client has read the last, so a slow client
 * leaves events in the hub's bounded buffer (which then closes it), not in this stream's queue.
 * A client disconnect cancels the stream (@hono/node-server cancels the reader), which unsubscribes.
 */
function sseResponse(
  batches: AsyncGenerator<StreamEventRecord[], void>,
  close: () => void,
  heartbeatMs: number,
  endsAfter?: (e: StreamEventRecord) => Promise<boolean>,
): Response {
  const encoder = new TextEncoder();
  let heartbeat: NodeJS.Timeout | undefined;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    close();
    void batches.return(undefined);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // A first comment so that the client sees the response (and its headers) at once.
      controller.enqueue(encoder.encode(': connected\n\n'));
      heartbeat = setInterval(() => {
        if (!done) controller.enqueue(encoder.encode(': keep-alive\n\n'));
      }, heartbeatMs);
      heartbeat.unref();
    },
    async pull(controller) {
      if (done) return;
      try {
        const next = await batches.next();
        if (next.done) {
          finish();
          controller.close();
          return;
        }
        let text = '';
        let last = false;
        for (const e of next.value) {
          text += sseFrame(e);
          if (endsAfter && (await endsAfter(e))) {
            last = true;
            break;
          }
        }
        if (!done) controller.enqueue(encoder.encode(text));
        if (last) {
          finish();
          controller.close();
        }
      } catch (err) {
        finish();
        controller.error(err);
      }
    },
    cancel() {
      finish();
    },
  });
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    },
  });
}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined || v === '') return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseTypes(v: string | undefined): TaskEventType[] | undefined {
  const types = list(v);
  const unknown = types?.find((t) => !(TASK_EVENT_TYPES as readonly string[]).includes(t));
  if (unknown !== undefined)
    throw AppError.badRequest(
      `type=${JSON.stringify(v)} is invalid: expected a comma-separated list of ${TASK_EVENT_TYPES.join(', ')}`,
      [{ path: 'type', message: `unknown event type ${JSON.stringify(unknown)}` }],
    );
  return types as TaskEventType[] | undefined;
}

function parseLastEventId(c: Context<AppEnv>): number | undefined {
  const v = c.req.header('last-event-id') ?? c.req.query('last_event_id');
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v.trim()))
    throw AppError.badRequest(`Last-Event-ID ${JSON.stringify(v)} is invalid: expected an event id`, [
      { path: 'last_event_id', message: 'expected a non-negative integer' },
    ]);
  return Number(v.trim());
}
