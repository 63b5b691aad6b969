// Dead letters: the indexed DLQ messages as a page, and their replay to the source topic through the outbox.
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_TOPICS,
  DLQ_HEADERS,
  messageBytes,
  messageProblems,
} from '@taskwire/contracts';
import type { DeadLetterResource, ErrorDetail, MessageKind } from '@taskwire/contracts';
import type { DeadLetterRecord, DlqReplayRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';

export interface DeadLetterQuery {
  topic?: string;
  sourceTopic?: string;
  reason?: string;
  cursor?: string;
  limit: number;
}

/** Newest first; the cursor is the last row's id (new rows get greater ids, so pages stay stable). */
export async function listDeadLetters(
  deps: DomainDeps,
  q: DeadLetterQuery,
): Promise<{ items: DeadLetterResource[]; nextCursor: string | null }> {
  let beforeId: number | undefined;
  if (q.cursor !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(q.cursor))
      throw AppError.badRequest(`cursor ${JSON.stringify(q.cursor)} is not a cursor returned by GET /dlq`, [
        { path: 'cursor', message: 'invalid cursor' },
      ]);
    beforeId = Number(q.cursor);
  }
  const rows = await deps.store.listDeadLetters({
    ...(q.topic !== undefined ? { topic: q.topic } : {}),
    ...(q.sourceTopic !== undefined ? { sourceTopic: q.sourceTopic } : {}),
    ...(q.reason !== undefined ? { reason: q.reason } : {}),
    ...(beforeId !== undefined ? { beforeId } : {}),
    limit: q.limit + 1,
  });
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const replays = await deps.store.listDlqReplays(page.map((r) => r.id!));
  const byLetter = new Map<number, DlqReplayRecord[]>();
  for (const r of replays) {
    const list = byLetter.get(r.deadLetterId) ?? [];
    list.push(r);
    byLetter.set(r.deadLetterId, list);
  }
  return {
    items: page.map((r) => deadLetterToWire(r, byLetter.get(r.id!) ?? [])),
    nextCursor: more ? String(page[page.length - 1]!.id) : null,
  };
}

export function deadLetterToWire(
  r: DeadLetterRecord,
  replays: readonly DlqReplayRecord[],
): DeadLetterResource {
  let message: unknown = null;
  let raw: string | null = r.value;
  if (r.value !== null && !r.truncated) {
    try {
      message = JSON.parse(r.value);
      raw = null;
    } catch {
      // not JSON: shown as raw text
    }
  }
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    time: r.time.toISOString(),
    reason: r.reason,
    source_topic: r.sourceTopic,
    source_partition: r.sourcePartition,
    source_offset: r.sourceOffset,
    key: r.key,
    headers: r.headers,
    message,
    raw,
    size_bytes: r.valueBytes,
    truncated: r.truncated,
    replays: replays.map((p) => ({
      at: p.at.toISOString(),
      by: p.by,
      target_topic: p.targetTopic,
      edited: p.edited,
    })),
  };
}

/** The kind of message `topic` carries, or null when it is not one of the manager's topics. */
export function messageKindOf(deps: DomainDeps, topic: string): MessageKind | null {
  const s = deps.settings;
  if (topic === s.dispatchTopic || (topic.startsWith(`${s.dispatchTopic}.`) && !topic.endsWith('.dlq')))
    return 'dispatch';
  if (topic === (s.resultTopic ?? DEFAULT_TOPICS.results)) return 'result';
  if (topic === (s.heartbeatTopic ?? DEFAULT_TOPICS.heartbeats)) return 'heartbeat';
  if (topic === s.controlTopic) return 'control';
  return null;
}

export interface ReplayItem {
  topic: string;
  partition: number;
  offset: number;
  /** An edited message to send instead of the stored one. */
  message?: Record<string, unknown>;
}

export interface ReplayOutcome {
  topic: string;
  partition: number;
  offset: number;
  targetTopic: string;
  replayedAt: Date;
  edited: boolean;
}

/**
 * Sends each dead letter (or its edited message) back to its source topic: one outbox row per
 * item and one dlq_replays row, all in one unit of work, so a replay is never lost once answered
 * and never half-done. Every item is checked first (404 unknown coordinates, 400 a message that
 * fails its source topic's schema, 409 a dead letter stored cut without an edit); one bad item
 * replays nothing. `at` paths name the item (`/items/2/message/attempt`, or `/message/…`).
 */
export async function replayDeadLetters(
  deps: DomainDeps,
  items: readonly ReplayItem[],
  opts: { by?: string; pathOf: (index: number) => string },
): Promise<ReplayOutcome[]> {
  const now = deps.clock.now();
  const planned: Array<{ letter: DeadLetterRecord; item: ReplayItem; target: string; payload: string }> = [];
  const problems: ErrorDetail[] = [];
  for (const [index, item] of items.entries()) {
    const at = opts.pathOf(index);
    const letter = await deps.store.getDeadLetter(item.topic, item.partition, item.offset);
    if (!letter)
      throw new AppError(
        'not_found',
        `dead letter ${item.topic}/${item.partition}@${item.offset} does not exist (not a DLQ message, or not indexed yet)`,
        [{ path: at || '/', message: 'no dead letter at these coordinates' }],
      );
    const target = letter.sourceTopic ?? letter.topic.replace(/\.dlq$/, '');
    const kind = messageKindOf(deps, target);
    if (kind === null)
      throw AppError.badRequest(
        `dead letter ${item.topic}/${item.partition}@${item.offset} came from topic ${JSON.stringify(target)}, which is not one of this manager's topics`,
        [{ path: `${at}/topic`, message: `source topic ${JSON.stringify(target)} is not replayable` }],
      );
    let body: unknown;
    if (item.message !== undefined) body = item.message;
    else if (letter.headers[DLQ_HEADERS.truncated] === 'true') {
      // Cut by its producer to fit the DLQ: replayed as it is, the source topic would get a cut message.
      const source = `${letter.sourceTopic ?? target}/${letter.sourcePartition ?? '?'}@${letter.sourceOffset ?? '?'}`;
      const original = letter.headers[DLQ_HEADERS.originalBytes] ?? 'unknown';
      throw AppError.conflict(
        `dead letter ${item.topic}/${item.partition}@${item.offset} is a cut-down copy (the original, ${original} bytes, was too large for the DLQ): replaying it would send a cut message; the whole original is in its source topic at ${source} until retention: replay it with an edited message`,
        {
          truncated: true,
          original_bytes: intOrNull(original),
          source_topic: letter.sourceTopic,
          source_partition: letter.sourcePartition,
          source_offset: letter.sourceOffset,
        },
      );
    } else if (letter.truncated)
      throw AppError.conflict(
        `dead letter ${item.topic}/${item.partition}@${item.offset} was indexed cut (${letter.valueBytes} bytes): replay it with an edited message`,
      );
    else {
      try {
        body = JSON.parse(letter.value ?? '');
      } catch {
        problems.push({
          path: `${at}/message`,
          message: `the dead letter's message is not JSON: send an edited ${kind} message`,
        });
        continue;
      }
    }
    const errors = messageProblems(kind, body);
    for (const e of errors) {
      const field =
        e.keyword === 'required' ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.instancePath;
      const name = field === '' ? 'message' : `message${field.replaceAll('/', '.')}`;
      problems.push({
        path: `${at}/message${field}`,
        message: `${name} ${e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid')} (${kind} message schema)`,
        keyword: e.keyword,
        params: e.params,
      });
    }
    if (errors.length > 0) continue;
    const payload = JSON.stringify(body);
    const limit = deps.settings.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const bytes = messageBytes(letter.key, payload);
    // The relay would drop a message Kafka refuses for its size: refuse it here instead.
    if (bytes > limit)
      throw new AppError(
        'payload_too_large',
        `the replay of dead letter ${item.topic}/${item.partition}@${item.offset} is ${bytes} bytes, more than KAFKA_MAX_MESSAGE_BYTES (${limit})`,
        [{ path: `${at}/message`, message: `more than ${limit} bytes` }],
      );
    planned.push({ letter, item, target, payload });
  }
  if (problems.length > 0)
    throw AppError.badRequest(`replay refused: ${problems.map((p) => p.message).join('; ')}`, problems);

  await deps.store.unitOfWork(async (tx) => {
    await tx.insertOutbox(
      planned.map((p) => ({
        topic: p.target,
        key: p.letter.key ?? '',
        payload: p.payload,
        createdAt: now,
      })),
    );
    await tx.insertDlqReplays(
      planned.map((p) => ({
        deadLetterId: p.letter.id!,
        at: now,
        by: opts.by ?? null,
        targetTopic: p.target,
        edited: p.item.message !== undefined,
      })),
    );
  });
  deps.signals.outboxWritten();
  const perTopic = new Map<string, number>();
  for (const p of planned) perTopic.set(p.letter.topic, (perTopic.get(p.letter.topic) ?? 0) + 1);
  for (const [topic, n] of perTopic) deps.metrics?.dlqReplayed?.(topic, n);
  deps.logger.info(
    { count: planned.length, by: opts.by, targets: [...new Set(planned.map((p) => p.target))] },
    'dead letters replayed',
  );
  return planned.map((p) => ({
    topic: p.letter.topic,
    partition: p.letter.partition,
    offset: p.letter.offset,
    targetTopic: p.target,
    replayedAt: now,
    edited: p.item.message !== undefined,
  }));
}

function intOrNull(text: string): number | null {
  return /^\d{1,15}$/.test(text) ? Number(text) : null;
}
