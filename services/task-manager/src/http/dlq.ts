// /dlq routes, declared beside their handlers: the indexed dead letters (read) and their replay (admin).
import type { Context } from 'hono';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  deadLetterPageSchema,
  dlqReplayResultSchema,
  listDeadLettersQuery,
  replayDeadLetterBody,
  replayDeadLetterListBody,
  replayDeadLettersBody,
} from '@taskwire/contracts';
import { listDeadLetters, replayDeadLetters } from '../domain/dead-letters.js';
import type { DeadLetterQuery, ReplayItem } from '../domain/dead-letters.js';
import { AppError } from '../domain/errors.js';
import { checkBody, compileBodySchema, readJsonObject } from './body.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps, AppEnv } from './types.js';

const checkOne = compileBodySchema(replayDeadLetterBody);
const checkList = compileBodySchema(replayDeadLetterListBody);

export const dlqRoutes = defineRoutes({
  listDeadLetters: {
    method: 'GET',
    path: '/dlq',
    tag: 'dlq',
    summary: 'Dead letters of every `<topic>.dlq` topic as indexed by the manager, newest first, paged',
    access: 'read',
    query: listDeadLettersQuery,
    ok: { 200: ['A page of dead letters', deadLetterPageSchema] },
    errors: [400],
  },
  replayDeadLetters: {
    method: 'POST',
    path: '/dlq/replay',
    tag: 'dlq',
    summary: 'Send dead letters (or edited messages) back to their source topics through the outbox',
    description:
      'Admin only: a replay injects a message into the pipeline (a dispatch runs a task, a result finishes one). ' +
      "An edited `message` is checked against the source topic's message schema first; every item is checked " +
      'before any is replayed, and each replay is recorded on the dead letter.',
    access: 'admin',
    body: replayDeadLettersBody,
    ok: { 200: ['The replays, queued in the outbox', dlqReplayResultSchema] },
    errors: [404, 409],
  },
});

export function dlqHandlers(deps: AppDeps): Handlers<typeof dlqRoutes> {
  return {
    listDeadLetters: async (c) => {
      const page = await listDeadLetters(deps, parseQuery(c));
      return c.json({ items: page.items, next_cursor: page.nextCursor });
    },
    replayDeadLetters: async (c) => {
      const raw = await readJsonObject(c);
      let items: ReplayItem[];
      let by: string | undefined;
      let pathOf: (index: number) => string;
      if ('items' in raw) {
        const body = checkBody(checkList, raw);
        items = body.items;
        by = body.by;
        pathOf = (i) => `/items/${i}`;
      } else {
        const { by: who, ...item } = checkBody(checkOne, raw);
        items = [item];
        by = who;
        pathOf = () => '';
      }
      const done = await replayDeadLetters(deps, items, { ...(by !== undefined ? { by } : {}), pathOf });
      return c.json({
        items: done.map((d) => ({
          topic: d.topic,
          partition: d.partition,
          offset: d.offset,
          target_topic: d.targetTopic,
          replayed_at: d.replayedAt.toISOString(),
          edited: d.edited,
        })),
      });
    },
  };
}

function parseQuery(c: Context<AppEnv>): DeadLetterQuery {
  const q = c.req.query();
  let limit = DEFAULT_LIMIT;
  if (q.limit !== undefined) {
    limit = Number(q.limit);
    if (!/^\d+$/.test(q.limit) || limit < 1 || limit > MAX_LIMIT)
      throw AppError.badRequest(
        `limit=${JSON.stringify(q.limit)} is invalid: expected an integer from 1 to ${MAX_LIMIT}`,
        [{ path: 'limit', message: `expected an integer from 1 to ${MAX_LIMIT}` }],
      );
  }
  const text = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  const out: DeadLetterQuery = { limit };
  const topic = text(q.topic);
  const sourceTopic = text(q.source_topic);
  const reason = text(q.reason);
  const cursor = text(q.cursor);
  if (topic !== undefined) out.topic = topic;
  if (sourceTopic !== undefined) out.sourceTopic = sourceTopic;
  if (reason !== undefined) out.reason = reason;
  if (cursor !== undefined) out.cursor = cursor;
  return out;
}
